/*
 * vipt_kernel.h - kernel names over the vipt C API.
 *
 * Lets code written the way arch/parisc and mm/ write it compile against libvipt
 * with few edits: pte_t and its accessors, the _PAGE_* flags, swap and file
 * entries, translation_exists. Hand-written; grows with the API.
 *
 * The layout follows CONFIG_64BIT as in the kernel: define it before including
 * this header for the 64-bit (3-level) layout; the default is the 32-bit one.
 *
 * Where the kernel's macros would silently drop bits (a pfn, swap offset or pgoff
 * too wide for the layout), these report the error and call VIPT_BUG(), which
 * prints the library's message and aborts unless the includer defines its own.
 */
#ifndef VIPT_KERNEL_H
#define VIPT_KERNEL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vipt.h"

#ifdef CONFIG_64BIT
#define VIPT_KERNEL_LAYOUT	VIPT_LAYOUT_64
#define BITS_PER_LONG		64
#else
#define VIPT_KERNEL_LAYOUT	VIPT_LAYOUT_32
#define BITS_PER_LONG		32
#endif

#ifndef VIPT_BUG
static inline void vipt_kernel_bug(const char *file, int line)
{
	fprintf(stderr, "kernel BUG at %s:%d: %s\n", file, line, vipt_last_error());
	abort();
}
#define VIPT_BUG()	vipt_kernel_bug(__FILE__, __LINE__)
#endif

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define __PAGE_OFFSET		0x10000000UL

#define _PAGE_READ		VIPT_PAGE_READ
#define _PAGE_WRITE		VIPT_PAGE_WRITE
#define _PAGE_EXEC		VIPT_PAGE_EXEC
#define _PAGE_GATEWAY		VIPT_PAGE_GATEWAY
#define _PAGE_DMB		VIPT_PAGE_DMB
#define _PAGE_DIRTY		VIPT_PAGE_DIRTY
#define _PAGE_FILE		VIPT_PAGE_FILE
#define _PAGE_REFTRAP		VIPT_PAGE_REFTRAP
#define _PAGE_NO_CACHE		VIPT_PAGE_NO_CACHE
#define _PAGE_ACCESSED		VIPT_PAGE_ACCESSED
#define _PAGE_PRESENT		VIPT_PAGE_PRESENT
#define _PAGE_FLUSH		VIPT_PAGE_FLUSH
#define _PAGE_USER		VIPT_PAGE_USER
#define _PAGE_RW		VIPT_PAGE_RW
#define _PAGE_TABLE		VIPT_PAGE_TABLE
#define _PAGE_KERNEL		VIPT_PAGE_KERNEL

/* A pte value is 64 bits wide here in both layouts; the 32-bit layout keeps it below 2^32. */
typedef struct { uint64_t pte; } pte_t;
typedef struct { uint64_t pgprot; } pgprot_t;
typedef struct { uint64_t val; } swp_entry_t;

#define pte_val(x)		((x).pte)
#define __pte(x)		((pte_t) { (x) })
#define pgprot_val(x)		((x).pgprot)
#define __pgprot(x)		((pgprot_t) { (x) })

#define PAGE_NONE		__pgprot(VIPT_PAGE_NONE)
#define PAGE_SHARED		__pgprot(VIPT_PAGE_SHARED)
#define PAGE_READONLY		__pgprot(VIPT_PAGE_READONLY)
#define PAGE_COPY		__pgprot(VIPT_PAGE_COPY)
#define PAGE_RWX		__pgprot(VIPT_PAGE_RWX)
#define PAGE_KERNEL		__pgprot(VIPT_PAGE_KERNEL)

#define pte_none(x)		vipt_pte_none(pte_val(x))
#define pte_present(x)		vipt_pte_present(pte_val(x))
#define pte_file(x)		vipt_pte_file(pte_val(x))
#define pte_pfn(x)		vipt_pte_pfn(pte_val(x))
#define pte_young(x)		vipt_pte_young(pte_val(x))
#define pte_dirty(x)		vipt_pte_dirty(pte_val(x))
#define pte_write(x)		vipt_pte_write(pte_val(x))
#define pte_read(x)		vipt_pte_read(pte_val(x))
#define pte_exec(x)		vipt_pte_exec(pte_val(x))
#define pte_same(a, b)		(pte_val(a) == pte_val(b))

static inline pte_t vipt_kernel_pte_mk(pte_t pte, enum vipt_pte_op op)
{
	uint64_t v;

	if (vipt_pte_mk(pte_val(pte), op, &v))
		VIPT_BUG();
	return __pte(v);
}

#define pte_mkclean(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKCLEAN)
#define pte_mkdirty(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKDIRTY)
#define pte_mkold(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKOLD)
#define pte_mkyoung(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKYOUNG)
#define pte_wrprotect(x)	vipt_kernel_pte_mk((x), VIPT_PTE_WRPROTECT)
#define pte_mkwrite(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKWRITE)
#define pte_mkexec(x)		vipt_kernel_pte_mk((x), VIPT_PTE_MKEXEC)

static inline pte_t pte_modify(pte_t pte, pgprot_t newprot)
{
	uint64_t v;

	if (vipt_pte_modify(pte_val(pte), pgprot_val(newprot), &v))
		VIPT_BUG();
	return __pte(v);
}

static inline pte_t pfn_pte(unsigned long pfn, pgprot_t prot)
{
	uint64_t v;

	if (vipt_pfn_pte(VIPT_KERNEL_LAYOUT, pfn, pgprot_val(prot), &v))
		VIPT_BUG();
	return __pte(v);
}

/* mk_pte takes a struct page in the kernel; until pages exist here, a pfn. */
#define mk_pte_pfn(pfn, prot)	pfn_pte((pfn), (prot))

#define __swp_type(x)		vipt_swp_type((x).val)
#define __swp_offset(x)		vipt_swp_offset((x).val)
#define __pte_to_swp_entry(pte)	((swp_entry_t) { pte_val(pte) })
#define __swp_entry_to_pte(x)	((pte_t) { (x).val })

static inline swp_entry_t __swp_entry(unsigned long type, unsigned long offset)
{
	uint64_t v;

	if (vipt_swp_entry(VIPT_KERNEL_LAYOUT, type, offset, &v))
		VIPT_BUG();
	return (swp_entry_t) { v };
}

#define PTE_FILE_MAX_BITS	(BITS_PER_LONG - 11)
#define pte_to_pgoff(pte)	vipt_pte_to_pgoff(pte_val(pte))

static inline pte_t pgoff_to_pte(unsigned long off)
{
	uint64_t v;

	if (vipt_pgoff_to_pte(VIPT_KERNEL_LAYOUT, off, &v))
		VIPT_BUG();
	return __pte(v);
}

/*
 * translation_exists: the pte walk is the mm layer's; these judge the pte it
 * found, as the two versions around the October 2005 patch did.
 */
#define translation_exists_legacy_2005(pte, pfn) \
	vipt_translation_exists_legacy_2005(pte_val(pte), (pfn))
#define translation_exists_patched_2005(pte, pfn) \
	vipt_translation_exists_patched_2005(pte_val(pte), (pfn))


/*
 * ---- flush_dcache_page and the mm it walks ----
 *
 * A strategy is written as the kernel writes flush_dcache_page, inside
 *
 *	VIPT_FLUSH_DCACHE_PAGE(my_flush_dcache_page)
 *	{
 *		struct address_space *mapping = page_mapping(page);
 *		...
 *	}
 *
 * which defines `int my_flush_dcache_page(struct vipt_kcpu *, struct vipt_page *,
 * void *)`, the function to give vipt_strategy_register(). In its body `page` is
 * the page and `vipt_cpu` the CPU it runs on; the kernel names below use that
 * `vipt_cpu` as the kernel's functions use `current`.
 *
 * Errors need no checking, as in the kernel: the first failing operation makes
 * every later one a no-op and becomes the strategy's result (see vipt.h).
 *
 * Edits from the 2.6.14 text: `page->index` is `page_index(page)` (a read of
 * the model's page, so it happens where the kernel reads it), and
 * vma_prio_tree_foreach takes the mapping rather than `&mapping->i_mmap`.
 */
struct address_space;			/* a struct vipt_mapping handle, never dereferenced */
#define vm_area_struct		vipt_vm_area	/* vma->vm_start, vm_end, vm_pgoff, vm_flags */
#define prio_tree_iter		vipt_prio_tree_iter

/* struct page: the handle, and a flags word for set_bit(nr, &page->flags) to name. */
struct page {
	struct vipt_page *vipt_handle;
	unsigned long flags;
};

#define VM_EXEC			VIPT_VM_EXEC
#define VM_SHARED		VIPT_VM_SHARED
#define VM_MAYSHARE		VIPT_VM_MAYSHARE
#define VM_NONLINEAR		VIPT_VM_NONLINEAR
#define PG_locked		VIPT_PG_LOCKED
#define PG_dirty		VIPT_PG_DIRTY
#define PG_arch_1		VIPT_PG_DCACHE_DIRTY
#define PG_dcache_dirty		VIPT_PG_DCACHE_DIRTY
#define PG_swapcache		VIPT_PG_SWAPCACHE
#define SHMLBA			VIPT_SHM_COLOUR
#define SHM_COLOUR		VIPT_SHM_COLOUR
#define PAGE_MASK		(~(PAGE_SIZE - 1))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define VIPT_FLUSH_DCACHE_PAGE(fn)						\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct page *page __attribute__((unused)));	\
	static int fn(struct vipt_kcpu *vipt_cpu, struct vipt_page *vpage,	\
		      void *arg)						\
	{									\
		struct page pg = { .vipt_handle = vpage, .flags = 0 };		\
		(void)arg;							\
		fn##_body(vipt_cpu, &pg);					\
		return 0;							\
	}									\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct page *page __attribute__((unused)))

static inline unsigned long page_to_pfn(const struct page *page)
{
	uint64_t pfn = 0;

	if (vipt_page_pfn(page->vipt_handle, &pfn))
		VIPT_BUG();
	return pfn;
}

#define page_to_phys(page)	((uint64_t)page_to_pfn(page) << PAGE_SHIFT)

static inline struct address_space *__vipt_page_mapping(struct vipt_kcpu *cpu,
							 const struct page *page)
{
	struct vipt_mapping *m = NULL;

	vipt_page_mapping(cpu, page->vipt_handle, &m);
	return (struct address_space *)m;
}
#define page_mapping(page)	__vipt_page_mapping(vipt_cpu, (page))

#define __vipt_mapping(m)	((struct vipt_mapping *)(m))
#define mapping_mapped(m)	(vipt_mapping_mapped(vipt_cpu, __vipt_mapping(m)) > 0)

static inline unsigned long __vipt_page_index(struct vipt_kcpu *cpu, const struct page *page)
{
	uint64_t index = 0;

	vipt_page_index(cpu, page->vipt_handle, &index);
	return index;
}
#define page_index(page)	__vipt_page_index(vipt_cpu, (page))

#define __vipt_flags_page(addr)	(container_of((addr), struct page, flags)->vipt_handle)
#define set_bit(nr, addr)	vipt_page_set_bit(vipt_cpu, __vipt_flags_page(addr), (nr))
#define test_bit(nr, addr)	(vipt_page_test_bit(vipt_cpu, __vipt_flags_page(addr), (nr)) > 0)

/* The kernel alias: page_address(page) is only ever flushed here. */
#define page_address(page)	(page)
#define flush_kernel_dcache_page(kaddr) \
	vipt_flush_kernel_dcache_page(vipt_cpu, (kaddr)->vipt_handle)

#define flush_dcache_mmap_lock(m)	vipt_flush_dcache_mmap_lock(vipt_cpu, __vipt_mapping(m))
#define flush_dcache_mmap_unlock(m)	vipt_flush_dcache_mmap_unlock(vipt_cpu, __vipt_mapping(m))

static inline struct vm_area_struct *__vipt_prio_tree_next(struct vipt_kcpu *cpu,
							     struct prio_tree_iter *iter)
{
	return vipt_vma_prio_tree_next(cpu, iter) > 0 ? &iter->vma : NULL;
}
#define vma_prio_tree_foreach(vma, iter, mapping, begin, end)			\
	for (vipt_prio_tree_iter_init((iter), __vipt_mapping(mapping), (begin), (end)); \
	     ((vma) = __vipt_prio_tree_next(vipt_cpu, (iter))) != NULL; )

/* The 2.6.15 translation_exists(v, addr, pfn), and the 2.6.14 one with its
 * caller's pte_pfn comparison. */
#define translation_exists(v, addr, pfn) \
	(vipt_translation_exists(vipt_cpu, (v)->vma, (addr), (pfn)) > 0)
#define translation_exists_2614(v, addr, pfn) \
	(vipt_translation_exists_legacy(vipt_cpu, (v)->vma, (addr), (pfn)) > 0)

#define __flush_cache_page(v, addr)	vipt___flush_cache_page(vipt_cpu, (v)->vma, (addr))
#define flush_dcache_page_asm(phys, vaddr) \
	vipt_flush_dcache_page_asm(vipt_cpu, vipt_pfn_to_page((phys) >> PAGE_SHIFT), (vaddr))
#define flush_tlb_page(v, addr)	vipt_flush_tlb_page(vipt_cpu, (v)->vma, (addr))
/* The kernel alias's TLB entry purged on every CPU, and the tmpalias flush at
 * the kernel address's colour (flush_dcache_page_asm(__pa(kaddr), kaddr)):
 * the pieces of 3.x's and 6.10's flush_kernel_dcache_page_addr. */
#define pdtlb_kernel(kaddr)	vipt_pdtlb_kernel(vipt_cpu, (kaddr)->vipt_handle)
#define flush_dcache_page_asm_kernel(kaddr) \
	vipt_flush_dcache_page_asm_kernel(vipt_cpu, (kaddr)->vipt_handle)

/*
 * Arch hooks in C (vipt_arch_new, vipt_arch_set_hook, vipt_scenario_new_arch):
 *
 *	VIPT_ARCH_HOOK(my_ptep_clear_flush)
 *	{
 *		pte_t old = ptep_get_and_clear(vma->vm_mm, addr, ptep);
 *		...
 *		return pte_val(old);
 *	}
 *	vipt_arch_set_hook(a, "ptep_clear_flush", my_ptep_clear_flush, NULL);
 *
 * The body sees the hook's arguments under their kernel names (vma, mm, page,
 * src, addr, end, pte, value, fullmm, and ptep, which points at a copy of pte);
 * those the hook does not take are NULL or 0. It returns the hook's value:
 * the old pte's pte_val for ptep_get_and_clear and ptep_clear_flush, the word
 * for copy_from_user_page, 0 for the rest.
 */
/* The body's parameters: the hook's arguments under their kernel names. */
#define __VIPT_ARCH_HOOK_PARAMS							\
		struct vipt_kcpu *vipt_cpu,					\
		struct vm_area_struct *vma __attribute__((unused)),		\
		struct vipt_mm_struct *mm __attribute__((unused)),			\
		struct page *page __attribute__((unused)),			\
		struct page *src __attribute__((unused)),			\
		unsigned long addr __attribute__((unused)),			\
		unsigned long end __attribute__((unused)),			\
		pte_t pte __attribute__((unused)),				\
		uint64_t value __attribute__((unused)),				\
		int fullmm __attribute__((unused)),				\
		pte_t *ptep __attribute__((unused))

#define VIPT_ARCH_HOOK(fn)							\
	static uint64_t fn##_body(__VIPT_ARCH_HOOK_PARAMS);				\
	static int fn(struct vipt_kcpu *vipt_cpu, const struct vipt_hook_args *a, \
		      uint64_t *ret, void *arg)					\
	{									\
		struct vm_area_struct v = a->vma;				\
		struct page pg = { .vipt_handle = a->page, .flags = 0 };	\
		struct page sp = { .vipt_handle = a->src, .flags = 0 };		\
		pte_t p = __pte(a->pte);					\
		(void)arg;							\
		*ret = fn##_body(vipt_cpu, a->vma.vma ? &v : NULL,		\
				 a->mm ? a->mm : a->vma.vm_mm,			\
				 a->page ? &pg : NULL, a->src ? &sp : NULL,	\
				 a->addr, a->end, p, a->value, (int)a->fullmm, &p); \
		return 0;							\
	}									\
	static uint64_t fn##_body(__VIPT_ARCH_HOOK_PARAMS)

/* Another hook of the world's arch (the C ones included), from inside a hook. */
static inline uint64_t __vipt_arch(struct vipt_kcpu *cpu, const char *hook,
				   struct vm_area_struct *vma, struct vipt_mm_struct *mm,
				   unsigned long addr, uint64_t pte)
{
	struct vipt_hook_args a;
	uint64_t v = 0;

	memset(&a, 0, sizeof(a));
	if (vma)
		a.vma = *vma;
	a.mm = mm;
	a.addr = addr;
	a.pte = pte;
	vipt_arch_call(cpu, hook, &a, &v);
	return v;
}
#define ptep_get_and_clear(m, addr, ptep) \
	__pte(__vipt_arch(vipt_cpu, "ptep_get_and_clear", NULL, (m), (addr), 0))
#define set_pte_at(m, addr, ptep, pteval) \
	((void)__vipt_arch(vipt_cpu, "set_pte_at", NULL, (m), (addr), pte_val(pteval)))
#define pfn_valid(pfn)		(vipt_pfn_valid(vipt_cpu, (pfn)) > 0)
#define PFN_PHYS(pfn)		((uint64_t)(pfn) << PAGE_SHIFT)

/* The pte lock of addr in the vma's mm (spin_lock(pte_lockptr(mm, pmd))). */
#define pte_lock(v, addr)	vipt_pte_lock(vipt_cpu, (v)->vma, (addr))
#define pte_unlock(v, addr)	vipt_pte_unlock(vipt_cpu, (v)->vma, (addr))

/* printk(KERN_ERR "INEQUIVALENT ALIASES ...") as the model records it. */
#define report_inequivalent_aliases(v, first, second) \
	vipt_report_inequivalent_aliases(vipt_cpu, (v)->vma, (first), (second))


/*
 * The page-table walk and the kernel locks, in the kernel's words:
 *
 *	pgd_t *pgd = pgd_offset(vma->vm_mm, addr);
 *	if (pgd_none(*pgd)) return 0;
 *	pmd_t *pmd = pmd_offset(pgd, addr);
 *	if (pmd_none(*pmd) || pmd_bad(*pmd)) return 0;
 *	pte = *pte_offset_map(pmd, addr);
 *
 *	spinlock_t *ptl = pte_lockptr(vma->vm_mm, pmd);
 *	spin_lock(ptl); ... spin_unlock(ptl);
 *
 * The directory levels are read without a scheduling point (the model never
 * frees a page table while its mm lives, which the lockless walk relies on);
 * the pte read is one. pgd_t and pmd_t hold what the walk needs, not 2.6.14
 * directory words; pmd_bad is never true of the model's tables.
 */
#define mm_struct		vipt_mm_struct	/* struct mm_struct *mm = vma->vm_mm */

typedef struct { struct vipt_mm_struct *mm; unsigned long addr; int present; } pgd_t;
typedef struct { struct vipt_mm_struct *mm; unsigned long addr; int present; } pmd_t;

#define pgd_offset(m, a)	(&(pgd_t){ (m), (a), vipt_pgd_present(vipt_cpu, (m), (a)) > 0 })
#define pgd_none(pgd)		(!(pgd).present)
#define pgd_bad(pgd)		0
#define pmd_offset(pgd, a)	(&(pmd_t){ (pgd)->mm, (a), vipt_pmd_present(vipt_cpu, (pgd)->mm, (a)) > 0 })
#define pmd_none(pmd)		(!(pmd).present)
#define pmd_bad(pmd)		0

static inline pte_t __vipt_pte_offset_map(struct vipt_kcpu *cpu, const pmd_t *pmd, unsigned long a)
{
	uint64_t v = 0;

	vipt_pte_offset_map(cpu, pmd->mm, a, &v);
	return __pte(v);
}
#define pte_offset_map(pmd, a)	(&(pte_t){ __vipt_pte_offset_map(vipt_cpu, (pmd), (a)).pte })
#define pte_unmap(pte)		((void)(pte))

/* A model lock, named by what it belongs to; spin_lock reports the caller. */
typedef struct vipt_lock_ref spinlock_t;
#define pte_lockptr(m, pmd)	(&(spinlock_t){ VIPT_LOCK_PTE, (void *)(m), (pmd)->addr })
#define i_mmap_lock_of(mapping)	(&(spinlock_t){ VIPT_LOCK_I_MMAP, (void *)(mapping), 0 })
#define spin_lock(l)		vipt_spin_lock(vipt_cpu, (l), __func__)
#define spin_unlock(l)		vipt_spin_unlock(vipt_cpu, (l), __func__)

#endif /* VIPT_KERNEL_H */
