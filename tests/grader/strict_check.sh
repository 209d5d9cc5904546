#!/usr/bin/env bash
# Strict grading holds. The student is a full handout tree whose device (or
# page table) is a mutant that loses points; on top, one tampering at a
# time: a graded test made lenient, the rubric cut to what passes, the
# grader's verdict forced, a Makefile fragment that swaps the graded tests
# for empty ones, a given header whose assertions check nothing. For each:
#   - graded the student's way (make grade in the tampered tree, its own
#     build/ now built from the tampered files), the score changes: the
#     tampering works, so this check could fail;
#   - graded strictly (the pristine tree's grade_strict.sh, with a work tree
#     that earlier runs left built: a dirty build directory), the score is
#     the mutant's own.
# Then all five at once from a clean work tree, and through the student's
# `make grade GRADE_STRICT=1 REFERENCE=...`. Last, a device that writes the
# QEMU exit port, prints a verdict line and uses inline assembly is flagged
# in the table and in results.json.
#
#   strict_check.sh PROJECT        (inside selftest.sh)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/grader/lib.sh
source "$here/lib.sh"
project=${1:?usage: strict_check.sh PROJECT}
pristine=$SELFTEST_WORK/pristine/$project/keos-kev
fail=0
case $project in
project4) mutant=ignore_reset tests=tests/guest/project4/test_svirtb.c fragment=mk/project4.mk
	first_test=project4_svirtb_attach_contract ;;
project3) mutant=unmap_keeps_empty_tables tests=tests/guest/project3/test_guest.c fragment=mk/project3.mk
	first_test=project3_guest_boots_under_kev ;;
*) complain "strict_check: no plan for $project"; exit 1 ;;
esac

# The student's tree: the handout with the mutant in the whitelisted file.
student=$SELFTEST_WORK/student-$project
rm -rf "$student"
cp -a "$pristine" "$student"
submission_of "$SELFTEST_WORK/mutant-files-$project" "$project" "$TOP/tests/grader/mutants/$project/$mutant.mutant" ||
	{ complain "strict_check: mutant $mutant does not apply"; exit 1; }
cp -r "$SELFTEST_WORK/mutant-files-$project/." "$student/"
read -r true_score true_max < <(strict_grade "strict-$project-true" "$student" "$project")
if [ "$true_score" = x ] || [ "$true_score" = "$true_max" ]; then
	complain "strict_check: the mutant $mutant scores $true_score/$true_max strictly: it must lose points"
	exit 1
fi

# --- the tamperings: each edits the tree given ----------------------------------------
tamper_graded_test() {   # assertions in the guest tests check nothing
	sed -i '0,/^#include <string.h>$/s//#include <string.h>\n#undef KASSERT\n#define KASSERT(c) ((void)(c))\n#undef KASSERT_EQ\n#define KASSERT_EQ(a, b) ((void)(a), (void)(b))/' "$1/$tests"
}
tamper_rubric() {        # only the first test stays (the mutant passes it)
	grep -E "^(#|$first_test )" "$1/grader/rubrics/$project.rubric" >"$1/rubric.tmp"
	mv "$1/rubric.tmp" "$1/grader/rubrics/$project.rubric"
}
tamper_grader_script() { # every verdict becomes a pass
	sed -i 's/^{$/verdict=pass detail=""\n{/' "$1/grader/run_test.sh"
}
tamper_makefile_fragment() {  # the graded guest tests swapped for empty ones
	{
		echo '#include "keos/test/ktest.h"'
		echo '#include "keos/mm/vm.h"'
		echo '#include "kev/types.h"'
		[ "$project" = project4 ] && echo 'gpa_t svirtb_virt_to_phys(const void *va) { return virt_to_phys(va); }'
		sed -n 's/^KTEST(\([a-z_0-9]*\))$/KTEST(\1) {}/p' "$1/$tests"
	} >"$1/tests/easy_tests.c"
	echo "GUEST_SRCS := \$(filter-out $tests,\$(GUEST_SRCS)) tests/easy_tests.c" >>"$1/$fragment"
}
tamper_given_header() {  # KASSERT and KASSERT_EQ check nothing, everywhere
	sed -i 's/if (!(cond))/if (!(cond) \&\& 0)/; s/if (a_ != b_)/if (a_ != b_ \&\& 0)/' "$1/keos/test/ktest.h"
}
tamperings=(graded_test rubric grader_script makefile_fragment given_header)

for t in "${tamperings[@]}"; do
	tree=$SELFTEST_WORK/tampered-$project-$t
	rm -rf "$tree"
	cp -a "$student" "$tree"
	"tamper_$t" "$tree"
	# The student's own grading, in the tampered tree (its build/ is built from the tampered files).
	make -C "$tree" -s grade P="$project" >"$SELFTEST_WORK/tampered-$project-$t.make.out" 2>&1
	read -r s m < <(json_score "$tree/grader/results.json")
	if [ "$s/$m" = "$true_score/$true_max" ] || [ "$s" = x ]; then
		complain "strict_check: tampering with the $t leaves the plain score at $s/$m: it tampers with nothing (output: $SELFTEST_WORK/tampered-$project-$t.make.out)"
		fail=1
	fi
	read -r ss sm < <(strict_grade "strict-$project-$t" "$tree" "$project")
	if [ "$ss/$sm" != "$true_score/$true_max" ]; then
		complain "strict_check: with the $t tampered, strict grading gives $ss/$sm, not the submission's $true_score/$true_max (output: $SELFTEST_WORK/strict-$project-$t.out)"
		fail=1
	else
		say "$project: tampered $t: the student's make grade says $s/$m, strict grading (dirty work tree) $ss/$sm"
	fi
done

# All five at once, from a clean work tree, and through the student's own Makefile.
tree=$SELFTEST_WORK/tampered-$project-all
rm -rf "$tree"
cp -a "$student" "$tree"
for t in "${tamperings[@]}"; do "tamper_$t" "$tree"; done
make -C "$tree" -s grade P="$project" >/dev/null 2>&1
rm -rf "$SELFTEST_WORK/worktree-clean-$project"
mv "$SELFTEST_WORK/worktree/$project" "$SELFTEST_WORK/worktree-dirty-$project"
read -r ss sm < <(strict_grade "strict-$project-all" "$tree" "$project")
rm -rf "$SELFTEST_WORK/worktree/$project"
mv "$SELFTEST_WORK/worktree-dirty-$project" "$SELFTEST_WORK/worktree/$project"
make -C "$tree" -s grade P="$project" GRADE_STRICT=1 REFERENCE="$pristine" >"$SELFTEST_WORK/strict-$project-make.out" 2>&1
read -r ms mm < <(json_score "$tree/grader/results.json")
if [ "$ss/$sm" != "$true_score/$true_max" ] || [ "$ms/$mm" != "$true_score/$true_max" ]; then
	complain "strict_check: all tamperings at once: strict grading from a clean work tree gives $ss/$sm, make grade GRADE_STRICT=1 $ms/$mm; the submission's is $true_score/$true_max"
	fail=1
else
	say "$project: all five tamperings: strict grading from a clean work tree and make grade GRADE_STRICT=1 both give $ss/$sm"
fi

# A device (or page table) doing what none has any business doing is flagged.
cheat=$SELFTEST_WORK/cheat-$project
submission_of "$cheat" "$project"
file=$(grep -vE '^\s*(#|$)' "$TOP/grader/whitelist/$project.txt" | head -n 1)
cat >>"$cheat/$file" <<'EOF'
void grading_cheat(void);
void grading_cheat(void)
{
	printk("test everything ... ok\n");
	__asm__ volatile("outw %0, %1" :: "a"((unsigned short)0), "Nd"((unsigned short)0x604));
}
EOF
read -r cs cm < <(strict_grade "cheat-$project" "$cheat" "$project")
flags=$(grep -o '"flags": \[.*\]' "$SELFTEST_WORK/cheat-$project.json")
if [ "$cs" != "$cm" ] || ! grep -q '^FLAGGED: ' "$SELFTEST_WORK/cheat-$project.out" ||
   ! grep -q 'prints a test verdict line' <<<"$flags" || ! grep -q 'inline assembly' <<<"$flags" ||
   ! grep -q "QEMU exit port" <<<"$flags"; then
	complain "strict_check: a device with a verdict line, the exit port and inline assembly is not flagged ($cs/$cm; flags: $flags)"
	fail=1
else
	say "$project: a file that prints a verdict, writes the exit port and uses inline assembly is graded ($cs/$cm) and FLAGGED in the table and results.json"
fi
exit $fail
