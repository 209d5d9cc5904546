#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the tree needs on a grading machine
# (Gradescope's image, a CI runner, a container), with apt-get: as root, or
# through sudo.
#
#   install_packages.sh all|grading
#
# The list is the one tools/deps.sh checks (its need=(...) line), so there is
# a single list to keep. "grading" takes only what building and grading a
# submission needs (GRADING below, each of which must be on that list);
# "all" takes the whole list, for make check as well. A package the
# release's archive does not have (libclang-rt-14-dev on Ubuntu 22.04, say)
# is skipped with a warning, unless grading needs it: then this fails.
# Exit status: 0 when everything grading needs is installed; 1 otherwise;
# 2 for a usage error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
GRADING=(gcc binutils make qemu-system-x86)
what=${1:-}
case $what in all|grading) ;; *) echo "usage: install_packages.sh all|grading" >&2; exit 2 ;; esac

mapfile -t listed < <(sed -n 's/^need=(\(.*\))$/\1/p' "$top/tools/deps.sh" | tr ' ' '\n' | sed '/^$/d')
[ ${#listed[@]} -gt 0 ] || { echo "install_packages: no need=(...) list in $top/tools/deps.sh" >&2; exit 2; }
for p in "${GRADING[@]}"; do
	printf '%s\n' "${listed[@]}" | grep -qx "$p" ||
		{ echo "install_packages: $p (needed to grade) is not in tools/deps.sh's list" >&2; exit 2; }
done
if [ "$what" = all ]; then want=("${listed[@]}"); else want=("${GRADING[@]}"); fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in "${want[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} = 0 ]; then
	echo "install_packages: everything is installed (${want[*]})"
	exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install_packages: not root and no sudo: install ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq || echo "install_packages: apt-get update failed; trying the lists there are" >&2
available=() absent=()
for p in "${missing[@]}"; do
	# A package the archive knows has a candidate version.
	if [[ $(apt-cache policy "$p" 2>/dev/null) =~ Candidate:\ [^\(] ]]; then available+=("$p"); else absent+=("$p"); fi
done
for p in "${absent[@]}"; do
	if printf '%s\n' "${GRADING[@]}" | grep -qx "$p"; then
		echo "install_packages: this release's archive has no $p, which grading needs" >&2
		exit 1
	fi
	echo "install_packages: warning: this release's archive has no $p (only make check needs it): skipped" >&2
done
if [ ${#available[@]} -gt 0 ]; then
	echo "install_packages: installing ${available[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null ||
		{ echo "install_packages: apt-get install ${available[*]} failed" >&2; exit 1; }
fi
for p in "${GRADING[@]}"; do
	installed "$p" || { echo "install_packages: $p is still not installed" >&2; exit 1; }
done
exit 0
