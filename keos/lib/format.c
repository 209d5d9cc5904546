/* printf-style formatting.
 *
 * One pass over the format string; each conversion is parsed into a struct
 * spec (flags, width, precision, length) and emitted through the caller's
 * putc. Integers are converted into a small buffer right to left, then padded:
 * [sign/prefix][zeros][digits] inside the field width, on the left or the right.
 * An unknown conversion is printed literally, so a bad format never loses output. */
#include "keos/lib/format.h"
#include <stdbool.h>
#include <stdint.h>

struct out {
	format_putc_fn putc;
	void *arg;
	int count;
};

struct spec {
	bool left, plus, space, alt, zero;
	int width;
	int prec;          /* -1: none given */
	char length;       /* 'H' hh, 'h', 'l', 'L' ll, 'z', 'j', 't', 0 */
};

static void emit(struct out *o, char c)
{
	o->putc(c, o->arg);
	o->count++;
}

static void emit_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

static const char *parse_spec(const char *p, struct spec *s, va_list *ap)
{
	*s = (struct spec){ .prec = -1 };
	for (;; p++) {
		if (*p == '-') s->left = true;
		else if (*p == '+') s->plus = true;
		else if (*p == ' ') s->space = true;
		else if (*p == '#') s->alt = true;
		else if (*p == '0') s->zero = true;
		else break;
	}
	if (*p == '*') {
		s->width = va_arg(*ap, int);
		if (s->width < 0) {
			s->left = true;
			s->width = -s->width;
		}
		p++;
	} else {
		while (*p >= '0' && *p <= '9')
			s->width = s->width * 10 + (*p++ - '0');
	}
	if (*p == '.') {
		p++;
		s->prec = 0;
		if (*p == '*') {
			s->prec = va_arg(*ap, int);
			if (s->prec < 0)
				s->prec = -1;
			p++;
		} else {
			while (*p >= '0' && *p <= '9')
				s->prec = s->prec * 10 + (*p++ - '0');
		}
	}
	if (p[0] == 'h' && p[1] == 'h') { s->length = 'H'; p += 2; }
	else if (p[0] == 'l' && p[1] == 'l') { s->length = 'L'; p += 2; }
	else if (*p == 'h' || *p == 'l' || *p == 'z' || *p == 'j' || *p == 't') s->length = *p++;
	return p;
}

static uintmax_t fetch_unsigned(const struct spec *s, va_list *ap)
{
	switch (s->length) {
	case 'H': return (unsigned char)va_arg(*ap, unsigned int);
	case 'h': return (unsigned short)va_arg(*ap, unsigned int);
	case 'l': return va_arg(*ap, unsigned long);
	case 'L': return va_arg(*ap, unsigned long long);
	case 'z': return va_arg(*ap, size_t);
	case 'j': return va_arg(*ap, uintmax_t);
	case 't': return (uintmax_t)va_arg(*ap, ptrdiff_t);
	default:  return va_arg(*ap, unsigned int);
	}
}

static intmax_t fetch_signed(const struct spec *s, va_list *ap)
{
	switch (s->length) {
	case 'H': return (signed char)va_arg(*ap, int);
	case 'h': return (short)va_arg(*ap, int);
	case 'l': return va_arg(*ap, long);
	case 'L': return va_arg(*ap, long long);
	case 'z': return (intmax_t)va_arg(*ap, size_t);
	case 'j': return va_arg(*ap, intmax_t);
	case 't': return va_arg(*ap, ptrdiff_t);
	default:  return va_arg(*ap, int);
	}
}

static void emit_number(struct out *o, const struct spec *s, uintmax_t v,
                        unsigned base, bool upper, const char *sign)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0;
	while (v) {
		buf[n++] = digits[v % base];
		v /= base;
	}
	/* "%.0d" of zero prints nothing; "%#o" always shows a leading zero. */
	if (n == 0 && s->prec != 0)
		buf[n++] = '0';
	const char *prefix = sign;
	if (s->alt && base == 16 && n && !(n == 1 && buf[0] == '0'))
		prefix = upper ? "0X" : "0x";
	if (s->alt && base == 8 && (n == 0 || buf[n - 1] != '0') && s->prec <= n)
		buf[n++] = '0';
	int zeros = s->prec > n ? s->prec - n : 0;
	int plen = 0;
	while (prefix[plen])
		plen++;
	int pad = s->width - plen - zeros - n;
	if (pad > 0 && s->zero && !s->left && s->prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!s->left)
		emit_repeat(o, ' ', pad);
	for (int i = 0; i < plen; i++)
		emit(o, prefix[i]);
	emit_repeat(o, '0', zeros);
	while (n)
		emit(o, buf[--n]);
	if (s->left)
		emit_repeat(o, ' ', pad);
}

static void emit_string(struct out *o, const struct spec *s, const char *str)
{
	if (!str)
		str = "(null)";
	int len = 0;
	/* The precision bounds the read: the string need not be terminated. */
	while ((s->prec < 0 || len < s->prec) && str[len])
		len++;
	int pad = s->width - len;
	if (!s->left)
		emit_repeat(o, ' ', pad);
	for (int i = 0; i < len; i++)
		emit(o, str[i]);
	if (s->left)
		emit_repeat(o, ' ', pad);
}

static void emit_conversion(struct out *o, struct spec *s, char conv, va_list *ap)
{
	switch (conv) {
	case 'd':
	case 'i': {
		intmax_t v = fetch_signed(s, ap);
		const char *sign = v < 0 ? "-" : s->plus ? "+" : s->space ? " " : "";
		uintmax_t mag = v < 0 ? -(uintmax_t)v : (uintmax_t)v;
		emit_number(o, s, mag, 10, false, sign);
		break;
	}
	case 'u': emit_number(o, s, fetch_unsigned(s, ap), 10, false, ""); break;
	case 'o': emit_number(o, s, fetch_unsigned(s, ap), 8, false, ""); break;
	case 'x': emit_number(o, s, fetch_unsigned(s, ap), 16, false, ""); break;
	case 'X': emit_number(o, s, fetch_unsigned(s, ap), 16, true, ""); break;
	case 'p': {
		s->alt = true;
		s->length = 'j';
		emit_number(o, s, (uintptr_t)va_arg(*ap, void *), 16, false, "");
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);
		if (!s->left)
			emit_repeat(o, ' ', s->width - 1);
		emit(o, c);
		if (s->left)
			emit_repeat(o, ' ', s->width - 1);
		break;
	}
	case 's': emit_string(o, s, va_arg(*ap, const char *)); break;
	default:
		emit(o, '%');
		if (conv)
			emit(o, conv);
		break;
	}
}

int format_v(format_putc_fn putc, void *arg, const char *fmt, va_list ap)
{
	struct out o = { putc, arg, 0 };
	va_list args;
	va_copy(args, ap);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			emit(&o, *p);
			continue;
		}
		if (p[1] == '%') {
			emit(&o, '%');
			p++;
			continue;
		}
		struct spec s;
		p = parse_spec(p + 1, &s, &args);
		emit_conversion(&o, &s, *p, &args);
		if (!*p)
			break;
	}
	va_end(args);
	return o.count;
}

struct buf_out {
	char *buf;
	size_t size, used;
};

static void buf_putc(char c, void *arg)
{
	struct buf_out *b = arg;
	if (b->used + 1 < b->size)
		b->buf[b->used] = c;
	b->used++;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_out b = { buf, size, 0 };
	int n = format_v(buf_putc, &b, fmt, ap);
	if (size)
		buf[b.used < size ? b.used : size - 1] = '\0';
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
