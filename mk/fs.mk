# The flat file system (keos/fs), its block cache and its host image tools.
KERNEL_SRCS += keos/fs/fs.c

HOST_TESTS += test_fs test_bcache
test_fs_SRCS := tests/host/test_fs.c keos/fs/fs.c
# The block cache with its host environment; the spinlocks come from the shim.
test_bcache_SRCS := tests/host/test_bcache.c keos/fs/bcache.c keos/fs/bcache_host.c keos/fs/fs.c \
	tests/host/keos_host_shim.c

TOOLS += mkfs fsutil
mkfs_SRCS := tools/mkfs.c tools/image_blockdev.c keos/fs/fs.c
fsutil_SRCS := tools/fsutil.c tools/image_blockdev.c keos/fs/fs.c

HOST_SHELL_TESTS += tests/host/test_fs_tools.sh
HOST_SHELL_DEPS += $(BUILD)/tools/mkfs $(BUILD)/tools/fsutil
