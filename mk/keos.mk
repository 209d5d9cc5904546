# keos: the kernel library.
KERNEL_SRCS += keos/arch/boot.S keos/arch/trampoline.S keos/arch/vectors.S \
	keos/arch/start.c keos/arch/guest.c keos/arch/cpu.c keos/arch/trap.c keos/arch/smp.c \
	keos/thread/switch.S keos/thread/thread.c keos/sync/spinlock.c keos/sync/mutex.c \
	keos/dev/serial.c keos/dev/qemu_exit.c keos/dev/lapic.c keos/dev/pit.c \
	keos/dev/acpi.c keos/dev/pci.c keos/dev/x2apic_timer.c \
	keos/mm/page_pool.c keos/mm/palloc.c keos/mm/kmalloc.c keos/mm/mm_init.c \
	keos/lib/string.c keos/lib/format.c keos/lib/console.c keos/lib/ksyms.c \
	keos/lib/backtrace.c

# High-resolution timers on the TSC (the scheduler tick shares their one-shot
# local APIC interrupt), and the host test of their per-CPU list.
KERNEL_SRCS += keos/thread/hrtimer.c keos/thread/hrtimer_list.c
HOST_TESTS += test_hrtimer_list
test_hrtimer_list_SRCS := tests/host/test_hrtimer_list.c keos/thread/hrtimer_list.c
KTEST_SRCS += tests/kernel/test_kev_hrtimer.c
