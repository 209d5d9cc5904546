#!/usr/bin/env bash
# One package list, everywhere it is written: tools/deps.sh's need=(...) is
# the list. The Dockerfile installs exactly it; .ci/run installs at least
# it and staff_need=(...) (what this self-test needs beyond it);
# grader/install_packages.sh reads it and what grading needs is on it
# (and is installed here, which running it in "grading" mode shows without
# installing anything). The pages that send people elsewhere say what they
# must: the README names the Ubuntu releases and both Docker commands as
# the Dockerfile writes them; the handout's README has the same commands.
#
#   packages_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: packages_check.sh PROJECT}
fail=0

words() { tr ' \\\t' '\n\n\n' | sed '/^$/d' | sort -u; }
deps=$(sed -n 's/^need=(\(.*\))$/\1/p' "$TOP/tools/deps.sh" | words)
[ "$(wc -l <<<"$deps")" -ge 4 ] || { complain "packages: no need=(...) list in tools/deps.sh"; exit 1; }
docker=$(awk '/apt-get install/ { on = 1 } on { print } on && /&&/ && !/apt-get install/ { exit }' "$TOP/Dockerfile" |
	sed 's/.*--no-install-recommends//; s/&&.*//' | words)
if [ "$docker" != "$deps" ]; then
	complain "packages: the Dockerfile installs {$(paste -sd' ' <<<"$docker")}, tools/deps.sh needs {$(paste -sd' ' <<<"$deps")}"
	fail=1
fi
ci=$(sed -n '/apt-get install/,/>\/dev\/null/p' "$TOP/.ci/run" | sed 's/.*--no-install-recommends//; s/>.*//' | words)
if missing=$(comm -23 <(echo "$deps") <(echo "$ci")) && [ -n "$missing" ]; then
	complain "packages: .ci/run does not install $(paste -sd' ' <<<"$missing") (tools/deps.sh needs it)"
	fail=1
fi
staff=$(sed -n 's/^staff_need=(\(.*\))$/\1/p' "$TOP/tools/deps.sh" | words)
if [ -z "$staff" ]; then
	complain "packages: no staff_need=(...) list in tools/deps.sh (what the self-test needs)"
	fail=1
elif missing=$(comm -23 <(echo "$staff") <(echo "$ci")) && [ -n "$missing" ]; then
	complain "packages: .ci/run does not install $(paste -sd' ' <<<"$missing") (the self-test needs it: tools/deps.sh --staff)"
	fail=1
fi
if ! out=$(bash "$TOP/grader/install_packages.sh" grading 2>&1) || ! grep -q 'everything is installed' <<<"$out"; then
	complain "packages: grader/install_packages.sh grading: $out"
	fail=1
fi

# The two Docker commands, as the Dockerfile's comment gives them.
mapfile -t commands < <(sed -n 's/^#   \(docker .*\)$/\1/p' "$TOP/Dockerfile")
[ ${#commands[@]} = 2 ] || { complain "packages: the Dockerfile's comment does not give the two docker commands"; fail=1; }
readme=$TOP/README.md handout_readme=$SELFTEST_WORK/pristine/$project/keos-kev/README.md
for page in "$readme" "$handout_readme"; do
	for c in "${commands[@]}"; do
		grep -qxF "$c" <(sed 's/^[[:space:]]*//' "$page") || { complain "packages: $page does not give the command: $c"; fail=1; }
	done
done
for release in 'Ubuntu 24.04' 'Ubuntu 22.04'; do
	grep -q "$release" "$readme" || { complain "packages: README.md does not say whether $release works"; fail=1; }
done

[ $fail = 0 ] && say "packages: one list ($(wc -l <<<"$deps") packages): tools/deps.sh = Dockerfile, within .ci/run and install_packages.sh; README and the handout's README give the Ubuntu releases and the Docker commands"
exit $fail
