#!/usr/bin/env bash
# Looks in the files a student edits for what no device or page table has
# any business doing, and prints one finding per line (nothing when clean):
#
#   - writing the QEMU exit port (0xf4, or 0x604) or including the port I/O
#     and QEMU-exit headers: the grader trusts the kernel's exit status;
#   - printing a test verdict ("test NAME ... ok", "N passed, 0 failed"):
#     the grader reads verdicts from the serial log;
#   - inline assembly: the given code does all the privileged work;
#   - including a file by an absolute path or through "..": strict grading
#     builds the pristine tree, and such a file would come from elsewhere.
#
#   scan_submission.sh TREE PROJECT      (files: grader/whitelist/PROJECT.txt)
#
# This is a tripwire, not a sandbox: student code runs in ring 0 of the host
# kernel and a determined cheat can hide from any text search (docs/staff.md).
# Comments are ignored; string literals are searched as written.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=${1:?usage: scan_submission.sh TREE PROJECT}
project=${2:?usage: scan_submission.sh TREE PROJECT}
list=$here/whitelist/$project.txt
[ -f "$list" ] || { echo "scan_submission: no whitelist for $project ($list)" >&2; exit 2; }

# The file without its comments (line numbers kept: a comment's lines become
# empty), so a comment that mentions "asm" or port 0xf4 is not a finding.
strip_comments() {
	awk '
	{
		out = ""; line = $0
		while (line != "") {
			if (in_block) {
				end = index(line, "*/")
				if (!end) { line = ""; break }
				line = substr(line, end + 2); in_block = 0; continue
			}
			s = index(line, "/*"); d = index(line, "//"); q = index(line, "\"")
			# the earliest of a block comment, a line comment and a string
			first = 0
			if (s && (!first || s < first)) first = s
			if (d && (!first || d < first)) first = d
			if (q && (!first || q < first)) first = q
			if (!first) { out = out line; line = ""; break }
			out = out substr(line, 1, first - 1)
			line = substr(line, first)
			if (first == s && substr(line, 1, 2) == "/*") { in_block = 1; line = substr(line, 3) }
			else if (first == d && substr(line, 1, 2) == "//") { line = "" }
			else {
				# a string literal, kept whole (escaped quotes included)
				if (match(substr(line, 2), /^([^"\\]|\\.)*"/)) {
					out = out substr(line, 1, RLENGTH + 1); line = substr(line, RLENGTH + 2)
				} else { out = out line; line = "" }
			}
		}
		print out
	}' "$1"
}

while read -r f; do
	case "$f" in ''|'#'*) continue ;; esac
	[ -f "$tree/$f" ] || continue
	with_strings=$(strip_comments "$tree/$f")
	# and with every string literal emptied, for the checks on code
	code_only=$(sed -E 's/"([^"\\]|\\.)*"/""/g' <<<"$with_strings")
	report() {   # TEXT PATTERN WHAT: one finding per matching line
		grep -nE "$2" <<<"$1" | while IFS=: read -r n _; do
			local line
			line=$(sed -n "${n}p" "$tree/$f" | sed 's/^[[:space:]]*//')
			printf '%s:%s: %s: %s\n' "$f" "$n" "$3" "${line:0:120}"
		done
	}
	{
		report "$code_only" '(^|[^[:alnum:]_])(0[xX]0*(f4|F4|604)|244|1540)([^[:alnum:]_]|$)' "uses the QEMU exit port's number (0xf4 or 0x604)"
		report "$with_strings" '#[[:space:]]*include[[:space:]]*[<"](keos/arch/x86\.h|keos/dev/qemu_exit\.h)' "includes port I/O or QEMU exit (a device never needs them)"
		report "$with_strings" '#[[:space:]]*include[[:space:]]*[<"](/|[^>"]*\.\./)' "includes a file from outside the tree (only the pristine tree is graded)"
		report "$code_only" '(^|[^[:alnum:]_])(out[bwl]|qemu_exit)[[:space:]]*\(' "does port output or exits QEMU"
		report "$with_strings" '"([^"\\]|\\.)*(\.\.\.[[:space:]]*(ok|FAILED)|[0-9%][a-z]*[[:space:]]+passed,)' "prints a test verdict line"
		report "$code_only" '(^|[^[:alnum:]_])(__asm__|__asm|asm)([[:space:]]+(volatile|__volatile__|goto|inline))*[[:space:]]*\(' "contains inline assembly"
	} | sort -t: -k2,2n
done <"$list"
exit 0
