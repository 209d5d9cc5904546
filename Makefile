# KeOS/KeV in C: one Makefile for the kernel, the host tools, the tests and the grader.
#
#   make           build the kernel (build/keos.elf) and the host tools
#   make run       boot the kernel in QEMU (serial on this terminal; Ctrl-A X quits)
#   make gdb       boot it stopped, waiting for gdb (writes .gdbinit); TEST=NAME: one test
#   make check     host unit tests, the kernel test suite in QEMU, the grader's self-test
#   make grade     the graded tests, with the score table (TEST=NAME: one test)
#
# Each subsystem may add a fragment under mk/ (see mk/README.md) listing its
# kernel sources, host tests and host tools; the rules here build them all.

.DEFAULT_GOAL := all
SHELL := /bin/bash
BUILD := build
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

# --- toolchains ---------------------------------------------------------------
CC      := gcc
LD      := ld
OBJCOPY := objcopy
NM      := nm
QEMU    := qemu-system-x86_64

KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
	-nostdinc -isystem $(shell $(CC) -print-file-name=include) -isystem keos/libc \
	-mno-red-zone -mcmodel=kernel -mno-sse -mno-mmx -mno-80387 -mno-avx \
	-fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
	-fno-optimize-sibling-calls -fno-toplevel-reorder -fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-I. -MMD -MP
KASFLAGS := $(filter-out -std=gnu11,$(KCFLAGS)) -D__ASSEMBLY__
KLDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T keos/arch/kernel.ld

HOSTCFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DKEOS_HOST -MMD -MP \
	-fsanitize=address,undefined -fno-omit-frame-pointer
HOSTLDFLAGS := -fsanitize=address,undefined
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

# --- what gets built: fragments add to these ----------------------------------
# KERNEL_SRCS: every keos kernel (.c/.S);  KTEST_SRCS: only in the test kernel.
KERNEL_SRCS :=
KTEST_SRCS :=
# GUEST_SRCS: only in gKeOS (build/gkeos.elf), the guest kernel.
GUEST_SRCS :=
HOST_TESTS :=
# HOST_SHELL_TESTS: bash scripts run with the build dir as $$1, after HOST_SHELL_DEPS are built.
HOST_SHELL_TESTS :=
HOST_SHELL_DEPS :=
# KERNEL_CHECKS: extra phony targets that check-kernel runs (fragments add their own).
KERNEL_CHECKS :=
TOOLS :=
include $(sort $(wildcard mk/*.mk))

# --- the kernel ----------------------------------------------------------------
kobj = $(patsubst %,$(BUILD)/k/%.o,$(basename $(1)))

$(BUILD)/k/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
$(BUILD)/k/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# A kernel is linked twice: the second link embeds the symbol table of the
# first, so panics print function names (keos/lib/ksyms.c). The table lives
# after .text, so text addresses do not move between the two links.
define kernel_rule
$(BUILD)/$(1).elf: $(call kobj,$(2)) $(BUILD)/k/keos/lib/ksyms_empty.o keos/arch/kernel.ld tools/gen_ksyms.sh
	@echo "  LD      $$@"
	$(Q)$(LD) $(KLDFLAGS) -o $$@.pass1 $(call kobj,$(2)) $(BUILD)/k/keos/lib/ksyms_empty.o
	$(Q)bash tools/gen_ksyms.sh $$@.pass1 > $$@.ksyms.S
	$(Q)$(CC) $(KASFLAGS) -c $$@.ksyms.S -o $$@.ksyms.o
	$(Q)$(LD) $(KLDFLAGS) -o $$@ $(call kobj,$(2)) $$@.ksyms.o
	@bash tools/check_ksyms.sh $$@.pass1 $$@
endef
$(eval $(call kernel_rule,keos,$(KERNEL_SRCS) keos/main.c))
$(eval $(call kernel_rule,keos-test,$(KERNEL_SRCS) $(KTEST_SRCS) keos/test/runner.c))
# gKeOS: keos with the guest tests, booted by kev from the file gKeOS. Linked
# with the kernel's objects first, in the same order, so keos and kev code has
# the same addresses in both kernels (make gdb: tools/write_gdbinit.sh).
$(eval $(call kernel_rule,gkeos,$(KERNEL_SRCS) $(sort $(filter-out $(KERNEL_SRCS),$(GUEST_SRCS))) keos/test/runner.c))

$(BUILD)/k/keos/lib/ksyms_empty.o: keos/lib/ksyms_empty.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# --- host tools and host tests -------------------------------------------------
hobj = $(patsubst %,$(BUILD)/h/%.o,$(basename $(1)))
$(BUILD)/h/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(HOSTCFLAGS) $($(notdir $(basename $<))_CFLAGS) -c $< -o $@

define host_test_rule
$(BUILD)/host/$(1): $(call hobj,$($(1)_SRCS))
	@mkdir -p $$(dir $$@)
	$(CC) $(HOSTLDFLAGS) -o $$@ $$^ $($(1)_LIBS) $(CHECK_LIBS)
endef
$(foreach t,$(HOST_TESTS),$(eval $(call host_test_rule,$(t))))

define tool_rule
$(BUILD)/tools/$(1): $(call hobj,$($(1)_SRCS))
	@mkdir -p $$(dir $$@)
	$(CC) $(HOSTLDFLAGS) -o $$@ $$^ $($(1)_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# --- QEMU ------------------------------------------------------------------------
QEMU_CPU  ?= qemu64,+svm,+npt
QEMU_SMP  ?= 2
QEMU_MEM  ?= 512M
QEMU_ARGS := -accel tcg -cpu $(QEMU_CPU) -smp $(QEMU_SMP) -m $(QEMU_MEM) \
	-nographic -no-reboot -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04 $(QEMU_EXTRA)
export QEMU QEMU_ARGS

.PHONY: all run gdb check check-host check-kernel clean deps
all: deps-quiet $(BUILD)/keos.elf $(BUILD)/keos-test.elf $(TOOLS:%=$(BUILD)/tools/%)

GDB ?=
run: deps-quiet $(BUILD)/keos.elf
	@if [ -n "$(GDB)" ]; then bash tools/write_gdbinit.sh $(BUILD)/keos.elf; fi
	bash tools/qemu_run.sh $(if $(GDB),--gdb) $(BUILD)/keos.elf

# In a handout (mk/handout.mk, written by grader/make_handout.sh) the files
# given as stubs: until a file no longer says "not yet implemented", the
# checks that need it wait (make grade tests the student's code). A check
# names the files it needs in NAME_SRCS (host tests) or NAME_NEEDS.
HANDOUT_STUBBED ?=
STUBS_LEFT := $(if $(HANDOUT_STUBBED),$(shell grep -l 'panic("not yet implemented")' $(HANDOUT_STUBBED) 2>/dev/null))
needs_stubs = $(filter $(STUBS_LEFT),$($(1)_SRCS) $($(1)_NEEDS))
ready = $(foreach c,$(1),$(if $(call needs_stubs,$(c)),,$(c)))
waiting = $(foreach c,$(1),$(if $(call needs_stubs,$(c)),$(c)))
say_waiting = $(foreach c,$(call waiting,$(1)),echo "waiting for your code: $(c) needs $(call needs_stubs,$(c)) (make grade)";)
READY_HOST_TESTS := $(call ready,$(HOST_TESTS))

check: deps-quiet check-host check-kernel $(if $(wildcard tests/grader/selftest.sh),check-grader)
	@echo "make check: all passed"

check-host: $(READY_HOST_TESTS:%=$(BUILD)/host/%) $(HOST_SHELL_DEPS)
	@$(call say_waiting,$(HOST_TESTS) $(HOST_SHELL_TESTS))
	@bash tools/run_host_tests.sh $(READY_HOST_TESTS:%=$(BUILD)/host/%) $(call ready,$(HOST_SHELL_TESTS))

# The kernel suite with the real machine shape (2 CPUs), then the runner's self-test.
# With stubs left, a kernel test that fails only with "not yet implemented" waits too.
KTEST_QEMU_MEM ?= 256M
check-kernel: $(BUILD)/keos-test.elf $(BUILD)/keos.elf $(call ready,$(KERNEL_CHECKS))
	@$(call say_waiting,$(KERNEL_CHECKS))
	@QEMU_ARGS="$(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))" bash tools/run_kernel_tests.sh \
		$(if $(STUBS_LEFT),--stubs-wait) $(BUILD)/keos-test.elf
	@bash tools/run_kernel_selftest.sh $(BUILD)/keos-test.elf
	@bash tools/run_crash_check.sh $(BUILD)/keos.elf

# The grader against itself (tests/grader/selftest.sh): strict grading, every
# rule's mutant, the handout, make gdb, interrupts. It builds its own trees
# from the tracked files, so it runs beside the other checks.
.PHONY: check-grader
check-grader:
	@bash tests/grader/selftest.sh

# Installs what is missing (Debian); prints what it would do when not root.
deps:
	bash tools/deps.sh $(if $(wildcard tests/grader/selftest.sh),--staff)
deps-quiet:
	@bash tools/deps.sh --quiet $(if $(wildcard tests/grader/selftest.sh),--staff)

clean:
	rm -rf $(BUILD) .gdbinit

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- grading and the handout ----------------------------------------------------
# make grade [P="project3 project4"] [TEST=NAME[,NAME...]] [FORMAT=tap] [GRADE_JOBS=2]
#            [GRADE_STRICT=1 REFERENCE=DIR]
# TEST grades only those tests (P defaults to the project their names start with).
# GRADE_STRICT=1 runs the pristine tree's grader (REFERENCE/grader/grade_strict.sh):
# it builds and grades this tree's whitelisted files inside a copy of REFERENCE,
# so nothing else here, this Makefile and build/ included, can change the score.
GRADE_PROJECTS ?= project3 project4
GRADE_DEPS ?= $(BUILD)/keos-test.elf $(BUILD)/disk/project3.img $(BUILD)/disk/project4.img
GRADE_JOBS ?= 2
TEST ?=
P ?= $(if $(TEST),$(sort $(foreach t,$(subst $(comma), ,$(TEST)),$(firstword $(subst _, ,$(t))))),$(GRADE_PROJECTS))
comma := ,
GRADE_OPTS = $(if $(filter tap,$(FORMAT)),--format tap) --jobs $(GRADE_JOBS) $(if $(TEST),--only $(TEST)) \
	--results grader/results.json
export GRADE_JOBS
.PHONY: grade handout
ifeq ($(GRADE_STRICT),)
grade: deps-quiet $(GRADE_DEPS)
	@bash grader/grade.sh $(GRADE_OPTS) $(P)
else
grade: deps-quiet
	@[ -n "$(REFERENCE)" ] && [ -f "$(REFERENCE)/grader/grade_strict.sh" ] || \
		{ echo "make grade GRADE_STRICT=1 needs REFERENCE=DIR, the pristine tree (with grader/grade_strict.sh)" >&2; exit 2; }
	@bash "$(REFERENCE)/grader/grade_strict.sh" $(GRADE_OPTS) "$(CURDIR)" $(P)
endif

# make handout [P=project3|project4]: the student tree for project P (default project4):
# stubs in the files P and later projects let students edit (grader/whitelist/).
handout:
	bash grader/make_handout.sh $(BUILD)/handout $(lastword $(P))

# make gdb [TEST=NAME [P=PROJECT]] [GDB_PORT=1234]: QEMU waits for gdb, which
# `gdb -x .gdbinit` attaches (tools/write_gdbinit.sh: symbols, breakpoints,
# the host-break and guest-break commands). Without TEST: the plain kernel.
# With TEST: the test kernel running that one test on a fresh copy of its
# project's disk, with the symbols of the host kernel and of gKeOS.
GDB_PORT ?= 1234
export GDB_PORT
gdb_kernel = $(if $(TEST),$(BUILD)/keos-test.elf,$(BUILD)/keos.elf)
gdb: deps-quiet $(gdb_kernel) $(if $(TEST),$(BUILD)/gkeos.elf $(BUILD)/disk/$(firstword $(P)).img)
	@bash tools/write_gdbinit.sh $(gdb_kernel) $(if $(TEST),$(BUILD)/gkeos.elf)
ifneq ($(TEST),)
	@cp $(BUILD)/disk/$(firstword $(P)).img $(BUILD)/disk/gdb-run.img
	bash tools/qemu_run.sh --gdb --drive $(BUILD)/disk/gdb-run.img --append "test=$(TEST)" $(gdb_kernel)
else
	bash tools/qemu_run.sh --gdb $(gdb_kernel)
endif

# make autograder [P=project4] [VISIBILITY=visible]: Gradescope's autograder zip
# for project P (grader/make_autograder.sh): build/autograder/autograder-P.zip.
VISIBILITY ?= visible
.PHONY: autograder bench-grading
autograder:
	@[ -f grader/make_autograder.sh ] || { echo "make autograder: only in the course's own tree" >&2; exit 2; }
	bash grader/make_autograder.sh $(BUILD)/autograder $(lastword $(P)) $(VISIBILITY)

# Grading throughput: 20 submissions (copies of the reference, the stubs, two
# mutants and one whose tests wait out the driver) through grader/grade_many.sh,
# two ways of using the cores side by side (tests/grader/bench_grading.sh).
bench-grading:
	@[ -f tests/grader/bench_grading.sh ] || { echo "make bench-grading: only in the course's own tree" >&2; exit 2; }
	bash tests/grader/bench_grading.sh $(BUILD)/bench-grading
