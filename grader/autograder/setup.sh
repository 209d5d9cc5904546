#!/usr/bin/env bash
# Gradescope's image setup (run once, as root, when the autograder image is
# built): installs the packages and builds the pristine handout once, so
# that grading a submission (run_autograder) rebuilds only the student's
# files and what depends on them.
#
# The zip (grader/make_autograder.sh) holds, beside this script:
#   run_autograder   the grading of one submission
#   autograder.conf  PROJECT, VISIBILITY and GRADE_JOBS
#   keos-kev/        the pristine handout
# Gradescope unpacks it at $AUTOGRADER_ROOT/source (/autograder/source); the
# built work tree is $AUTOGRADER_ROOT/work. AUTOGRADER_ROOT is a variable so
# that a test can use a temporary directory instead of /autograder.
set -euo pipefail
root=${AUTOGRADER_ROOT:-/autograder}
source=$root/source
tree=$source/keos-kev
# shellcheck source=/dev/null
source "$source/autograder.conf"

# Every package of the tree's list that this release's archive has; those
# grading needs must be there (grader/install_packages.sh).
bash "$tree/grader/install_packages.sh" all

# The kernels are linked with --no-warn-rwx-segments (binutils 2.39 and
# later): say so plainly on an older base image rather than fail in make.
ld_help=$(ld --help 2>/dev/null)
if [[ $ld_help != *--no-warn-rwx-segments* ]]; then
	echo "setup: this image's binutils ($(ld --version | head -n 1)) is older than 2.39 and cannot link the kernels;" >&2
	echo "setup: choose the Ubuntu 24.04 base image (Ubuntu 22.04 has binutils 2.38)" >&2
	exit 1
fi

empty=$(mktemp -d)
mkdir -p "$root/logs"
bash "$tree/grader/grade_strict.sh" --prepare --work "$root/work" --log-dir "$root/logs" "$empty" "$PROJECT"
rmdir "$empty"
