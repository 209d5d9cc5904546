# Storage: the virtio-blk driver, the block cache, the file system at boot,
# their kernel tests and the disk images (keos flat file system, built with
# build/tools/mkfs).
#
#   make check-storage      storage tests in QEMU on a fresh copy of the test
#                           image, the host's byte-for-byte check of what they
#                           wrote, a crash before a flush (on another copy),
#                           then boots on corrupted images
#   make $(BUILD)/disk/project4.img GKEOS=path   gKeOS + disk_file
#   make $(BUILD)/disk/project3.img GKEOS=path   gKeOS alone
#
# An image is rebuilt whenever one of its inputs changes. A run that writes
# to an image must use a copy: check-storage does.
KERNEL_SRCS += keos/dev/virtio_blk.c keos/fs/fs_kernel.c keos/fs/bcache.c keos/fs/bcache_kernel.c
KTEST_SRCS += tests/kernel/test_storage.c tests/kernel/test_storage_cache.c tests/kernel/storage_fixtures.c

STORAGE_DISK := $(BUILD)/disk
STORAGE_FIXTURES := $(addprefix tests/fixtures/storage/,hello.txt lines.txt scratch.txt \
	scratch2.txt scratch3.txt)
# bench.bin: STORAGE_BENCH_SECTORS sectors of 512 bytes, generated (not in
# git); sector s is "bench sector %08d", spaces, a newline, so the kernel can
# check every sector it reads.
STORAGE_BENCH_SECTORS := 8192
# Files of '.' bytes for the block cache tests (tests/kernel/test_storage_cache.c):
# name:bytes.
STORAGE_FILLED := durable.bin:8192 evict.bin:65536 cache1.bin:196608 cache2.bin:196608 crash.bin:131072
KTEST_IMG := $(STORAGE_DISK)/ktest.img

# The image's contents, staged in a directory that holds nothing else (mkfs
# takes every regular file in it).
$(STORAGE_DISK)/ktest.stamp: $(STORAGE_FIXTURES) mk/storage.mk
	@echo "  STAGE   $(STORAGE_DISK)/ktest.files"
	$(Q)rm -rf $(STORAGE_DISK)/ktest.files && mkdir -p $(STORAGE_DISK)/ktest.files
	$(Q)cp $(STORAGE_FIXTURES) $(STORAGE_DISK)/ktest.files/
	$(Q)for ((s = 0; s < $(STORAGE_BENCH_SECTORS); s++)); do \
		printf 'bench sector %08d%490s\n' $$s ''; \
	done >$(STORAGE_DISK)/ktest.files/bench.bin
	$(Q)for f in $(STORAGE_FILLED); do \
		head -c $${f#*:} /dev/zero | tr '\0' . >$(STORAGE_DISK)/ktest.files/$${f%%:*}; \
	done
	$(Q)touch $@

$(KTEST_IMG): $(STORAGE_DISK)/ktest.stamp $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)$(BUILD)/tools/mkfs $@ $(STORAGE_DISK)/ktest.files

# Per-project images. gKeOS is the guest kernel project3 builds; its path is
# a variable so the rule does not care where that build puts it.
GKEOS ?= $(BUILD)/gkeos.elf
PROJECT4_DISK_FILE := tests/fixtures/project4/disk_file

$(STORAGE_DISK)/project4.img: $(GKEOS) $(PROJECT4_DISK_FILE) $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)rm -rf $(@:.img=.files) && mkdir -p $(@:.img=.files)
	$(Q)cp $(GKEOS) $(@:.img=.files)/gKeOS
	$(Q)cp $(PROJECT4_DISK_FILE) $(@:.img=.files)/disk_file
	$(Q)$(BUILD)/tools/mkfs $@ $(@:.img=.files)

$(STORAGE_DISK)/project3.img: $(GKEOS) $(BUILD)/tools/mkfs
	@echo "  MKFS    $@"
	$(Q)rm -rf $(@:.img=.files) && mkdir -p $(@:.img=.files)
	$(Q)cp $(GKEOS) $(@:.img=.files)/gKeOS
	$(Q)$(BUILD)/tools/mkfs $@ $(@:.img=.files)

# The kernel suite's memory size, as check-kernel boots it.
STORAGE_QEMU_ARGS = $(subst -m $(QEMU_MEM),-m $(KTEST_QEMU_MEM),$(QEMU_ARGS))

.PHONY: check-storage
KERNEL_CHECKS += check-storage
check-storage: $(BUILD)/keos-test.elf $(KTEST_IMG) $(BUILD)/tools/fsutil
	$(Q)cp $(KTEST_IMG) $(STORAGE_DISK)/ktest-run.img
	$(Q)QEMU_ARGS="$(STORAGE_QEMU_ARGS)" bash tools/run_kernel_tests.sh --timeout 180 \
		--drive $(STORAGE_DISK)/ktest-run.img --append "test=storage_*" \
		--log $(STORAGE_DISK)/ktest-run.log $(BUILD)/keos-test.elf
	$(Q)bash tools/check_storage_image.sh written $(BUILD) $(KTEST_IMG) $(STORAGE_DISK)/ktest-run.img
	$(Q)QEMU_ARGS="$(STORAGE_QEMU_ARGS)" bash tools/check_storage_image.sh crash $(BUILD) \
		$(KTEST_IMG) $(BUILD)/keos-test.elf
	$(Q)QEMU_ARGS="$(STORAGE_QEMU_ARGS)" bash tools/check_storage_image.sh corrupt $(BUILD) \
		$(KTEST_IMG) $(BUILD)/keos-test.elf
