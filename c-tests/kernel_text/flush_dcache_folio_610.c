/*
 * A flush_dcache_folio written as 6.10's arch/parisc/kernel/cache.c writes it
 * (John David Anglin's 2024 rework: the folio calls, the kernel alias flushed
 * through flush_kernel_dcache_page_addr, i_mmap walked as an interval tree
 * under flush_dcache_mmap_lock_irqsave, the three-argument
 * __flush_cache_page, pr_err's INEQUIVALENT ALIASES, WARN_ON), compiled
 * unchanged but for the wrapper's header line. Our own text, not the
 * kernel's: test_strategies.c runs it against modern.
 */
#include "vipt_kernel.h"
#include "kernel_text.h"

VIPT_FLUSH_DCACHE_FOLIO(flush_dcache_folio_text_610)
{
	struct address_space *mapping = folio_flush_mapping(folio);
	struct vm_area_struct *vma;
	unsigned long addr, old_addr = 0;
	void *kaddr;
	unsigned long count = 0;
	unsigned long i, nr, flags;
	pgoff_t pgoff;

	if (mapping && !mapping_mapped(mapping)) {
		set_bit(PG_dcache_dirty, &folio->flags);
		return;
	}

	nr = folio_nr_pages(folio);
	kaddr = folio_address(folio);
	for (i = 0; i < nr; i++)
		flush_kernel_dcache_page_addr(kaddr + i * PAGE_SIZE);

	if (!mapping)
		return;

	pgoff = folio->index;

	/* Congruent mappings share their lines: one flush per colour. */
	flush_dcache_mmap_lock_irqsave(mapping, flags);
	vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff + nr - 1) {
		unsigned long offset = pgoff - vma->vm_pgoff;
		unsigned long pfn = folio_pfn(folio);

		addr = vma->vm_start;
		nr = folio_nr_pages(folio);
		if (offset > -nr) {
			pfn -= offset;
			nr += offset;
		} else {
			addr += offset * PAGE_SIZE;
		}
		if (addr + nr * PAGE_SIZE > vma->vm_end)
			nr = (vma->vm_end - addr) / PAGE_SIZE;

		if (old_addr == 0 || (old_addr & (SHM_COLOUR - 1))
					!= (addr & (SHM_COLOUR - 1))) {
			for (i = 0; i < nr; i++)
				__flush_cache_page(vma,
					addr + i * PAGE_SIZE,
					(pfn + i) * PAGE_SIZE);
			/* Private mappings may be of any colour. */
			if (!(vma->vm_flags & VM_SHARED))
				continue;
			if (old_addr)
				pr_err("INEQUIVALENT ALIASES 0x%lx and 0x%lx in file %pD\n",
					old_addr, addr, vma->vm_file);
			if (nr == folio_nr_pages(folio))
				old_addr = addr;
		}
		WARN_ON(++count == 4096);
	}
	flush_dcache_mmap_unlock_irqrestore(mapping, flags);
}

const struct c_strategy c_text_610 = {
	.name = "modern",
	.text = "6.10",
	.fn = flush_dcache_folio_text_610,
};
