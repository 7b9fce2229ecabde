/*
 * vipt_kernel.h - kernel names over the vipt C API.
 *
 * Lets code written the way arch/parisc and mm/ write it compile against libvipt
 * unchanged: pte_t and its accessors, the _PAGE_* flags, swap and file
 * entries, translation_exists, and the names 2.6.14's and 2.6.15's
 * flush_dcache_page and 6.10's flush_dcache_folio use. Hand-written from
 * include/asm-parisc/{pgtable,cacheflush}.h (2.6.14, 2.6.15) and
 * arch/parisc/kernel/cache.c (2.6.14, 2.6.15, 6.10); grows with the API.
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

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/*
 * A pte value is 64 bits wide here in both layouts; the 32-bit layout keeps it
 * below 2^32. __vipt_at is NULL but in the pte 2.6.14's two-argument
 * translation_exists() returns a pointer to: there `*pte` stands for the page
 * table entry itself, and the accessors below (pte_pfn(*pte), ...) read it
 * again, as the kernel's loads through the pointer do. pte_val() is the value
 * translation_exists() read.
 */
struct __vipt_ptep_at;
typedef struct { uint64_t pte; const struct __vipt_ptep_at *__vipt_at; } pte_t;
typedef struct { uint64_t pgprot; } pgprot_t;
typedef struct { uint64_t val; } swp_entry_t;

#define pte_val(x)		((x).pte)
#define __pte(x)		((pte_t) { (x), NULL })
#define pgprot_val(x)		((x).pgprot)
#define __pgprot(x)		((pgprot_t) { (x) })

#define PAGE_NONE		__pgprot(VIPT_PAGE_NONE)
#define PAGE_SHARED		__pgprot(VIPT_PAGE_SHARED)
#define PAGE_READONLY		__pgprot(VIPT_PAGE_READONLY)
#define PAGE_COPY		__pgprot(VIPT_PAGE_COPY)
#define PAGE_RWX		__pgprot(VIPT_PAGE_RWX)
#define PAGE_KERNEL		__pgprot(VIPT_PAGE_KERNEL)

/* Where translation_exists() found it: the CPU, the vma, the address. */
struct __vipt_ptep_at {
	struct vipt_kcpu *cpu;
	const struct vipt_vma *vma;
	uint64_t addr;
};

/* The pte as an accessor sees it: a value, or a load through the pointer. */
static inline uint64_t __vipt_pte_now(pte_t x)
{
	uint64_t v = 0;

	if (!x.__vipt_at)
		return x.pte;
	vipt_translation_exists_reread(x.__vipt_at->cpu, x.__vipt_at->vma, x.__vipt_at->addr, &v);
	return v;
}

#define pte_none(x)		vipt_pte_none(__vipt_pte_now(x))
#define pte_present(x)		vipt_pte_present(__vipt_pte_now(x))
#define pte_file(x)		vipt_pte_file(__vipt_pte_now(x))
#define pte_pfn(x)		vipt_pte_pfn(__vipt_pte_now(x))
#define pte_young(x)		vipt_pte_young(__vipt_pte_now(x))
#define pte_dirty(x)		vipt_pte_dirty(__vipt_pte_now(x))
#define pte_write(x)		vipt_pte_write(__vipt_pte_now(x))
#define pte_read(x)		vipt_pte_read(__vipt_pte_now(x))
#define pte_exec(x)		vipt_pte_exec(__vipt_pte_now(x))
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
#define __swp_entry_to_pte(x)	((pte_t) { (x).val, NULL })

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
 * The kernel's own bodies compile unchanged: the 2.6.14 and 2.6.15
 * flush_dcache_page (page->index, PAGE_CACHE_SHIFT, pgoff_t, &mapping->i_mmap,
 * both translation_exists) and, inside VIPT_FLUSH_DCACHE_FOLIO, 6.10's
 * flush_dcache_folio (the folio calls, flush_kernel_dcache_page_addr,
 * flush_dcache_mmap_lock_irqsave, vma_interval_tree_foreach, the
 * three-argument __flush_cache_page, pr_err, WARN_ON). Where one name meant
 * different things in different kernels, the choice is written beside it.
 * page->index and folio->index are model reads, made where the text makes
 * them: `index` is a macro here (see the end of this header).
 */
typedef unsigned long pgoff_t;
#define PAGE_CACHE_SHIFT	PAGE_SHIFT

/* struct address_space: a struct vipt_mapping handle, never dereferenced;
 * &mapping->i_mmap (at offset 0) is the same handle, as a tree root. */
struct vipt_i_mmap { char __vipt_root; };
struct address_space { struct vipt_i_mmap i_mmap; };
#define vm_area_struct		vipt_vm_area	/* vma->vm_start, vm_end, vm_pgoff, vm_flags, vm_file */
#define prio_tree_iter		vipt_prio_tree_iter

/*
 * struct page and struct folio: the handle, a flags word for
 * set_bit(nr, &page->flags) to name, and the read behind page->index. A folio
 * is one page here (folio_nr_pages() is 1): the model has no large folios.
 */
#define __VIPT_PAGE_MEMBERS						\
	struct vipt_page *vipt_handle;					\
	unsigned long flags;						\
	unsigned long (*__vipt_index)(struct vipt_kcpu *)
struct page { __VIPT_PAGE_MEMBERS; };
struct folio { __VIPT_PAGE_MEMBERS; };

/* The pages whose ->index a body may read: its page or folio, and a hook's src. */
static __thread struct vipt_page *__vipt_index_pages[2] __attribute__((unused));

/* page->index of a page handle: the model's read. */
static inline unsigned long __vipt_index_of(struct vipt_kcpu *cpu, const struct vipt_page *handle)
{
	uint64_t index_ = 0;

	vipt_page_index(cpu, handle, &index_);
	return index_;
}
static inline unsigned long __vipt_read_index0(struct vipt_kcpu *cpu)
{
	return __vipt_index_of(cpu, __vipt_index_pages[0]);
}
static inline unsigned long __vipt_read_index1(struct vipt_kcpu *cpu)
{
	return __vipt_index_of(cpu, __vipt_index_pages[1]);
}

/* A wrapper's call: its pages for ->index set, the caller's put back after. */
struct __vipt_index_scope { struct vipt_page *saved[2]; };

static inline struct __vipt_index_scope __vipt_index_enter(struct vipt_page *page,
							   struct vipt_page *src)
{
	struct __vipt_index_scope s = { { __vipt_index_pages[0], __vipt_index_pages[1] } };

	__vipt_index_pages[0] = page;
	__vipt_index_pages[1] = src;
	return s;
}

static inline void __vipt_index_leave(struct __vipt_index_scope s)
{
	__vipt_index_pages[0] = s.saved[0];
	__vipt_index_pages[1] = s.saved[1];
}

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

/* Calls body(vipt_cpu, &pg) with pg a struct page or folio of vpage. */
#define __VIPT_CALL_BODY(type, body, vipt_cpu, vpage)			\
	do {								\
		type pg_ = { .vipt_handle = (vpage), .flags = 0,	\
			     .__vipt_index = __vipt_read_index0 };	\
		struct __vipt_index_scope scope_ =			\
			__vipt_index_enter((vpage), NULL);		\
									\
		body((vipt_cpu), &pg_);					\
		__vipt_index_leave(scope_);				\
	} while (0)

#define VIPT_FLUSH_DCACHE_PAGE(fn)						\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct page *page __attribute__((unused)));	\
	static int fn(struct vipt_kcpu *vipt_cpu, struct vipt_page *vpage,	\
		      void *arg)						\
	{									\
		(void)arg;							\
		__VIPT_CALL_BODY(struct page, fn##_body, vipt_cpu, vpage);	\
		return 0;							\
	}									\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct page *page __attribute__((unused)))

/* 6.10's flush_dcache_folio(struct folio *folio), registered as a strategy
 * like VIPT_FLUSH_DCACHE_PAGE's (the model flushes one-page folios). */
#define VIPT_FLUSH_DCACHE_FOLIO(fn)						\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct folio *folio __attribute__((unused)));	\
	static int fn(struct vipt_kcpu *vipt_cpu, struct vipt_page *vpage,	\
		      void *arg)						\
	{									\
		(void)arg;							\
		__VIPT_CALL_BODY(struct folio, fn##_body, vipt_cpu, vpage);	\
		return 0;							\
	}									\
	static void fn##_body(struct vipt_kcpu *vipt_cpu __attribute__((unused)), \
			      struct folio *folio __attribute__((unused)))

static inline unsigned long __vipt_pfn(const struct vipt_page *handle)
{
	uint64_t pfn = 0;

	if (vipt_page_pfn(handle, &pfn))
		VIPT_BUG();
	return pfn;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	return __vipt_pfn(page->vipt_handle);
}

#define page_to_phys(page)	((uint64_t)page_to_pfn(page) << PAGE_SHIFT)

static inline struct address_space *__vipt_page_mapping(struct vipt_kcpu *cpu,
							 const struct vipt_page *handle)
{
	struct vipt_mapping *m = NULL;

	vipt_page_mapping(cpu, handle, &m);
	return (struct address_space *)m;
}
#define page_mapping(page)	__vipt_page_mapping(vipt_cpu, (page)->vipt_handle)

#define __vipt_mapping(m)	((struct vipt_mapping *)(m))
/* A tree root: the mapping itself, or &mapping->i_mmap. */
#define __vipt_root(r)								\
	_Generic((r),								\
		 struct vipt_i_mmap *: (struct vipt_mapping *)(void *)(r),	\
		 const struct vipt_i_mmap *: (struct vipt_mapping *)(void *)(r), \
		 default: (struct vipt_mapping *)(r))
#define mapping_mapped(m)	(vipt_mapping_mapped(vipt_cpu, __vipt_mapping(m)) > 0)

#define page_index(page)	__vipt_index_of(vipt_cpu, (page)->vipt_handle)

/* &page->flags and &folio->flags: the two structs share their layout. */
#define __vipt_flags_page(addr)	(container_of((addr), struct page, flags)->vipt_handle)
#define set_bit(nr, addr)	vipt_page_set_bit(vipt_cpu, __vipt_flags_page(addr), (nr))
#define test_bit(nr, addr)	(vipt_page_test_bit(vipt_cpu, __vipt_flags_page(addr), (nr)) > 0)

/*
 * Kernel addresses: page_address(page) is the page's address in the kernel
 * mapping, __PAGE_OFFSET + its physical address, and the calls that flush
 * through the kernel alias take it (or, as 3.x's flush_kernel_dcache_page
 * does, the struct page).
 */
static inline void *__vipt_kva(unsigned long pfn)
{
	return (void *)(uintptr_t)(__PAGE_OFFSET + ((uint64_t)pfn << PAGE_SHIFT));
}

static inline struct vipt_page *__vipt_kva_page(const void *kaddr)
{
	return vipt_pfn_to_page(((uintptr_t)kaddr - __PAGE_OFFSET) >> PAGE_SHIFT);
}

#define __vipt_kaddr_page(k)							\
	_Generic((k),								\
		 struct page *: ((const struct page *)(const void *)(k))->vipt_handle, \
		 const struct page *: ((const struct page *)(const void *)(k))->vipt_handle, \
		 default: __vipt_kva_page((const void *)(k)))

#define page_address(page)	__vipt_kva(page_to_pfn(page))
#define flush_kernel_dcache_page(kaddr) \
	vipt_flush_kernel_dcache_page(vipt_cpu, __vipt_kaddr_page(kaddr))

#define flush_dcache_mmap_lock(m)	vipt_flush_dcache_mmap_lock(vipt_cpu, __vipt_mapping(m))
#define flush_dcache_mmap_unlock(m)	vipt_flush_dcache_mmap_unlock(vipt_cpu, __vipt_mapping(m))
/* 6.10: xa_lock_irqsave(&mapping->i_pages, flags), the model's tree_lock. */
#define flush_dcache_mmap_lock_irqsave(m, fl) \
	do { (fl) = 0; flush_dcache_mmap_lock(m); } while (0)
#define flush_dcache_mmap_unlock_irqrestore(m, fl) \
	do { (void)(fl); flush_dcache_mmap_unlock(m); } while (0)

static inline struct vm_area_struct *__vipt_prio_tree_next(struct vipt_kcpu *cpu,
							     struct prio_tree_iter *iter)
{
	return vipt_vma_prio_tree_next(cpu, iter) > 0 ? &iter->vma : NULL;
}
#define vma_prio_tree_foreach(vma, iter, root, begin, end)			\
	for (vipt_prio_tree_iter_init((iter), __vipt_root(root), (begin), (end)); \
	     ((vma) = __vipt_prio_tree_next(vipt_cpu, (iter))) != NULL; )

static inline struct prio_tree_iter __vipt_iter(struct vipt_mapping *m, unsigned long first,
						unsigned long last)
{
	struct prio_tree_iter it;

	memset(&it, 0, sizeof(it));
	vipt_prio_tree_iter_init(&it, m, first, last);
	return it;
}
/* 6.10's walk of i_mmap (an interval tree there, a prio tree in 2.6.14): the
 * same stabbing query, its iterator hidden. */
#define vma_interval_tree_foreach(vma, root, first, last)			\
	for (struct prio_tree_iter __vipt_it = __vipt_iter(__vipt_root(root), (first), (last)); \
	     ((vma) = __vipt_prio_tree_next(vipt_cpu, &__vipt_it)) != NULL; )

/* The 3rd argument's name by how many there are: __VIPT_BY_ARGS(a, b, THREE, TWO). */
#define __VIPT_ARG4(a, b, c, n, ...)	n

/*
 * translation_exists, by its number of arguments:
 *  - 2.6.15's (v, addr, pfn): 1 if the pte is present or flush-only and maps
 *    pfn, one read;
 *  - 2.6.14's (v, addr): a pte_t * for a pte that is not pte_none (or is
 *    flush-only), NULL for none; the caller's pte_pfn(*pte) reads it again.
 * translation_exists_2614(v, addr, pfn) is 2.6.14's with its caller's pfn test.
 */
static __thread struct { pte_t pte; struct __vipt_ptep_at at; } __vipt_te_slot
	__attribute__((unused));

static inline pte_t *__vipt_te2(struct vipt_kcpu *cpu, const struct vm_area_struct *v,
				unsigned long addr)
{
	uint64_t val = 0;

	if (vipt_translation_exists_ptep(cpu, v->vma, addr, &val) <= 0)
		return NULL;
	__vipt_te_slot.at = (struct __vipt_ptep_at){ cpu, v->vma, addr };
	__vipt_te_slot.pte = (pte_t){ val, &__vipt_te_slot.at };
	return &__vipt_te_slot.pte;
}
#define __vipt_te3(v, addr, pfn) \
	(vipt_translation_exists(vipt_cpu, (v)->vma, (addr), (pfn)) > 0)
#define __vipt_te2_(v, addr)	__vipt_te2(vipt_cpu, (v), (addr))
#define translation_exists(...) \
	__VIPT_ARG4(__VA_ARGS__, __vipt_te3, __vipt_te2_, _)(__VA_ARGS__)
#define translation_exists_2614(v, addr, pfn) \
	(vipt_translation_exists_legacy(vipt_cpu, (v)->vma, (addr), (pfn)) > 0)

#define flush_dcache_page_asm(phys, vaddr) \
	vipt_flush_dcache_page_asm(vipt_cpu, vipt_pfn_to_page((phys) >> PAGE_SHIFT), (vaddr))
#define flush_tlb_page(v, addr)	vipt_flush_tlb_page(vipt_cpu, (v)->vma, (addr))

/*
 * __flush_cache_page, by its number of arguments:
 *  - 2.6.14's and 2.6.15's (v, addr): flush through the user address
 *    (nullified where it has no translation);
 *  - 6.10's (v, addr, physaddr): purge the user TLB entry, then flush physaddr
 *    through tmpalias at addr's colour (3.x's three-argument one did not purge
 *    first). The I-cache flush of a VM_EXEC vma is not modelled.
 */
#define __vipt_fcp2(v, addr)	vipt___flush_cache_page(vipt_cpu, (v)->vma, (addr))
#define __vipt_fcp3(v, addr, phys) \
	((void)(flush_tlb_page((v), (addr)), flush_dcache_page_asm((phys), (addr))))
#define __flush_cache_page(...) \
	__VIPT_ARG4(__VA_ARGS__, __vipt_fcp3, __vipt_fcp2, _)(__VA_ARGS__)

/* The kernel alias's TLB entry purged on every CPU, and the tmpalias flush at
 * the kernel address's colour (flush_dcache_page_asm(__pa(kaddr), kaddr)):
 * the pieces of 3.x's and 6.10's flush_kernel_dcache_page_addr. */
#define pdtlb_kernel(kaddr)	vipt_pdtlb_kernel(vipt_cpu, __vipt_kaddr_page(kaddr))
#define flush_dcache_page_asm_kernel(kaddr) \
	vipt_flush_dcache_page_asm_kernel(vipt_cpu, __vipt_kaddr_page(kaddr))

/* 6.10's flush_kernel_dcache_page_addr(addr): purge, then flush through
 * tmpalias (3.x's flushed through the kernel alias and purged after). */
static inline void __vipt_flush_kernel_dcache_page_addr(struct vipt_kcpu *cpu, const void *kaddr)
{
	vipt_pdtlb_kernel(cpu, __vipt_kva_page(kaddr));
	vipt_flush_dcache_page_asm_kernel(cpu, __vipt_kva_page(kaddr));
}
#define flush_kernel_dcache_page_addr(kaddr) \
	__vipt_flush_kernel_dcache_page_addr(vipt_cpu, (kaddr))

/* The folio calls of a one-page folio. folio_flush_mapping is NULL for a
 * swap-cache folio, as 6.10's is. */
#define folio_nr_pages(f)	((void)(f), 1UL)
#define folio_pfn(f)		__vipt_pfn((f)->vipt_handle)
#define folio_address(f)	__vipt_kva(folio_pfn(f))
#define folio_mapping(f)	__vipt_page_mapping(vipt_cpu, (f)->vipt_handle)
#define folio_flush_mapping(f) \
	(test_bit(PG_swapcache, &(f)->flags) ? NULL : folio_mapping(f))

/* printk's messages the model records: "INEQUIVALENT ALIASES %lx and %lx in
 * file %pD" with vma->vm_file (6.10's pr_err); other messages go to stderr
 * as their format. */
static inline void __vipt_pr_err(struct vipt_kcpu *cpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!strncmp(fmt, "INEQUIVALENT ALIASES", 20)) {
		unsigned long first = va_arg(ap, unsigned long);
		unsigned long second = va_arg(ap, unsigned long);
		struct vipt_kfile *file = va_arg(ap, struct vipt_kfile *);

		vipt_report_inequivalent_aliases_file(cpu, file, first, second);
	} else {
		fprintf(stderr, "pr_err: %s", fmt);
	}
	va_end(ap);
}
#define pr_err(...)		__vipt_pr_err(vipt_cpu, __VA_ARGS__)

/* WARN_ON(cond): its value, and a line on stderr when true. */
#define WARN_ON(cond) ({							\
	int __vipt_warn = !!(cond);						\
	if (__vipt_warn)							\
		fprintf(stderr, "WARNING: at %s:%d\n", __FILE__, __LINE__);	\
	__vipt_warn;								\
})

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
		struct page pg = { .vipt_handle = a->page, .flags = 0,		\
				   .__vipt_index = __vipt_read_index0 };	\
		struct page sp = { .vipt_handle = a->src, .flags = 0,		\
				   .__vipt_index = __vipt_read_index1 };	\
		struct __vipt_index_scope scope_ =				\
			__vipt_index_enter(a->page, a->src);			\
		pte_t p = __pte(a->pte);					\
		(void)arg;							\
		*ret = fn##_body(vipt_cpu, a->vma.vma ? &v : NULL,		\
				 a->mm ? a->mm : a->vma.vm_mm,			\
				 a->page ? &pg : NULL, a->src ? &sp : NULL,	\
				 a->addr, a->end, p, a->value, (int)a->fullmm, &p); \
		__vipt_index_leave(scope_);					\
		return 0;							\
	}									\
	static uint64_t fn##_body(__VIPT_ARCH_HOOK_PARAMS)

/*
 * Arch hooks as the kernel writes them: the hook's own parameter list and
 * return type, so a kernel body compiles unchanged with only its header line
 * replaced:
 *
 *	VIPT_HOOK(ptep_clear_flush, my_ptep_clear_flush)(struct vm_area_struct *vma,
 *			unsigned long addr, pte_t *ptep)
 *	{
 *		... 6.10's body ...
 *		return pte;
 *	}
 *	vipt_arch_set_hook(a, "ptep_clear_flush", my_ptep_clear_flush, NULL);
 *
 * The hooks with the kernel's signature (6.10's, for the hooks Anglin's 2024
 * fix changed): ptep_clear_flush(vma, addr, ptep) returning the old pte_t,
 * flush_cache_page(vma, vmaddr, pfn), __flush_cache_page(vma, vmaddr,
 * physaddr) and flush_dcache_page(page). In the body `vipt_cpu` is the CPU
 * it runs on (a thread-local here, the parameter of the other wrappers), and
 * ptep points at a copy of the pte: the page table is reached through
 * ptep_get_and_clear and set_pte_at, which go through the world's arch.
 * Every other hook keeps VIPT_ARCH_HOOK's generic parameters.
 */
static __thread struct vipt_kcpu *vipt_cpu __attribute__((unused));

#define __VIPT_HOOK_RET_ptep_clear_flush	pte_t
#define __VIPT_HOOK_PROTO_ptep_clear_flush(f) \
	pte_t f(struct vm_area_struct *, unsigned long, pte_t *)
#define __VIPT_HOOK_CALL_ptep_clear_flush(f, a, v, ptep, pg, ret) \
	(*(ret) = pte_val(f((v), (a)->addr, (ptep))))

#define __VIPT_HOOK_RET_flush_cache_page	void
#define __VIPT_HOOK_PROTO_flush_cache_page(f) \
	void f(struct vm_area_struct *, unsigned long, unsigned long)
#define __VIPT_HOOK_CALL_flush_cache_page(f, a, v, ptep, pg, ret) \
	f((v), (a)->addr, __vipt_pfn((a)->page))

#define __VIPT_HOOK_RET___flush_cache_page	void
#define __VIPT_HOOK_PROTO___flush_cache_page(f) \
	void f(struct vm_area_struct *, unsigned long, unsigned long)
#define __VIPT_HOOK_CALL___flush_cache_page(f, a, v, ptep, pg, ret) \
	f((v), (a)->addr, __vipt_pfn((a)->page) << PAGE_SHIFT)

#define __VIPT_HOOK_RET_flush_dcache_page	void
#define __VIPT_HOOK_PROTO_flush_dcache_page(f)	void f(struct page *)
#define __VIPT_HOOK_CALL_flush_dcache_page(f, a, v, ptep, pg, ret)	f(pg)

#define VIPT_HOOK(hook, fn)							\
	static __VIPT_HOOK_PROTO_##hook(fn##_body);				\
	static int fn(struct vipt_kcpu *cpu_, const struct vipt_hook_args *a,	\
		      uint64_t *ret, void *arg)					\
	{									\
		struct vm_area_struct v_ = a->vma;				\
		struct page pg_ = { .vipt_handle = a->page, .flags = 0,		\
				    .__vipt_index = __vipt_read_index0 };	\
		pte_t pte_ = __pte(a->pte);					\
		struct vipt_kcpu *saved_cpu_ = vipt_cpu;			\
		struct __vipt_index_scope scope_ =				\
			__vipt_index_enter(a->page, a->src);			\
									\
		(void)arg;							\
		(void)pg_;							\
		(void)pte_;							\
		vipt_cpu = cpu_;						\
		*ret = 0;							\
		__VIPT_HOOK_CALL_##hook(fn##_body, a, a->vma.vma ? &v_ : NULL,	\
					&pte_, &pg_, ret);			\
		vipt_cpu = saved_cpu_;						\
		__vipt_index_leave(scope_);					\
		return 0;							\
	}									\
	static __VIPT_HOOK_RET_##hook fn##_body

/* The rest of the names 6.10's hook bodies use: the machine has caches
 * (static_branch_likely(&parisc_has_cache) is 1); preemption is the
 * scheduler's, not the body's; the I-cache flush is not modelled; and
 * pte_accessible is the generic one, 1 (parisc defines none). */
static const int parisc_has_cache __attribute__((unused)) = 1;
#define static_branch_likely(key)	(*(key))
#define preempt_disable()		do { } while (0)
#define preempt_enable()		do { } while (0)
#define flush_icache_page_asm(phys, vaddr)	((void)(phys), (void)(vaddr))
#define pte_accessible(mm, pte)		((void)(mm), (void)(pte), 1)

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
	((void)(ptep), __pte(__vipt_arch(vipt_cpu, "ptep_get_and_clear", NULL, (m), (addr), 0)))
#define set_pte_at(m, addr, ptep, pteval) \
	((void)(ptep), (void)__vipt_arch(vipt_cpu, "set_pte_at", NULL, (m), (addr), pte_val(pteval)))
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
#define pte_offset_map(pmd, a)	(&(pte_t){ __vipt_pte_offset_map(vipt_cpu, (pmd), (a)).pte, NULL })
#define pte_unmap(pte)		((void)(pte))

/* A model lock, named by what it belongs to; spin_lock reports the caller. */
typedef struct vipt_lock_ref spinlock_t;
#define pte_lockptr(m, pmd)	(&(spinlock_t){ VIPT_LOCK_PTE, (void *)(m), (pmd)->addr })
#define i_mmap_lock_of(mapping)	(&(spinlock_t){ VIPT_LOCK_I_MMAP, (void *)(mapping), 0 })
#define spin_lock(l)		vipt_spin_lock(vipt_cpu, (l), __func__)
#define spin_unlock(l)		vipt_spin_unlock(vipt_cpu, (l), __func__)

/*
 * page->index and folio->index: `index` names the read of the page's file
 * offset (page->__vipt_index(vipt_cpu)), so the kernel's text reads it where
 * it does. Code that uses `index` for anything else after including this
 * header defines VIPT_KERNEL_NO_INDEX first and writes page_index(page).
 */
#ifndef VIPT_KERNEL_NO_INDEX
#define index			__vipt_index(vipt_cpu)
#endif

#endif /* VIPT_KERNEL_H */
