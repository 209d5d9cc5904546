# project3: the guest kernel image loader (ELF), the lazy pager.
KERNEL_SRCS += project3/keos_vm/elf.c

HOST_TESTS += test_elf
test_elf_SRCS := tests/host/test_elf.c project3/keos_vm/elf.c
