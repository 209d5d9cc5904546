/* Symbol lookup for backtraces: binary search of the sorted table that the
 * second link embeds. Addresses past the last function's end are attributed
 * to it only if they are still inside .text. */
#include "keos/lib/ksyms.h"
#include <stddef.h>

struct ksym { uint64_t addr, name_offset; };
extern const uint64_t ksyms_count;
extern const struct ksym ksyms_table[];
extern const char ksyms_names[];
extern const char _text_start[], _text_end[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
	if (addr < (uint64_t)_text_start || addr >= (uint64_t)_text_end || ksyms_count == 0)
		return NULL;
	size_t lo = 0, hi = ksyms_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ksyms_table[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksyms_table[lo].addr > addr)
		return NULL;
	*offset = addr - ksyms_table[lo].addr;
	return ksyms_names + ksyms_table[lo].name_offset;
}
