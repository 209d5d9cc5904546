/* Building a keos VM: open the image, validate it with the pager, create a
 * VM whose RAM is loaded lazily, add the #NPF controller (lazy paging, then
 * devices), write the multiboot information and set vCPU 0 to the state a
 * multiboot loader hands over. The VM's reports name guest addresses with
 * gKeOS's own symbol table (vm->describe_rip). */
#include "project3/keos_vm/keos_vm.h"
#include "keos/boot/multiboot.h"
#include "keos/fs/fs.h"
#include "keos/lib/format.h"
#include "keos/mm/kmalloc.h"
#include "keos/thread/thread.h"
#include "kev/vcpu.h"
#include "kev/vm.h"

static int read_image(void *ctx, uint64_t off, void *buf, size_t len)
{
	return file_read(ctx, off, buf, len) == (int64_t)len ? 0 : -1;
}

/* vm->describe_rip: the gKeOS function holding rip. */
static bool describe_rip(struct vm *vm, uint64_t rip, char *buf, size_t size)
{
	struct keos_vm *k = vm->describe_ctx;
	char name[64];
	uint64_t off;
	if (!elf_symbol_at(read_image, k->image, file_size(k->image), rip, name, sizeof(name), &off))
		return false;
	ksnprintf(buf, size, "%s+0x%lx", name, off);
	return true;
}

struct keos_vm *keos_vm_create(const struct keos_vm_config *cfg, char *why, size_t why_size)
{
	if (cfg->ram_kib == 0 || cfg->ram_kib > KEV_MAX_RAM / 1024) {
		ksnprintf(why, why_size, "%lu KiB of guest RAM: a VM has 1 to %llu KiB (3 GiB; devices sit above)",
		          cfg->ram_kib, KEV_MAX_RAM / 1024);
		return NULL;
	}
	struct file *image = fs_open(cfg->image);
	if (!image) {
		ksnprintf(why, why_size, "no file '%s' in the host file system", cfg->image);
		return NULL;
	}
	enum pager_error perr;
	enum elf_error eerr;
	struct kernel_vm_pager *pager = kernel_vm_pager_from_image(image, cfg->ram_kib, &perr, &eerr);
	if (!pager) {
		ksnprintf(why, why_size, "%s: %s%s%s", cfg->image, pager_strerror(perr),
		          perr == PAGER_ERR_ELF ? ": " : "", perr == PAGER_ERR_ELF ? elf_strerror(eerr) : "");
		return NULL;
	}
	struct keos_vm *k = kzalloc(sizeof(*k));
	struct vm *vm = k ? vm_create_lazy(cfg->nvcpus, cfg->ram_kib * 1024) : NULL;
	if (!vm) {
		ksnprintf(why, why_size, "out of memory for a VM with %lu KiB and %u vCPUs",
		          cfg->ram_kib, cfg->nvcpus);
		kfree(k);
		pager_free(pager);
		return NULL;
	}
	k->vm = vm;
	k->pager = pager;
	k->image = image;
	vm->describe_rip = describe_rip;
	vm->describe_ctx = k;
	k->created_tick = timer_ticks();
	pager_attach(pager, vm);
	mmio_ctl_init(&k->mmio);
	vm->mmio_ctl = &k->mmio;
	npf_controller_init(&k->npf, pager, &k->mmio);
	if (!vm_add_controller(vm, &k->npf.ctl) || !pager_write_multiboot(pager, cfg->cmdline)) {
		ksnprintf(why, why_size, "cannot set up the guest (command line too long or out of memory)");
		keos_vm_destroy(k);
		return NULL;
	}
	vcpu_set_protected_mode(vm->vcpus[0], pager_entry(pager), MULTIBOOT_BOOTLOADER_MAGIC,
	                        (uint32_t)PAGER_MULTIBOOT_GPA);
	if (cfg->timeout_ticks)
		vm_set_timeout(vm, cfg->timeout_ticks);
	return k;
}

bool keos_vm_start(struct keos_vm *k)
{
	return vm_run(k->vm);
}

int keos_vm_join(struct keos_vm *k)
{
	return vm_join(k->vm);
}

void keos_vm_destroy(struct keos_vm *k)
{
	vm_destroy(k->vm);
	pager_free(k->pager);
	kfree(k);
}
