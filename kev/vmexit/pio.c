/* The port I/O controller: a table of emulated ports.
 *
 *   0x3f8-0x3ff  COM1. A byte written to the data register (DLAB clear) goes
 *                to the VM's console: it is kept in the VM's capture buffer
 *                (vm_console(), for tests) and printed on the host console a
 *                whole line at a time, "[guest N] " first, so host and guest
 *                output never mix mid-line. The host console shows what the
 *                VM's guest-line budget allows (kev/console_limit.h: a burst,
 *                then so many lines a second, and notices of how many were
 *                dropped); the capture does not depend on it. The line-status
 *                register always answers "transmitter empty" (0x60); nothing
 *                is ever received. The PUTS hypercall prints the same way.
 *   0xcf8-0xcff  PCI configuration: the address register is kept, data reads
 *                all ones (no device). 0x70-0x71 CMOS: every register reads 0.
 *   0xf4, 0x604  The exit ports (keos's isa-debug-exit, and KeV's): OUT ends
 *                the VM with the value written as its status.
 *
 * Any other port, and string I/O (INS/OUTS), is passed on. The IOIO exit
 * tells where the next instruction starts (exit_info_2), so RIP moves there. */
#include "kev/vmexit.h"
#include "kev/vcpu.h"
#include "kev/vm.h"
#include "kev/vmcb.h"
#include "keos/lib/printk.h"
#include "keos/sync/spinlock.h"

#define UART_DATA 0
#define UART_IIR  2
#define UART_LCR  3
#define UART_LSR  5
#define UART_MSR  6
#define LCR_DLAB  0x80
#define LSR_TX_EMPTY 0x60     /* THR empty, transmitter idle */
#define IIR_NO_INTERRUPT 0x01
#define MSR_CTS_DSR_DCD 0xb0

struct pio_port {
	uint16_t first, last;
	const char *name;
	/* IN: the value read (low size bytes are used). */
	uint32_t (*in)(struct vcpu *v, uint16_t port, unsigned size);
	/* OUT: RESUME, or STOP after ending the VM. */
	enum vmexit_verdict (*out)(struct vcpu *v, uint16_t port, unsigned size, uint32_t value);
};

/* --- the console ---------------------------------------------------------------- */

/* Prints the pending line if the VM's guest-line budget allows; the caller
 * holds vm->lock. The line is the guest's, not host code's, so it goes past
 * the vCPU thread's console hook. */
static void flush_line(struct vm *vm)
{
	struct vm_serial *s = &vm->serial;
	if (!s->line_len)
		return;
	s->line[s->line_len] = '\0';
	if (kev_console_guest_line(vm))
		printk_unhooked("[guest %d] %s\n", vm->id, s->line);
	s->line_len = 0;
}

void pio_serial_write(struct vm *vm, const char *bytes, size_t len)
{
	struct vm_serial *s = &vm->serial;
	spin_lock(&vm->lock);
	for (size_t i = 0; i < len; i++) {
		char c = bytes[i];
		if (s->capture_len + 1 < KEV_SERIAL_CAPTURE)
			s->capture[s->capture_len++] = c;
		else
			s->capture_full = true;
		if (c == '\n')
			flush_line(vm);
		else if (c != '\r') {
			s->line[s->line_len++] = c;
			if (s->line_len == KEV_SERIAL_LINE)
				flush_line(vm);
		}
	}
	s->capture[s->capture_len] = '\0';
	spin_unlock(&vm->lock);
}

void pio_serial_flush(struct vm *vm)
{
	spin_lock(&vm->lock);
	flush_line(vm);
	spin_unlock(&vm->lock);
	kev_console_flush_notices(vm);
}

static uint32_t com1_in(struct vcpu *v, uint16_t port, unsigned size)
{
	(void)size;
	switch (port - PIO_COM1) {
	case UART_IIR: return IIR_NO_INTERRUPT;
	case UART_LCR: return v->vm->serial.lcr;
	case UART_LSR: return LSR_TX_EMPTY;
	case UART_MSR: return MSR_CTS_DSR_DCD;
	default: return 0;
	}
}

static enum vmexit_verdict com1_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	(void)size;
	struct vm *vm = v->vm;
	switch (port - PIO_COM1) {
	case UART_DATA:
		if (!(vm->serial.lcr & LCR_DLAB)) {
			char c = (char)value;
			pio_serial_write(vm, &c, 1);
		}
		break;
	case UART_LCR:
		vm->serial.lcr = (uint8_t)value;
		break;
	default:
		break;   /* divisor, FIFO, modem control: nothing to model */
	}
	return VMEXIT_RESUME;
}

/* --- PCI configuration and CMOS: present, but with nothing behind them ------------ */

/* Mechanism #1: the address register keeps what was written (a guest may
 * read it back); the data port reads all ones, PCI's "no device here". */
static uint32_t pci_in(struct vcpu *v, uint16_t port, unsigned size)
{
	if (port == 0xcf8 && size == 4)
		return v->vm->pci_address;
	return 0xffffffffu;
}

static enum vmexit_verdict pci_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	if (port == 0xcf8 && size == 4)
		v->vm->pci_address = value;
	return VMEXIT_RESUME;   /* configuration writes go nowhere */
}

/* The CMOS/RTC index and data ports: the index is kept, every register reads 0. */
static uint32_t cmos_in(struct vcpu *v, uint16_t port, unsigned size)
{
	(void)size;
	return port == 0x70 ? v->vm->cmos_index : 0;
}

static enum vmexit_verdict cmos_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	(void)size;
	if (port == 0x70)
		v->vm->cmos_index = (uint8_t)value;
	return VMEXIT_RESUME;
}

/* --- the exit port ---------------------------------------------------------------- */

static enum vmexit_verdict exit_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t value)
{
	(void)port;
	(void)size;
	vm_exit_with(v->vm, (int)value);
	return VMEXIT_STOP;
}

static const struct pio_port pio_table[] = {
	{ PIO_COM1, PIO_COM1 + 7, "COM1", com1_in, com1_out },
	{ 0xcf8, 0xcff, "PCI configuration", pci_in, pci_out },
	{ 0x70, 0x71, "CMOS", cmos_in, cmos_out },
	{ PIO_EXIT_PORT, PIO_EXIT_PORT + 3, "exit", NULL, exit_out },
	{ PIO_EXIT_PORT_KEV, PIO_EXIT_PORT_KEV + 3, "exit (KeV)", NULL, exit_out },
};

static const struct pio_port *lookup(uint16_t port)
{
	for (size_t i = 0; i < sizeof(pio_table) / sizeof(pio_table[0]); i++)
		if (port >= pio_table[i].first && port <= pio_table[i].last)
			return &pio_table[i];
	return NULL;
}

static enum vmexit_verdict pio_handle(struct vmexit_controller *ctl, struct vcpu *v,
                                      const struct exit_reason *e)
{
	(void)ctl;
	if (e->code != SVM_EXIT_IOIO || e->u.io.string)
		return VMEXIT_PASS;
	const struct pio_port *p = lookup(e->u.io.port);
	if (!p || (e->u.io.in ? !p->in : !p->out))
		return VMEXIT_PASS;
	uint64_t *rax = &v->state.gpr[GPR_RAX];
	unsigned size = e->u.io.size;
	enum vmexit_verdict verdict = VMEXIT_RESUME;
	if (e->u.io.in) {
		uint32_t value = p->in(v, e->u.io.port, size);
		if (size == 4)
			*rax = value;                              /* a 32-bit write clears bits 63:32 */
		else if (size == 2)
			*rax = (*rax & ~0xffffull) | (value & 0xffff);
		else
			*rax = (*rax & ~0xffull) | (value & 0xff);
	} else {
		uint32_t mask = size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;
		verdict = p->out(v, e->u.io.port, size, (uint32_t)*rax & mask);
	}
	v->state.rip = e->u.io.next_rip;
	v->vmcb->control.int_state = 0;
	return verdict;
}

struct vmexit_controller vmexit_pio_controller = { "pio", pio_handle, NULL };
