# project4: the Simple VirtIO Block device (svirtb), its ring and its guest driver.
#
# PROJECT4_HOST_SRCS run in the hypervisor's kernel: the device backend and the
# ring it reads. They call probe_read/probe_write (kev) and pager_map_page
# (project3), so they join KERNEL_SRCS once those exist; until then adding
# them would break the kernel link.
# PROJECT4_GUEST_SRCS belong in the guest kernel only: the driver (plus the
# ring, virt_queue.c); that kernel must define svirtb_virt_to_phys().
PROJECT4_HOST_SRCS := project4/virtio/virt_queue.c project4/dev/simple_virtio.c
PROJECT4_GUEST_SRCS := project4/virtio/virt_queue.c project4/driver/svirtb.c

# Host tests: the ring alone, then the device model and the driver against
# fake guest RAM and a fake disk_file (tests/host/fake_guest.c) and the real
# MMIO region set.
HOST_TESTS += test_virt_queue test_simple_virtio
test_virt_queue_SRCS := tests/host/test_virt_queue.c project4/virtio/virt_queue.c \
	tests/host/fake_guest.c
test_simple_virtio_SRCS := tests/host/test_simple_virtio.c tests/host/svirtb_path.c \
	project4/dev/simple_virtio.c project4/virtio/virt_queue.c project4/driver/svirtb.c \
	tests/host/fake_guest.c project3/vmexit/mmio_regions.c
# The course's own test of the reference's wording and of what the spec leaves
# open; staff-only (grader/staff-only.txt), so only where the file exists.
ifneq ($(wildcard tests/host/test_simple_virtio_staff.c),)
HOST_TESTS += test_simple_virtio_staff
test_simple_virtio_staff_SRCS := tests/host/test_simple_virtio_staff.c tests/host/svirtb_path.c \
	project4/dev/simple_virtio.c project4/virtio/virt_queue.c tests/host/fake_guest.c \
	project3/vmexit/mmio_regions.c
endif

# A short fuzz run (30 s, FUZZ_CHECK_SECONDS to change) in make check-host;
# tests/fuzz/run_fuzz.sh SECONDS is the long run. Needs clang with libFuzzer.
HOST_SHELL_TESTS += tests/fuzz/run_fuzz.sh
tests/fuzz/run_fuzz.sh_NEEDS := project4/dev/simple_virtio.c

# The long fuzz run: make fuzz [FUZZ_SECONDS=600].
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz:
	bash tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS)

# In the hypervisor's kernel: the device and the VM that wires it (probe and
# pager_map_page exist now). In gKeOS: the driver and the guest tests.
KERNEL_SRCS += $(PROJECT4_HOST_SRCS) project4/vm.c
GUEST_SRCS += $(PROJECT4_GUEST_SRCS) tests/guest/project4/test_svirtb.c tests/guest/project4/fixture.S
KTEST_SRCS += tests/kernel/test_project4.c
# The svirtb benchmark (make bench-svirtb), apart from the graded tests.
GUEST_SRCS += tests/guest/project4/bench_svirtb.c
KTEST_SRCS += tests/kernel/bench_project4.c
$(BUILD)/k/tests/guest/project4/fixture.o: tests/fixtures/project4/disk_file

# check-project4: every project4_* host test with gKeOS and disk_file on the
# disk; then the durability check reads disk_file back from the image.
P4_QEMU_ARGS = $(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))
.PHONY: check-project4
KERNEL_CHECKS += check-project4
check-project4_NEEDS := project3/ept.c project4/dev/simple_virtio.c
check-project4: $(BUILD)/keos-test.elf $(BUILD)/disk/project4.img $(BUILD)/tools/fsutil bench-svirtb
	$(Q)cp $(BUILD)/disk/project4.img $(BUILD)/disk/project4-run.img
	$(Q)QEMU_ARGS="$(P4_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 600 \
		--drive $(BUILD)/disk/project4-run.img --append "test=project4_*" \
		--log $(BUILD)/project4.log $(BUILD)/keos-test.elf
	$(Q)bash tools/check_svirtb_durability.sh $(BUILD)/tools/fsutil \
		tests/fixtures/project4/disk_file $(BUILD)/disk/project4-run.img

# The benchmark disk: gKeOS and a 4 MiB disk_file of numbered lines (not the
# graded one). make bench-svirtb runs project4bench_svirtb on it; check-project4
# runs it too, since it takes a few seconds.
$(BUILD)/disk/project4-bench.img: $(BUILD)/gkeos.elf $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)rm -rf $(@:.img=.files) && mkdir -p $(@:.img=.files)
	$(Q)cp $(BUILD)/gkeos.elf $(@:.img=.files)/gKeOS
	$(Q)for ((s = 0; s < 8192; s++)); do printf 'svirtb bench sector %08d%483s\n' $$s ''; done \
		>$(@:.img=.files)/disk_file
	$(Q)$(BUILD)/tools/mkfs $@ $(@:.img=.files)

.PHONY: bench-svirtb
bench-svirtb: $(BUILD)/keos-test.elf $(BUILD)/disk/project4-bench.img
	$(Q)cp $(BUILD)/disk/project4-bench.img $(BUILD)/disk/project4-bench-run.img
	$(Q)QEMU_ARGS="$(P4_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 600 \
		--drive $(BUILD)/disk/project4-bench-run.img --append "test=project4bench_*" \
		--log $(BUILD)/project4-bench.log $(BUILD)/keos-test.elf
	$(Q)tr -d '\r' <$(BUILD)/project4-bench.log | grep -E 'svirtb bench'

# The host under a hostile svirtb driver (tests/kernel/test_project4_hostile.c):
# host threads stay live and the VM's deadline holds while one doorbell asks
# for gigabytes of work. Its own image: gKeOS and a 4 MiB disk_file. It checks
# the reference device (a student's may legitimately be slower), so it is
# staff-only (grader/staff-only.txt) and built only where the file exists.
ifneq ($(wildcard tests/kernel/test_project4_hostile.c),)
GUEST_SRCS += tests/guest/project4/hostile_svirtb.c
KTEST_SRCS += tests/kernel/test_project4_hostile.c
$(BUILD)/disk/project4-hostile.img: $(BUILD)/gkeos.elf $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)rm -rf $(@:.img=.files) && mkdir -p $(@:.img=.files)
	$(Q)cp $(BUILD)/gkeos.elf $(@:.img=.files)/gKeOS
	$(Q)head -c 4194304 /dev/zero >$(@:.img=.files)/disk_file
	$(Q)$(BUILD)/tools/mkfs $@ $(@:.img=.files)

.PHONY: check-project4-hostile
KERNEL_CHECKS += check-project4-hostile
check-project4-hostile: $(BUILD)/keos-test.elf $(BUILD)/disk/project4-hostile.img
	$(Q)cp $(BUILD)/disk/project4-hostile.img $(BUILD)/disk/project4-hostile-run.img
	$(Q)QEMU_ARGS="$(P4_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 120 \
		--drive $(BUILD)/disk/project4-hostile-run.img --append "test=project4hostile_*" \
		--log $(BUILD)/project4-hostile.log $(BUILD)/keos-test.elf
	$(Q)tr -d '\r' <$(BUILD)/project4-hostile.log | grep -E '^svirtb hostile' || true
endif
# How long make grade takes for both projects, from a fresh clone and warm
# (tools/bench_grade.sh); printed beside the goals, never asserted.
.PHONY: bench-grade
bench-grade:
	$(Q)bash tools/bench_grade.sh

# Part 1: the x2APIC (project4/dev/x2apic.c), one local APIC per vCPU with its
# TSC-deadline timer; every project4 VM gets it before svirtb
# (tests/kernel/project4_harness.c), so every project4 guest runs preemptively.
KERNEL_SRCS += project4/dev/x2apic.c
KTEST_SRCS += tests/kernel/project4_harness.c
GUEST_SRCS += tests/guest/project4/test_x2apic.c tests/guest/project4/x2apic_traps.S
KTEST_SRCS += tests/kernel/test_project4_x2apic.c

# The x2APIC benchmark: the same busy gKeOS with and without the x2APIC, side
# by side: exits per second spent on timer ticks and the guest's tick jitter.
# Printed, never asserted; check-project4 runs it too (a few seconds).
.PHONY: bench-x2apic
bench-x2apic: $(BUILD)/keos-test.elf $(BUILD)/disk/project4.img
	$(Q)cp $(BUILD)/disk/project4.img $(BUILD)/disk/project4-x2apic-bench.img
	$(Q)QEMU_ARGS="$(P4_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 300 \
		--drive $(BUILD)/disk/project4-x2apic-bench.img --append "test=project4bench_x2apic" \
		--log $(BUILD)/project4-x2apic-bench.log $(BUILD)/keos-test.elf
	$(Q)tr -d '\r' <$(BUILD)/project4-x2apic-bench.log | grep -E 'x2apic bench'
check-project4: bench-x2apic
