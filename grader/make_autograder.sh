#!/usr/bin/env bash
# Writes the Gradescope autograder for one project: a zip with setup.sh and
# run_autograder at its root (Gradescope's layout), autograder.conf and the
# pristine handout (grader/make_handout.sh) as keos-kev/.
#
#   make_autograder.sh OUTDIR [PROJECT [VISIBILITY]]
#                      (default project4, visible; make autograder P=... VISIBILITY=...)
#
# VISIBILITY is Gradescope's for every test: visible, hidden, after_due_date
# or after_published. The zip is OUTDIR/autograder-PROJECT.zip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make_autograder.sh OUTDIR [PROJECT [VISIBILITY]]}
project=${2:-project4}
visibility=${3:-visible}
case $visibility in visible|hidden|after_due_date|after_published) ;;
*) echo "make_autograder: VISIBILITY is visible, hidden, after_due_date or after_published" >&2; exit 2 ;;
esac
command -v zip >/dev/null || { echo "make_autograder: zip is not installed (apt-get install zip)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/autograder-$project
rm -rf "$stage"
mkdir -p "$stage"
bash "$here/make_handout.sh" "$stage/handout" "$project" >"$out/autograder-$project.handout.log" 2>&1 ||
	{ cat "$out/autograder-$project.handout.log" >&2; exit 1; }
mv "$stage/handout/keos-kev" "$stage/keos-kev"
rm -rf "$stage/handout"
cp "$here/autograder/setup.sh" "$here/autograder/run_autograder" "$stage/"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
{
	echo "# The autograder's settings (written by grader/make_autograder.sh)."
	echo "PROJECT=$project"
	echo "VISIBILITY=$visibility"
	echo "GRADE_JOBS=2"
} >"$stage/autograder.conf"
rm -f "$out/autograder-$project.zip"
# Zipped from inside: setup.sh and run_autograder must be at the zip's root.
(cd "$stage" && zip -qr -X "$out/autograder-$project.zip" setup.sh run_autograder autograder.conf keos-kev)
echo "autograder: $out/autograder-$project.zip ($project, tests $visibility)"
