/* What the boot code hands to the kernel proper. */
#ifndef KEOS_BOOT_BOOT_H
#define KEOS_BOOT_BOOT_H
/* The kernel's entry after boot (keos/main.c, or the test runner); returning ends the machine. */
void keos_main(const char *cmdline);
/* The multiboot command line (empty if none). */
const char *boot_cmdline(void);
#endif
