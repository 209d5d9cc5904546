# project3: the guest kernel image loader (ELF), the lazy pager.
KERNEL_SRCS += project3/keos_vm/elf.c

HOST_TESTS += test_elf
test_elf_SRCS := tests/host/test_elf.c project3/keos_vm/elf.c

# The lazy pager, the #NPF controller, the MMIO printer and the keos VM builder.
KERNEL_SRCS += project3/keos_vm/pager.c project3/keos_vm/keos_vm.c \
	project3/vmexit/mmio.c project3/mmio.c

# Host tests that boot gKeOS (opt-in: project3_*), and the guest tests.
KTEST_SRCS += tests/kernel/guest_harness.c tests/kernel/test_project3.c
GUEST_SRCS += tests/guest/project3/test_guest.c tests/kernel/smp_check.c

# check-project3: every project3_* host test with gKeOS on the disk, then a
# disk whose gKeOS is corrupt (truncated), which must give a clear error.
P3_QEMU_ARGS = $(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))
$(BUILD)/disk/project3-corrupt.img: $(BUILD)/gkeos.elf $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)rm -rf $(@:.img=.files) && mkdir -p $(@:.img=.files)
	$(Q)head -c 3000 $(BUILD)/gkeos.elf > $(@:.img=.files)/gKeOS
	$(Q)$(BUILD)/tools/mkfs $@ $(@:.img=.files)

.PHONY: check-project3
KERNEL_CHECKS += check-project3
check-project3_NEEDS := project3/ept.c
check-project3: $(BUILD)/keos-test.elf $(BUILD)/disk/project3.img $(BUILD)/disk/project3-corrupt.img
	$(Q)cp $(BUILD)/disk/project3.img $(BUILD)/disk/project3-run.img
	$(Q)QEMU_ARGS="$(P3_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 300 \
		--drive $(BUILD)/disk/project3-run.img --append "test=project3_*" \
		--log $(BUILD)/project3.log $(BUILD)/keos-test.elf
	$(Q)QEMU_ARGS="$(P3_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 60 \
		--drive $(BUILD)/disk/project3-corrupt.img --append "test=project3bad_*" \
		--log $(BUILD)/project3-corrupt.log $(BUILD)/keos-test.elf
