/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IO page table of an IOAS: which IOVA ranges map which user memory,
 * and which ranges are reserved or promised to userspace; and the
 * interface of pages.c, which holds the memory behind the mappings.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct iommu_domain;
struct iommufd_ctx;

struct iopt_fill;
struct iopt_pages;
struct page;

struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx,
				    unsigned long uptr, unsigned long length,
				    bool writable);
void iopt_pages_get(struct iopt_pages *pages);
void iopt_pages_put(struct iopt_pages *pages);
unsigned long iopt_pages_uptr(struct iopt_pages *pages, unsigned long byte);
bool iopt_pages_writable(struct iopt_pages *pages);
struct iopt_fill *iopt_pages_fill(struct iopt_pages *pages,
				  unsigned long first, unsigned long last);
void iopt_pages_unfill(struct iopt_fill *fill);
struct iopt_fill *iopt_fill_split(struct iopt_fill **fillp,
				  unsigned long left_last,
				  unsigned long right_first);
phys_addr_t iopt_fill_phys(struct iopt_fill *fill, unsigned long byte);
int iopt_pages_map(struct iopt_fill *fill, struct iommu_domain *domain,
		   unsigned long iova, unsigned long byte, unsigned long length,
		   int prot, bool large_pages);
/**
 * struct iopt_pin_id - what names an access pin
 * @area: the area the pages were pinned through
 * @owner: the access
 * @iova: the first IOVA of the pin_pages call, which may span areas
 * @iova_last: its last IOVA
 *
 * A pin is found again only by all of them and its page range, so that an
 * unpin names exactly one earlier pin call: neither a part of one that
 * spans areas nor two calls side by side.
 */
struct iopt_pin_id {
	const void *area;
	const void *owner;
	unsigned long iova;
	unsigned long iova_last;
};

int iopt_pages_access_pin(struct iopt_pages *pages,
			  const struct iopt_pin_id *id, unsigned long first,
			  unsigned long last, struct page **out);
bool iopt_pages_access_pinned(struct iopt_pages *pages,
			      const struct iopt_pin_id *id,
			      unsigned long first, unsigned long last);
int iopt_pages_access_unpin(struct iopt_pages *pages,
			    const struct iopt_pin_id *id, unsigned long first,
			    unsigned long last);
int iopt_pages_rw(struct iopt_pages *pages, unsigned long byte, void *data,
		  unsigned long len, bool write);

/**
 * struct iopt_area - one mapping of an IOAS
 * @node: the IOVA range [start, last] in io_pagetable::area_itree
 * @pages: the memory mapped
 * @page_offset: the byte offset of @node.start's memory in @pages
 * @fill: the pages of the area held for the page tables of its IOAS, while
 *	it has any (else NULL), shared with the areas of the same pages and
 *	range (iopt_pages_fill()); under io_pagetable::iova_rwsem
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @num_accesses: pin_pages calls of in-kernel accesses covering the area
 *	and not unpinned yet; the area cannot be unmapped until they are
 * @unmapping: the unmap call telling the accesses to unpin, or NULL; while
 *	set, no new pins.  Under io_pagetable::iova_rwsem
 * @unmap_next: chains areas outside the table: those one unmap took out,
 *	so that their memory is released after io_pagetable::iova_rwsem is
 *	dropped, and those a map or a copy is about to put in
 *
 * IOMMU_IOAS_UNMAP removes areas whole, never part of one; only the unmap
 * of VFIO type1 cuts them, with large IOMMU pages off (iopt_cut_iova()).
 * IOMMU_IOAS_COPY makes one area for each area (or part of one) it copies.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct iopt_pages *pages;
	unsigned long page_offset;
	struct iopt_fill *fill;
	int iommu_prot;
	atomic_t num_accesses;
	const void *unmapping;
	struct iopt_area *unmap_next;
};

static inline unsigned long iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/**
 * struct iopt_reserved - an IOVA range no mapping may use
 * @node: the range in io_pagetable::reserved_itree
 * @owner: who reserved it (a device, a domain's aperture, a test), so that
 *	it can take its reservations back
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/*
 * Lock order of iommufd, for every lock it takes in a system call, each
 * before the ones after it:
 *
 *   iommufd_ioas::mutex		(page tables made for the IOAS)
 *   iommufd_group::lock		(what the group is attached to)
 *   iommufd_access::ioas_lock		(the IOAS of an access)
 *   io_pagetable::access_lock		(the accesses of an IOAS)
 *   io_pagetable::iova_rwsem		(areas and IOVA ranges)
 *   iopt_pages::mutex			(the pins of some memory, pages.c)
 *   mm_struct::mmap_lock		(GUP, and locked_vm accounting)
 *
 * An unmap drops iova_rwsem before it tells the accesses (access_lock),
 * and access_lock is dropped around each callback, which takes the
 * access's ioas_lock to unpin.  iommufd_ctx::groups_lock is taken alone.
 */

/**
 * struct io_pagetable - the IOVA space of an IOAS
 * @iova_rwsem: protects the three interval trees and @iova_alignment
 * @area_itree: struct iopt_area by IOVA
 * @allowed_itree: the ranges promised by IOMMU_IOAS_ALLOW_IOVAS
 *	(struct interval_tree_node); empty when none were given
 * @reserved_itree: struct iopt_reserved by IOVA
 * @domains: the IOMMU domains attached, each holding every mapping of the
 *	table; under @iova_rwsem
 * @iova_alignment: the alignment every mapping must have: the largest
 *	smallest page size of the domains, and PAGE_SIZE while an access
 *	that pins is attached or @disable_large_pages; a power of two no
 *	larger than PAGE_SIZE
 * @nr_pin_accesses: the attached accesses that pin pages
 *	(iommufd_access_ops::needs_pin_pages); under @iova_rwsem
 * @disable_large_pages: map every page on its own (IOMMU_OPTION
 *	HUGE_PAGES 0) rather than contiguous memory as large IOMMU pages
 * @split_large_pages: set for VFIO type1 v1 (iopt_allow_cuts()), and
 *	never cleared: with @disable_large_pages, the domains that can split
 *	their IOMMU pages (iommu_split()) still map large pages;
 *	iopt_cut_iova() splits them where it cuts
 * @access_lock: protects @accesses; taken before @iova_rwsem (see the lock
 *	order above)
 * @accesses: the in-kernel accesses attached (struct iommufd_access),
 *	told before pages they may have pinned are unmapped
 */
struct io_pagetable {
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	struct xarray domains;
	unsigned long iova_alignment;
	unsigned int nr_pin_accesses;
	bool disable_large_pages;
	bool split_large_pages;
	struct mutex access_lock;	/* protects accesses */
	struct xarray accesses;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_free_itree(struct rb_root_cached *root);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot, bool fixed);
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int iommu_prot, bool fixed);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped,
		    bool none_ok);
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long iova,
		  unsigned long length);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
unsigned long iopt_iova_alignment(struct io_pagetable *iopt);
int iopt_add_pin_access(struct io_pagetable *iopt);
void iopt_remove_pin_access(struct io_pagetable *iopt);
unsigned long iopt_pgsize_bitmap(struct io_pagetable *iopt);
bool iopt_large_pages(struct io_pagetable *iopt);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);
int iopt_allow_cuts(struct io_pagetable *iopt);
int iopt_access_pin_pages(struct io_pagetable *iopt, const void *owner,
			  unsigned long iova, unsigned long length,
			  struct page **out_pages, bool write);
int iopt_access_unpin_pages(struct io_pagetable *iopt, const void *owner,
			    unsigned long iova, unsigned long length);
bool iopt_next_pinned_area(struct io_pagetable *iopt, unsigned long start,
			   unsigned long *area_start, unsigned long *area_last);
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   size_t length, bool write);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *data,
		    unsigned long flags);
int iopt_iova_ranges(struct io_pagetable *iopt,
		     struct interval_tree_node *out, unsigned int max,
		     unsigned int *count);

#endif
