# The flat file system (keos/fs) and its host image tools.
KERNEL_SRCS += keos/fs/fs.c

HOST_TESTS += test_fs
test_fs_SRCS := tests/host/test_fs.c keos/fs/fs.c

TOOLS += mkfs fsutil
mkfs_SRCS := tools/mkfs.c tools/image_blockdev.c keos/fs/fs.c
fsutil_SRCS := tools/fsutil.c tools/image_blockdev.c keos/fs/fs.c

HOST_SHELL_TESTS += tests/host/test_fs_tools.sh
HOST_SHELL_DEPS += $(BUILD)/tools/mkfs $(BUILD)/tools/fsutil
