/* Host tests of keos's printf-style formatter (keos/lib/format.c).
 *
 * The host C library's snprintf is the reference: every case formats the
 * same format and arguments with vsnprintf and with kvsnprintf into buffers
 * pre-filled with a sentinel and requires the same return value and the same
 * bytes, sentinel included, so a formatter that writes past its size is
 * caught as surely as one that prints the wrong digits. The cases cover the
 * flags - + space # 0, field width and precision (literal and *), the length
 * modifiers hh h l ll z j t, the conversions d i u x X o p s c %, the extreme
 * values of each type, and truncation down to a size of 0. A randomized test
 * then builds thousands of well-defined conversion specifications and
 * compares them the same way. Behaviour the C standard leaves open (a NULL
 * %s, an unknown conversion) is checked against keos's own documented output. */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "keos/lib/format.h"

#define BUF 512
#define SENTINEL 0x5a

/* ck_assert reports every passing check to the parent process (a write per
 * check); the thousands of comparisons here use this, silent until it fails. */
#define EXPECT(cond, ...)                              \
	do {                                           \
		if (!(cond))                           \
			ck_abort_msg(__VA_ARGS__);     \
	} while (0)

/* Formats with both implementations into size bytes and compares everything. */
static void __attribute__((format(printf, 4, 5)))
check_fmt(int line, size_t size, const char *what, const char *fmt, ...)
{
	char want[BUF], got[BUF];
	memset(want, SENTINEL, sizeof(want));
	memset(got, SENTINEL, sizeof(got));
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int nw = vsnprintf(want, size, fmt, ap);
	int ng = kvsnprintf(got, size, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	EXPECT(nw == ng, "line %d: \"%s\" (%s) size %zu: returned %d, snprintf returned %d",
	              line, fmt, what, size, ng, nw);
	EXPECT(memcmp(want, got, sizeof(want)) == 0,
	              "line %d: \"%s\" (%s) size %zu: got \"%.*s\", snprintf gave \"%.*s\"",
	              line, fmt, what, size, (int)(size ? size : 1), got, (int)(size ? size : 1), want);
}

/* The same comparison without the compiler's format check, for the defined
 * combinations gcc still warns about ("flag '0' ignored with '-'"). */
static void (*const check_fmt_unchecked)(int, size_t, const char *, const char *, ...) = check_fmt;

/* The length of the output, for the loop over sizes. */
static int host_length(const char *fmt, ...)
{
	char probe[BUF];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	EXPECT(n < BUF - 8, "output too long for the test buffers");
	return n;
}

/* The same format, whole and truncated to every smaller size. */
#define SAME(...) same_all_sizes(check_fmt, __LINE__, #__VA_ARGS__, __VA_ARGS__)
#define SAME_UNCHECKED(...) same_all_sizes(check_fmt_unchecked, __LINE__, #__VA_ARGS__, __VA_ARGS__)
#define same_all_sizes(check, line, what, fmt, ...)                           \
	do {                                                                  \
		int len_ = host_length(fmt, ##__VA_ARGS__);                   \
		check(line, BUF, what, fmt, ##__VA_ARGS__);                   \
		for (size_t sz_ = 0; sz_ <= (size_t)len_ + 1; sz_++)          \
			check(line, sz_, what, fmt, ##__VA_ARGS__);           \
	} while (0)

/* kvsnprintf without the compiler's format checking, for formats the C
 * standard does not define (their keos output is fixed by format.c). */
static int raw_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

START_TEST(plain_text_and_percent)
{
	SAME("hello, world");
	SAME("100%% sure");
	SAME("%%d %%s %%%%");
	SAME("a%cb", 'x');
	SAME("tab\tnewline\n");
}
END_TEST

START_TEST(signed_decimal)
{
	SAME("%d", 0);
	SAME("%d", 1);
	SAME("%d", -1);
	SAME("%d|%i", 42, -42);
	SAME("%d", INT_MAX);
	SAME("%d", INT_MIN);
	SAME("%i", INT_MIN);
	SAME("%d %d %d", 7, -8, 9);
	for (int v = -1000; v <= 1000; v += 37)
		SAME("[%d]", v);
}
END_TEST

START_TEST(unsigned_conversions)
{
	SAME("%u", 0u);
	SAME("%u", UINT_MAX);
	SAME("%x", 0xdeadbeefu);
	SAME("%X", 0xdeadbeefu);
	SAME("%x|%X", 0xabcdefu, 0xabcdefu);
	SAME("%o", 0u);
	SAME("%o", 8u);
	SAME("%o", UINT_MAX);
	SAME("%x", 0u);
	SAME("%X", UINT_MAX);
	for (unsigned v = 1; v && v < 0x10000000u; v *= 7)
		SAME("%u %x %X %o", v, v, v, v);
}
END_TEST

START_TEST(flags)
{
	SAME("%+d|%+d|%+d", 5, -5, 0);
	SAME("% d|% d|% d", 5, -5, 0);
	SAME("%-6d|", 42);
	SAME("%-6d|", -42);
	SAME("%06d", 42);
	SAME("%06d", -42);
	SAME("%+06d", 42);
	SAME("% 06d", 42);
	SAME("%-+6d|", 42);
	SAME("%- 6d|", 42);
	SAME("%#x|%#X", 255u, 255u);
	SAME("%#x|%#X", 0u, 0u);
	SAME("%#o", 0u);
	SAME("%#o", 8u);
	SAME("%#o", 01234u);
	SAME("%#08x", 255u);
	SAME("%#8x|", 255u);
	SAME("%-#8x|", 255u);
	SAME("%#-8X|", 255u);
	SAME("%#08o", 9u);
	SAME("%08x", 0xbeefu);
	SAME("%08X", 0xbeefu);
	SAME("%-8u|", 17u);
	SAME("%08u", 17u);
	SAME("%#5o|", 1u);
	SAME_UNCHECKED("%-06d|", 42);  /* - wins over 0 */
	SAME_UNCHECKED("%0-6d|", -42);
	SAME_UNCHECKED("%+ d|% +d", 42, 42);  /* + wins over space */
	SAME_UNCHECKED("%-08x|", 0xabu);
	SAME_UNCHECKED("%08.3x|%08.0d|", 0xabu, 0);
}
END_TEST

START_TEST(width_and_precision)
{
	SAME("%5d|", 42);
	SAME("%1d|", 12345);
	SAME("%20d|", INT_MIN);
	SAME("%.3d", 7);
	SAME("%.3d", -7);
	SAME("%.10d", -42);
	SAME("%8.3d|", -7);
	SAME("%-8.3d|", 7);
	SAME_UNCHECKED("%08.3d|", 7); /* a precision turns the 0 flag off */
	SAME("%+.3d", 7);
	SAME("%.3x|%.3X|%.3o|%.3u", 10u, 10u, 10u, 10u);
	SAME("%#.3x", 10u);
	SAME("%#.3o", 8u);            /* the precision already gives the zero */
	SAME("%#.3o", 0u);
	SAME("%#10.4x|", 0xabu);
	SAME("%-#10.4x|", 0xabu);
	SAME("%.1d", 0);
	SAME("%100d|", 1);
	SAME("%-100d|", 1);
	SAME("%.100d", 1);
}
END_TEST

START_TEST(zero_with_precision_zero)
{
	SAME("[%.0d]", 0);
	SAME("[%.0i]", 0);
	SAME("[%.0u]", 0u);
	SAME("[%.0x]", 0u);
	SAME("[%.0X]", 0u);
	SAME("[%.0o]", 0u);
	SAME("[%#.0x]", 0u);
	SAME("[%#.0o]", 0u);          /* # still shows the zero */
	SAME("[%5.0d]", 0);
	SAME("[%-5.0d]", 0);
	SAME("[%+.0d]", 0);
	SAME("[% .0d]", 0);
	SAME("[%.d]", 0);             /* "." alone is precision 0 */
	SAME("[%.0d]", 1);
	SAME("[%.0d]", -1);
}
END_TEST

START_TEST(star_width_and_precision)
{
	SAME("%*d|", 6, 42);
	SAME("%*d|", -6, 42);         /* negative width: left-justified */
	SAME("%*d|", 0, 42);
	SAME("%.*d", 5, 42);
	SAME("%.*d", -1, 42);         /* negative precision: as if none */
	SAME("%.*d", 0, 0);
	SAME("%0*d", 6, -42);
	SAME("%*.*d|", 8, 4, -3);
	SAME("%-*.*d|", 8, 4, -3);
	SAME("%*.*d|", -8, 4, 3);
	SAME("%*s|", 7, "ab");
	SAME("%*s|", -7, "ab");
	SAME("%.*s|", 3, "abcdef");
	SAME("%.*s|", -2, "abcdef");
	SAME("%*.*s|", 6, 2, "abcdef");
	SAME("%*c|", 4, 'z');
	SAME("%*c|", -4, 'z');
	SAME("%*x %*X %*o", 5, 0x1fu, 6, 0x1fu, 7, 0x1fu);
}
END_TEST

START_TEST(length_hh_and_h)
{
	SAME("%hhd", 300);            /* converted to signed char: 44 */
	SAME("%hhd", -129);
	SAME("%hhd", 127);
	SAME("%hhd", 128);
	SAME("%hhd", -128);
	SAME("%hhu", 511u);
	SAME("%hhu", 255u);
	SAME("%hhx", 0x1ffu);
	SAME("%hhX|%hho", 0xabcu, 0777u);
	SAME("%hhi", 0x180);
	SAME("%hd", 40000);
	SAME("%hd", -32768);
	SAME("%hd", 32767);
	SAME("%hu", 70000u);
	SAME("%hx", 0x12345u);
	SAME("%ho", 0x12345u);
	SAME("%hi", -40000);
	SAME("%#hx|%#hho", 0xffffu, 0xffu);
	SAME("%5hhd|%-5hd|%05hu", -3, -4, 5u);
}
END_TEST

START_TEST(length_l_and_ll)
{
	SAME("%ld", 0L);
	SAME("%ld", LONG_MIN);
	SAME("%ld", LONG_MAX);
	SAME("%li", -1L);
	SAME("%lu", ULONG_MAX);
	SAME("%lx|%lX|%lo", ULONG_MAX, ULONG_MAX, ULONG_MAX);
	SAME("%lld", LLONG_MIN);
	SAME("%lld", LLONG_MAX);
	SAME("%lli", -1LL);
	SAME("%llu", ULLONG_MAX);
	SAME("%llx", (unsigned long long)UINT64_MAX);
	SAME("%llX", (unsigned long long)UINT64_MAX);
	SAME("%llo", (unsigned long long)UINT64_MAX);   /* 22 octal digits */
	SAME("%#llo", (unsigned long long)UINT64_MAX);
	SAME("%#llx", (unsigned long long)UINT64_MAX);
	SAME("%+lld", 1LL << 40);
	SAME("%030lld|", LLONG_MIN);
	SAME("%-30lld|", LLONG_MIN);
	SAME("%.25lld", LLONG_MIN);
	SAME("%lx", 0x123456789abcdefUL);
	SAME("%d %ld %d %lld %d", 1, 2L, 3, 4LL, 5);  /* mixed widths keep their places */
}
END_TEST

START_TEST(length_z_j_t)
{
	SAME("%zu", (size_t)0);
	SAME("%zu", SIZE_MAX);
	SAME("%zx", SIZE_MAX);
	SAME("%zd", (ssize_t)-5);
	SAME("%zd", (ssize_t)SSIZE_MAX);
	SAME("%zi", (ssize_t)-1);
	SAME("%jd", INTMAX_MIN);
	SAME("%jd", INTMAX_MAX);
	SAME("%ju", UINTMAX_MAX);
	SAME("%jx", UINTMAX_MAX);
	SAME("%ji", (intmax_t)-77);
	SAME("%td", (ptrdiff_t)-12345);
	SAME("%td", PTRDIFF_MIN);
	SAME("%td", PTRDIFF_MAX);
	SAME("%ti", (ptrdiff_t)3);
	SAME("%20zu|%-20jd|%020td", (size_t)123, (intmax_t)-456, (ptrdiff_t)-789);
}
END_TEST

START_TEST(pointers)
{
	int local;
	SAME("%p", (void *)0x1234);
	SAME("%p", (void *)&local);
	SAME("%p", (void *)UINTPTR_MAX);
	SAME("%p", (void *)0xffff800000001000ull);
	SAME("%20p|", (void *)0xabc);
	SAME("%-20p|", (void *)0xabc);
	SAME("%p %p", (void *)1, (void *)2);
}
END_TEST

START_TEST(strings_and_chars)
{
	SAME("%s", "hello");
	SAME("[%s]", "");
	SAME("%10s|", "hello");
	SAME("%-10s|", "hello");
	SAME("%3s|", "hello");        /* width never truncates */
	SAME("%.3s|", "hello");
	SAME("%.0s|", "hello");
	SAME("%.10s|", "ab");
	SAME("%10.2s|", "hello");
	SAME("%-10.2s|", "hello");
	SAME("%s%s%s", "a", "", "c");
	SAME("%c", 'A');
	SAME("%5c|", 'A');
	SAME("%-5c|", 'A');
	SAME("%c%c%c", 'x', 'y', 'z');
	SAME("a%cb", 0);              /* a NUL character is still output and counted */
	SAME("%c", 200);
	SAME("%c|%s|%d", '#', "mid", 3);
}
END_TEST

START_TEST(null_string)
{
	char buf[32];
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "%s", (char *)NULL), 6);
	ck_assert_str_eq(buf, "(null)");
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "[%8s]", (char *)NULL), 10);
	ck_assert_str_eq(buf, "[  (null)]");
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "[%-8s]", (char *)NULL), 10);
	ck_assert_str_eq(buf, "[(null)  ]");
}
END_TEST

START_TEST(precision_bounds_an_unterminated_string)
{
	/* A heap array with no NUL: %.3s must read exactly 3 bytes (ASan watches). */
	char *abc = malloc(3);
	memcpy(abc, "abc", 3);
	char buf[16];
	ck_assert_int_eq(ksnprintf(buf, sizeof(buf), "[%.3s]", abc), 5);
	ck_assert_str_eq(buf, "[abc]");
	free(abc);
}
END_TEST

START_TEST(undefined_formats_print_literally)
{
	char buf[32];
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "a%yb"), 4);
	ck_assert_str_eq(buf, "a%yb");
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "abc%"), 4);
	ck_assert_str_eq(buf, "abc%");
	ck_assert_int_eq(raw_format(buf, sizeof(buf), "%d then %q", 5), 9);
	ck_assert_str_eq(buf, "5 then %q");
}
END_TEST

START_TEST(truncation)
{
	char buf[16];
	/* size 0 writes nothing and still returns the full length */
	memset(buf, SENTINEL, sizeof(buf));
	ck_assert_int_eq(ksnprintf(buf, 0, "%d", 12345), 5);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq((unsigned char)buf[i], SENTINEL);
	ck_assert_int_eq(ksnprintf(NULL, 0, "%s-%d", "abc", -12), 7);
	/* size 1: just the terminator */
	ck_assert_int_eq(ksnprintf(buf, 1, "hello"), 5);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq((unsigned char)buf[1], SENTINEL);
	ck_assert_int_eq(ksnprintf(buf, 4, "hello"), 5);
	ck_assert_str_eq(buf, "hel");
	ck_assert_int_eq(ksnprintf(buf, 6, "hello"), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(ksnprintf(buf, 5, "%08x", 0xabcu), 8);
	ck_assert_str_eq(buf, "0000");
	ck_assert_int_eq(ksnprintf(buf, 1, "%s", ""), 0);
	ck_assert_str_eq(buf, "");
	/* every size against snprintf, including the conversions cut in the middle */
	SAME("hello world %d and %s %#x", 12345, "more text", 0xabcdu);
	SAME("%-12s|%12s|", "left", "right");
	SAME("%lld", LLONG_MIN);
}
END_TEST

START_TEST(ksnprintf_variadic_entry)
{
	char want[128], got[128];
	int nw = snprintf(want, sizeof(want), "%s=%d (%#lx) %c%%", "x", -3, 0xffUL, 'q');
	int ng = ksnprintf(got, sizeof(got), "%s=%d (%#lx) %c%%", "x", -3, 0xffUL, 'q');
	ck_assert_int_eq(ng, nw);
	ck_assert_str_eq(got, want);
}
END_TEST

struct sink {
	char text[256];
	int calls;
	void *arg_seen;
};

static void sink_putc(char c, void *arg)
{
	struct sink *s = arg;
	if (s->calls < (int)sizeof(s->text) - 1)
		s->text[s->calls] = c;
	s->calls++;
	s->arg_seen = arg;
}

static int format_to_sink(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = format_v(sink_putc, s, fmt, ap);
	va_end(ap);
	return n;
}

START_TEST(format_v_feeds_every_character)
{
	struct sink s = { .calls = 0 };
	int n = format_to_sink(&s, "[%5d|%-3s|%c]", -17, "ab", 0);
	ck_assert_int_eq(n, 13);
	ck_assert_int_eq(s.calls, 13);
	ck_assert_ptr_eq(s.arg_seen, &s);
	ck_assert_int_eq(memcmp(s.text, "[  -17|ab |\0]", 13), 0);
	struct sink empty = { .calls = 0 };
	ck_assert_int_eq(format_to_sink(&empty, "%s", ""), 0);
	ck_assert_int_eq(empty.calls, 0);
}
END_TEST

/* A small deterministic generator, so a failure names a reproducible case. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static unsigned rnd_below(unsigned n) { return (unsigned)(rnd() % n); }

/* A value that is often an edge: 0, +-1, the extremes of some width, or random bits. */
static uint64_t interesting_value(void)
{
	static const uint64_t edges[] = {
		0, 1, ~0ull, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000ull,
		0xffffffffull, 0x7fffffffffffffffull, 0x8000000000000000ull, 10, 100, 1000000,
	};
	switch (rnd_below(4)) {
	case 0: return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 1: return -(uint64_t)edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 2: return rnd() >> rnd_below(64);
	default: return rnd();
	}
}

enum arg_kind { ARG_INT, ARG_I64, ARG_STR };

/* Calls fn (snprintf or ksnprintf) with 0-2 int star arguments and the value. */
#define CALL_WITH(fn, buf, size, fmt, nstar, a, b, kind, iv, sv)                        \
	((kind) == ARG_STR                                                            \
		 ? ((nstar) == 0 ? fn(buf, size, fmt, sv)                             \
		    : (nstar) == 1 ? fn(buf, size, fmt, a, sv) : fn(buf, size, fmt, a, b, sv)) \
	 : (kind) == ARG_I64                                                          \
		 ? ((nstar) == 0 ? fn(buf, size, fmt, (int64_t)(iv))                  \
		    : (nstar) == 1 ? fn(buf, size, fmt, a, (int64_t)(iv))             \
				   : fn(buf, size, fmt, a, b, (int64_t)(iv)))         \
		 : ((nstar) == 0 ? fn(buf, size, fmt, (int)(iv))                      \
		    : (nstar) == 1 ? fn(buf, size, fmt, a, (int)(iv))                 \
				   : fn(buf, size, fmt, a, b, (int)(iv))))

START_TEST(random_specs_match_snprintf)
{
	static const char *const strings[] = { "", "a", "hello", "a longer string, with spaces" };
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < 30000; iter++) {
		char fmt[64];
		int f = 0, nstar = 0, stars[2] = { 0, 0 };
		const char conv = "diuxXoscp"[rnd_below(9)];
		bool integer = strchr("diuxXo", conv) != NULL;
		fmt[f++] = '<';
		fmt[f++] = '%';
		/* flags, only where the C standard defines them for this conversion */
		for (const char *fl = "-+ #0"; *fl; fl++) {
			if (rnd_below(4))
				continue;
			if (*fl == '#' && !strchr("xXo", conv))
				continue;
			if ((*fl == '+' || *fl == ' ') && !strchr("di", conv))
				continue;
			if (*fl == '0' && !integer)
				continue;
			fmt[f++] = *fl;
		}
		switch (rnd_below(4)) {
		case 0: break;
		case 1: f += sprintf(fmt + f, "%u", rnd_below(30)); break;
		case 2: fmt[f++] = '*'; stars[nstar++] = (int)rnd_below(61) - 30; break;
		default: f += sprintf(fmt + f, "%u", rnd_below(5)); break;
		}
		if (conv != 'c' && conv != 'p') {
			switch (rnd_below(4)) {
			case 0: break;
			case 1: f += sprintf(fmt + f, ".%u", rnd_below(30)); break;
			case 2: fmt[f++] = '.'; fmt[f++] = '*'; stars[nstar++] = (int)rnd_below(41) - 10; break;
			default: fmt[f++] = '.'; break;
			}
		}
		enum arg_kind kind = ARG_INT;
		if (integer) {
			static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "j", "t" };
			unsigned li = rnd_below(8);
			f += sprintf(fmt + f, "%s", lengths[li]);
			kind = li >= 3 ? ARG_I64 : ARG_INT;
		} else if (conv == 's') {
			kind = ARG_STR;
		} else if (conv == 'p') {
			kind = ARG_I64;
		}
		fmt[f++] = conv;
		fmt[f++] = '>';
		fmt[f] = '\0';
		uint64_t v = interesting_value();
		if (conv == 'c')
			v = 1 + rnd_below(255);
		if (conv == 'p' && v == 0)
			v = 1;        /* how a null pointer prints is up to the library */
		const char *str = strings[rnd_below(4)];
		size_t size = rnd_below(3) ? BUF : rnd_below(40);
		char want[BUF], got[BUF];
		memset(want, SENTINEL, sizeof(want));
		memset(got, SENTINEL, sizeof(got));
		int nw = CALL_WITH(snprintf, want, size, fmt, nstar, stars[0], stars[1], kind, v, str);
		int ng = CALL_WITH(ksnprintf, got, size, fmt, nstar, stars[0], stars[1], kind, v, str);
		EXPECT(nw == ng && memcmp(want, got, sizeof(want)) == 0,
		              "case %d: \"%s\" stars %d,%d value 0x%llx str \"%s\" size %zu: "
		              "keos \"%.*s\" (%d), snprintf \"%.*s\" (%d)",
		              iter, fmt, stars[0], stars[1], (unsigned long long)v, str, size,
		              (int)(size ? size : 1), got, ng, (int)(size ? size : 1), want, nw);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, plain_text_and_percent);
	tcase_add_test(tc, signed_decimal);
	tcase_add_test(tc, unsigned_conversions);
	tcase_add_test(tc, flags);
	tcase_add_test(tc, width_and_precision);
	tcase_add_test(tc, zero_with_precision_zero);
	tcase_add_test(tc, star_width_and_precision);
	tcase_add_test(tc, length_hh_and_h);
	tcase_add_test(tc, length_l_and_ll);
	tcase_add_test(tc, length_z_j_t);
	tcase_add_test(tc, pointers);
	tcase_add_test(tc, strings_and_chars);
	tcase_add_test(tc, null_string);
	tcase_add_test(tc, precision_bounds_an_unterminated_string);
	tcase_add_test(tc, undefined_formats_print_literally);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, ksnprintf_variadic_entry);
	tcase_add_test(tc, format_v_feeds_every_character);
	tcase_add_test(tc, random_specs_match_snprintf);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
