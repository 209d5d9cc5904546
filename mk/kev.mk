# kev: the hypervisor core (SVM, vCPUs, VMs, the exit-controller chain, the
# probe) and project3's nested page table, in every kernel.
KERNEL_SRCS += kev/svm.c kev/svm_run.S kev/exit.c kev/vmexit.c kev/vcpu.c kev/vm.c \
	kev/vcpu_mem.c kev/probe.c kev/guest_walk.c \
	kev/vmexit/cpuid.c kev/vmexit/msr.c kev/vmexit/pio.c kev/vmexit/hypercall.c \
	kev/vmexit/hlt.c kev/vmexit/dr.c kev/vmexit/feature_insn.c kev/insn.c kev/console_limit.c \
	kev/vcpu_guard.c \
	project3/ept.c

# Kernel tests: small guests (tests/guests/*.S) assembled into flat 64-bit
# binaries linked at 0x10000 (KEV_FLAT_LOAD_GPA) and embedded in the test
# kernel by tests/guests/images.S.
KEV_GUESTS := cpuid msr msr_unknown serial hypercall unmapped exit ud2 bench rendezvous smp
KEV_GUEST_BINS := $(KEV_GUESTS:%=$(BUILD)/guests/%.bin)
KTEST_SRCS += tests/guests/images.S tests/kernel/kev_guests.c \
	tests/kernel/test_kev_basic.c tests/kernel/test_kev_errors.c \
	tests/kernel/test_kev_smp.c tests/kernel/test_kev_probe.c tests/kernel/test_kev_bench.c

$(BUILD)/guests/%.bin: tests/guests/%.S tests/guests/guest.h kev/hypercall.h
	@mkdir -p $(dir $@)
	@echo "  GUEST   $<"
	$(Q)$(CC) -c -I. -D__ASSEMBLY__ -o $(@:.bin=.o) $<
	$(Q)$(LD) -nostdlib -N -z noexecstack --no-warn-rwx-segments -Ttext=0x10000 -e guest_start \
		-o $(@:.bin=.elf) $(@:.bin=.o)
	$(Q)$(OBJCOPY) -O binary $(@:.bin=.elf) $@

# .incbin is invisible to -MMD: depend on the binaries explicitly.
$(BUILD)/k/tests/guests/images.o: $(KEV_GUEST_BINS)
$(BUILD)/k/tests/guests/images.o: KASFLAGS += -Wa,-I$(BUILD)/guests

# Host tests: the nested table and the guest page-table walk on fake memory.
HOST_TESTS += test_ept test_guest_walk
test_ept_SRCS := tests/host/test_ept.c project3/ept.c
test_guest_walk_SRCS := tests/host/test_guest_walk.c kev/guest_walk.c

# The exit benchmark alone (it also runs, as the test kev_bench_hypercall_exits,
# in make check): prints "kev: N exits in T ms: E exits/s" and the "kev-bench:" line,
# one exit through kev beside a bare VMRUN loop on the same CPU, and their ratio.
.PHONY: bench-kev
bench-kev: $(BUILD)/keos-test.elf
	@QEMU_ARGS="$(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))" \
		bash tools/qemu_run.sh --timeout 120 --append "test=kev_bench_*" $(BUILD)/keos-test.elf \
		| tr -d '\r' | grep -E '^(kev: [0-9]+ exits|kev-bench: |test )'

# Virtual interrupts, per-vCPU x87/SSE state and the diagnosis of a VM that hangs.
KERNEL_SRCS += kev/vcpu_irq.c kev/vcpu_fpu.c kev/vm_hang.c

# Devices own MSRs, add CPUID features and stop their timers through
# kev/device_hooks.h; its kernel test and guest (embedded by images.S).
KERNEL_SRCS += kev/device_hooks.c
KTEST_SRCS += tests/kernel/test_kev_device_hooks.c
$(BUILD)/guests/msr_device.bin: tests/guests/irq.h
$(BUILD)/k/tests/guests/images.o: $(BUILD)/guests/msr_device.bin

# Kernel tests of interrupts, x87/SSE isolation and hangs, with their guests
# (embedded by tests/guests/images.S too).
KEV_IRQ_GUESTS := irq_window irq_priority irq_redeliver irq_flood irq_hlt fpu hang
KEV_IRQ_GUEST_BINS := $(KEV_IRQ_GUESTS:%=$(BUILD)/guests/%.bin)
$(KEV_IRQ_GUEST_BINS): tests/guests/irq.h
KTEST_SRCS += tests/kernel/test_kev_irq.c tests/kernel/test_kev_fpu.c \
	tests/kernel/test_kev_hang.c
$(BUILD)/k/tests/guests/images.o: $(KEV_IRQ_GUEST_BINS)

# Host test of the gKeOS symbol lookup that names guest addresses in hang reports.
HOST_TESTS += test_elf_symbols
test_elf_symbols_SRCS := tests/host/test_elf_symbols.c project3/keos_vm/elf.c


# The hostile-guest suite: guests that attack kev (tests/guests/hostile_*.S,
# sharing tests/guests/hostile.h: an IDT, user and 16/32-bit segments) and the
# host tests that check kev survives them and gives the architecture's answer.
HOSTILE_GUESTS := hostile_dr hostile_dr_breakpoint hostile_int_once hostile_msr hostile_prefix \
	hostile_user hostile_features hostile_flood
HOSTILE_GUEST_BINS := $(HOSTILE_GUESTS:%=$(BUILD)/guests/%.bin)
KTEST_SRCS += tests/kernel/test_kev_hostile.c
$(HOSTILE_GUEST_BINS): tests/guests/hostile.h
$(BUILD)/k/tests/guests/images.o: $(HOSTILE_GUEST_BINS)
