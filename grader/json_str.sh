# json_str TEXT: TEXT as the inside of a JSON string (sourced by the grading
# scripts that write results.json themselves when grade.sh could not): a
# backslash and a quote are escaped, a newline becomes \n, and any other
# control character is dropped (a compiler's or tar's words may hold a CR).
json_str() {
	printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\000-\011\013-\037\177' |
		awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
}
