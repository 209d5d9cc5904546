# KeOS/KeV in C: one Makefile for the kernel, the host tools, the tests and the grader.
#
#   make           build the kernel (build/keos.elf) and the host tools
#   make run       boot the kernel in QEMU (serial on this terminal; Ctrl-A X quits)
#   make gdb       boot it stopped, waiting for gdb (writes .gdbinit); GDB=1 works too
#   make check     host unit tests, then the kernel test suite in QEMU
#   make grade     the graded guest tests, with the score table
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
# gKeOS: keos with the guest tests, booted by kev from the file gKeOS.
$(eval $(call kernel_rule,gkeos,$(sort $(KERNEL_SRCS) $(GUEST_SRCS)) keos/test/runner.c))

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

gdb:
	$(MAKE) run GDB=1

check: deps-quiet check-host check-kernel check-grader
	@echo "make check: all passed"

check-host: $(HOST_TESTS:%=$(BUILD)/host/%) $(HOST_SHELL_DEPS)
	@bash tools/run_host_tests.sh $(HOST_TESTS:%=$(BUILD)/host/%) $(HOST_SHELL_TESTS)

# The kernel suite with the real machine shape (2 CPUs), then the runner's self-test.
KTEST_QEMU_MEM ?= 256M
check-kernel: $(BUILD)/keos-test.elf $(BUILD)/keos.elf $(KERNEL_CHECKS)
	@QEMU_ARGS="$(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))" bash tools/run_kernel_tests.sh $(BUILD)/keos-test.elf
	@bash tools/run_kernel_selftest.sh $(BUILD)/keos-test.elf
	@bash tools/run_crash_check.sh $(BUILD)/keos.elf

# The grader against itself: reference 100 %, handout 0 %, every svirtb mutant
# below 100 % (tests/grader/selftest.sh). After check-kernel: it copies build/.
.PHONY: check-grader
check-grader: check-kernel $(BUILD)/keos-test.elf $(BUILD)/disk/project4.img
	@bash tests/grader/selftest.sh project4

# Installs what is missing (Debian); prints what it would do when not root.
deps:
	bash tools/deps.sh
deps-quiet:
	@bash tools/deps.sh --quiet

clean:
	rm -rf $(BUILD) .gdbinit

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- grading and the handout ----------------------------------------------------
# make grade [P="project3 project4"] [FORMAT=tap] [GRADE_STRICT=1 REFERENCE=DIR]
GRADE_PROJECTS ?= project3 project4
GRADE_DEPS ?= $(BUILD)/keos-test.elf $(BUILD)/disk/project3.img $(BUILD)/disk/project4.img
P ?= $(GRADE_PROJECTS)
.PHONY: grade handout
grade: deps-quiet $(GRADE_DEPS)
	@if [ -n "$(GRADE_STRICT)" ]; then bash grader/restore_reference.sh "$(REFERENCE)" $(P); fi
	@bash grader/grade.sh $(if $(filter tap,$(FORMAT)),--format tap) --results grader/results.json $(P)

# make handout [P=project3|project4]: the student tree for project P (default project4):
# stubs in the files P and later projects let students edit (grader/whitelist/).
handout:
	bash grader/make_handout.sh $(BUILD)/handout $(lastword $(P))
