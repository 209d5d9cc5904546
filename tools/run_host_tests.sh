#!/usr/bin/env bash
# Runs each host unit-test program given; fails if any fails. Shell tests
# (*.sh) get the build directory as their argument.
set -uo pipefail
failed=()
for t in "$@"; do
	case "$t" in
	*.sh) out=$(timeout 600 bash "$t" build 2>&1) ;;
	*) out=$(CK_TIMEOUT_MULTIPLIER=4 timeout 600 "$t" 2>&1) ;;
	esac
	rc=$?
	if [ $rc = 0 ]; then
		summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' | tail -n 1)
		[ -n "$summary" ] || summary=$(printf '%s\n' "$out" | tail -n 1)
		echo "host: $(basename "$t"): $summary"
	else
		printf '%s\n' "$out" | tail -n 30
		echo "host: $(basename "$t"): FAILED (status $rc)"
		failed+=("$t")
	fi
done
[ ${#failed[@]} = 0 ] || { echo "host tests failed: ${failed[*]}" >&2; exit 1; }
