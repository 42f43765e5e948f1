// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOVA space of an IOAS: areas (mappings), allowed and reserved ranges,
 * and the choice of an IOVA for a new mapping.
 *
 * Three interval trees, all under io_pagetable::iova_rwsem: the areas, the
 * ranges userspace was promised (IOMMU_IOAS_ALLOW_IOVAS) and the reserved
 * ranges.  A mapping never overlaps a reserved range, and a reserved range
 * never overlaps a mapping or a promised range: whichever comes second is
 * refused.
 */
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->iova_rwsem);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	mutex_init(&iopt->access_lock);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	/* With no page table attached any byte will do. */
	iopt->iova_alignment = 1;
}

/*
 * Free every node of a tree of bare interval_tree_nodes, or of structures
 * that start with one.
 */
void iopt_free_itree(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(node);
	}
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	unsigned long unmapped;

	iopt_unmap_all(iopt, &unmapped);
	/* struct iopt_reserved starts with its node. */
	iopt_free_itree(&iopt->reserved_itree);
	iopt_free_itree(&iopt->allowed_itree);
	/* Every page table holds the IOAS: none can be attached any more. */
	WARN_ON(!xa_empty(&iopt->domains));
	xa_destroy(&iopt->domains);
	WARN_ON(!xa_empty(&iopt->accesses));
	xa_destroy(&iopt->accesses);
	mutex_destroy(&iopt->access_lock);
}

/* Unmap the first @length bytes of @area from @domain. */
static void iopt_area_unmap_domain(struct iopt_area *area,
				   struct iommu_domain *domain,
				   unsigned long length)
{
	size_t unmapped;

	unmapped = iommu_unmap(domain, area->node.start, length);
	WARN_ON(unmapped != length);
}

/* Whether @domain maps contiguous memory with large IOMMU pages. */
static bool iopt_domain_large_pages(struct io_pagetable *iopt,
				    struct iommu_domain *domain)
{
	return !iopt->disable_large_pages ||
	       (iopt->split_large_pages && iommu_can_split(domain));
}

/* Map @area into @domain. */
static int iopt_area_map_domain(struct io_pagetable *iopt,
				struct iopt_area *area,
				struct iommu_domain *domain)
{
	return iopt_pages_map(area->fill, domain, area->node.start,
			      area->page_offset, iopt_area_length(area),
			      area->iommu_prot,
			      iopt_domain_large_pages(iopt, domain));
}

/* Map a new area into every domain, or into none. */
static int iopt_area_map_domains(struct io_pagetable *iopt,
				 struct iopt_area *area)
{
	struct iommu_domain *domain, *undo;
	unsigned long index, undo_index;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	xa_for_each(&iopt->domains, index, domain) {
		rc = iopt_area_map_domain(iopt, area, domain);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	xa_for_each(&iopt->domains, undo_index, undo) {
		if (undo_index == index)
			break;
		iopt_area_unmap_domain(area, undo, iopt_area_length(area));
	}
	return rc;
}

static struct iopt_area *iopt_area_first(struct io_pagetable *iopt,
					 unsigned long start,
					 unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&iopt->iova_rwsem);

	node = interval_tree_iter_first(&iopt->area_itree, start, last);
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

static struct iopt_area *iopt_area_next(struct iopt_area *area,
					unsigned long start, unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_next(&area->node, start, last);
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

#ifdef CONFIG_IOMMUFD_TEST
/* Does @domain translate @iova of @area to the right byte of memory? */
static bool iopt_domain_maps(struct iommu_domain *domain,
			     struct iopt_area *area, unsigned long iova)
{
	unsigned long byte = area->page_offset + (iova - area->node.start);

	return iommu_iova_to_phys(domain, iova) ==
	       iopt_fill_phys(area->fill, byte);
}

/*
 * Under the selftests, check the mappings a change touched, in [start,
 * last]: each aligned, outside the reserved ranges, and mapped right in
 * every domain (checked at its first and last byte).  Only the range: a
 * program making thousands of mappings (DPDK maps page by page) must not
 * pay for all of them at each one.
 */
static void iopt_check_areas(struct io_pagetable *iopt, unsigned long start,
			     unsigned long last)
{
	struct iommu_domain *domain;
	struct iopt_area *area;
	unsigned long index;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last)) {
		WARN_ON((area->node.start | iopt_area_length(area) |
			 area->page_offset) & (iopt->iova_alignment - 1));
		WARN_ON(interval_tree_iter_first(&iopt->reserved_itree,
						 area->node.start,
						 area->node.last));
		xa_for_each(&iopt->domains, index, domain) {
			WARN_ON(!iopt_domain_maps(domain, area,
						  area->node.start));
			WARN_ON(!iopt_domain_maps(domain, area,
						  area->node.last));
		}
	}
}
#else
static inline void iopt_check_areas(struct io_pagetable *iopt,
				    unsigned long start, unsigned long last)
{
}
#endif

/* Check every mapping, after a change of the whole table (a domain). */
static void iopt_check_consistency(struct io_pagetable *iopt)
{
	iopt_check_areas(iopt, 0, ULONG_MAX);
}

/*
 * The last IOVA of whatever in [start, last] a new mapping cannot use: an
 * area or a reserved range.  Returns false when the range is free.
 */
static bool iopt_used_last(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, unsigned long *used_last)
{
	struct interval_tree_node *area, *resv;

	area = interval_tree_iter_first(&iopt->area_itree, start, last);
	resv = interval_tree_iter_first(&iopt->reserved_itree, start, last);
	if (!area && !resv)
		return false;
	*used_last = max(area ? area->last : 0, resv ? resv->last : 0);
	return true;
}

/* The lowest @align-aligned free IOVA range of @length in [start, last]. */
static int iopt_find_hole(struct io_pagetable *iopt, unsigned long start,
			  unsigned long last, unsigned long length,
			  unsigned long align, unsigned long *iova)
{
	unsigned long cur, cur_last, used_last;

	if (check_add_overflow(start, align - 1, &cur))
		return -ENOSPC;
	cur = ALIGN_DOWN(cur, align);
	for (;;) {
		if (check_add_overflow(cur, length - 1, &cur_last) ||
		    cur_last > last)
			return -ENOSPC;
		if (!iopt_used_last(iopt, cur, cur_last, &used_last)) {
			*iova = cur;
			return 0;
		}
		if (used_last >= last ||
		    check_add_overflow(used_last, align, &cur))
			return -ENOSPC;
		cur = ALIGN_DOWN(cur, align);
	}
}

/*
 * The IOVAs the kernel chooses from: never IOVA 0, nor the last page of
 * the space, which users take for "no address" and "the end".
 */
#define IOPT_ALLOC_FIRST	1UL
#define IOPT_ALLOC_LAST		(ULONG_MAX - PAGE_SIZE)

/* A free range in the promised ranges, or anywhere when there are none. */
static int iopt_find_allowed_hole(struct io_pagetable *iopt,
				  unsigned long length, unsigned long align,
				  unsigned long *iova)
{
	struct interval_tree_node *allowed;
	unsigned long start, last;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_find_hole(iopt, IOPT_ALLOC_FIRST, IOPT_ALLOC_LAST,
				      length, align, iova);

	allowed = interval_tree_iter_first(&iopt->allowed_itree, 0, ULONG_MAX);
	while (allowed) {
		start = max(allowed->start, IOPT_ALLOC_FIRST);
		last = min(allowed->last, IOPT_ALLOC_LAST);
		if (start <= last &&
		    !iopt_find_hole(iopt, start, last, length, align, iova))
			return 0;
		allowed = interval_tree_iter_next(allowed, 0, ULONG_MAX);
	}
	return -ENOSPC;
}

/*
 * Choose an IOVA for @length bytes whose memory starts at @uptr, aligned so
 * that the IOMMU can use pages as large as the memory's alignment allows,
 * or else with the smallest alignment mappings must have.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long uptr, unsigned long length)
{
	unsigned long align;

	lockdep_assert_held(&iopt->iova_rwsem);

	align = rounddown_pow_of_two(length);
	if (uptr)
		align = min(align, 1UL << __ffs(uptr));
	align = max(align, iopt->iova_alignment);

	if (!iopt_find_allowed_hole(iopt, length, align, iova))
		return 0;
	if (align == iopt->iova_alignment)
		return -ENOSPC;
	return iopt_find_allowed_hole(iopt, length, iopt->iova_alignment,
				      iova);
}

/* May [iova, iova + length - 1] be mapped? */
static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	/* Reserved IOVA is not IOVA the table can use: as mainline, EINVAL */
	if (interval_tree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (iopt_area_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * Walk the areas covering [iova, last] in order; -ENOENT when they do not
 * cover it without a hole.
 */
static int iopt_check_covered(struct io_pagetable *iopt, unsigned long iova,
			      unsigned long last)
{
	unsigned long next = iova;
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		if (area->node.start > next)
			return -ENOENT;
		if (area->node.last >= last)
			return 0;
		next = area->node.last + 1;
	}
	return -ENOENT;
}

/* The part of [iova, last] in @area, as pages of its memory. */
struct iopt_area_piece {
	unsigned long start;	/* the first IOVA */
	unsigned long byte;	/* the offset in the pages of its memory */
	unsigned long length;	/* the length in bytes */
};

static void iopt_area_piece(struct iopt_area *area, unsigned long iova,
			    unsigned long last, struct iopt_area_piece *piece)
{
	piece->start = max(iova, area->node.start);
	piece->byte = area->page_offset + (piece->start - area->node.start);
	piece->length = min(last, area->node.last) - piece->start + 1;
}

static unsigned long iopt_piece_first(struct iopt_area_piece *piece)
{
	return piece->byte >> PAGE_SHIFT;
}

static unsigned long iopt_piece_last(struct iopt_area_piece *piece)
{
	return (piece->byte + piece->length - 1) >> PAGE_SHIFT;
}

/* Free a list of areas not in the table, chained by unmap_next. */
static void iopt_free_area_list(struct iopt_area *list)
{
	struct iopt_area *area;

	while (list) {
		area = list;
		list = area->unmap_next;
		iopt_pages_put(area->pages);
		kfree(area);
	}
}

/*
 * Append to the list whose last area is *@tail a new area for @length
 * bytes of @pages from @page_offset, which takes a reference on @pages.
 * Its IOVA is set when the list is mapped; until then node.last holds its
 * length minus one.
 */
static int iopt_add_area_to_list(struct iopt_area **tail,
				 struct iopt_pages *pages,
				 unsigned long page_offset,
				 unsigned long length, int iommu_prot)
{
	struct iopt_area *area;

	area = kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
	if (!area)
		return -ENOMEM;
	iopt_pages_get(pages);
	area->pages = pages;
	area->page_offset = page_offset;
	area->iommu_prot = iommu_prot;
	area->node.last = length - 1;
	(*tail)->unmap_next = area;
	*tail = area;
	return 0;
}

/* Hold the pages @area maps for page tables: pin what is not yet. */
static int iopt_area_fill(struct iopt_area *area)
{
	struct iopt_fill *fill;

	fill = iopt_pages_fill(area->pages, area->page_offset >> PAGE_SHIFT,
			       (area->page_offset + iopt_area_length(area) - 1) >>
			       PAGE_SHIFT);
	if (IS_ERR(fill))
		return PTR_ERR(fill);
	area->fill = fill;
	return 0;
}

static void iopt_area_unfill(struct iopt_area *area)
{
	iopt_pages_unfill(area->fill);
	area->fill = NULL;
}

/* With page tables attached, pin @area's memory now and map it. */
static int iopt_place_area(struct io_pagetable *iopt, struct iopt_area *area)
{
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (xa_empty(&iopt->domains))
		return 0;
	rc = iopt_area_fill(area);
	if (rc)
		return rc;
	rc = iopt_area_map_domains(iopt, area);
	if (rc)
		iopt_area_unfill(area);
	return rc;
}

/* Undo iopt_place_area(). */
static void iopt_unplace_area(struct io_pagetable *iopt,
			      struct iopt_area *area)
{
	struct iommu_domain *domain;
	unsigned long index;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (xa_empty(&iopt->domains))
		return;
	xa_for_each(&iopt->domains, index, domain)
		iopt_area_unmap_domain(area, domain, iopt_area_length(area));
	iopt_area_unfill(area);
}

/*
 * Map the areas of @list (iopt_add_area_to_list()) at consecutive IOVAs
 * from *@iova: fixed, or chosen for @length bytes at @uptr.  With page
 * tables attached, their memory is pinned and mapped into them; otherwise
 * nothing is pinned until the first one is attached.  All of them or
 * none: on success they are the table's, on failure still the caller's.
 *
 * Returns 0, or -EINVAL for a misaligned length, IOVA or page offset or a
 * fixed range that overlaps a reserved one, -EEXIST when a fixed range
 * overlaps a mapping, -ENOSPC when no free range is large enough,
 * or an errno of iopt_pages_fill() or iopt_pages_map().
 */
static int iopt_map_area_list(struct io_pagetable *iopt,
			      struct iopt_area *list, unsigned long length,
			      unsigned long *iova, unsigned long uptr,
			      bool fixed)
{
	struct iopt_area *area, *undo;
	unsigned long cur, len;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	for (area = list; area; area = area->unmap_next) {
		if (((area->node.last + 1) | area->page_offset) &
		    (iopt->iova_alignment - 1)) {
			rc = -EINVAL;
			goto out_unlock;
		}
	}
	if (fixed)
		rc = iopt_check_iova(iopt, *iova, length);
	else
		rc = iopt_alloc_iova(iopt, iova, uptr, length);
	if (rc)
		goto out_unlock;

	cur = *iova;
	for (area = list; area; area = area->unmap_next) {
		len = area->node.last + 1;
		area->node.start = cur;
		area->node.last = cur + len - 1;
		cur += len;
		rc = iopt_place_area(iopt, area);
		if (rc)
			goto err_unplace;
	}
	for (area = list; area; area = area->unmap_next)
		interval_tree_insert(&area->node, &iopt->area_itree);
	/* The new mappings and their neighbours */
	iopt_check_areas(iopt, *iova ? *iova - 1 : 0,
			 *iova + length - 1 == ULONG_MAX ? ULONG_MAX :
							   *iova + length);
	up_write(&iopt->iova_rwsem);
	return 0;

err_unplace:
	for (undo = list; undo != area; undo = undo->unmap_next)
		iopt_unplace_area(iopt, undo);
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_map_user_pages() - map user memory
 * @ictx: the iommufd, whose accounting mode applies
 * @iopt: the table
 * @iova: in, when @fixed: where to map; out: where the mapping was placed
 * @uptr: the user memory
 * @length: its length in bytes
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @fixed: map at *@iova rather than at an IOVA the table chooses
 *
 * Return: 0 or an errno of iopt_alloc_pages() or iopt_map_area_list(); on
 * failure nothing is left pinned or mapped.
 */
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot, bool fixed)
{
	struct iopt_area head = {}, *tail = &head;
	struct iopt_pages *pages;
	int rc;

	if (!length)
		return -EINVAL;
	pages = iopt_alloc_pages(ictx, (uintptr_t)uptr, length,
				 iommu_prot & IOMMU_WRITE);
	if (IS_ERR(pages))
		return PTR_ERR(pages);
	rc = iopt_add_area_to_list(&tail, pages, offset_in_page(uptr), length,
				   iommu_prot);
	/* The area holds its own reference. */
	iopt_pages_put(pages);
	if (rc)
		return rc;
	rc = iopt_map_area_list(iopt, head.unmap_next, length, iova,
				(uintptr_t)uptr, fixed);
	if (rc)
		iopt_free_area_list(head.unmap_next);
	return rc;
}

/**
 * iopt_copy() - map in one table the memory mappings of another map
 * @dst: the table to map into
 * @src: the table holding the mappings (may be @dst)
 * @src_iova: the first IOVA to copy in @src
 * @length: the number of bytes: [@src_iova, @src_iova + @length - 1] must
 *	be mapped without a hole, by one mapping or several, from any offset
 *	in them
 * @dst_iova: in, when @fixed: where to map; out: where it was placed
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @fixed: map at *@dst_iova rather than at an IOVA @dst chooses
 *
 * Each source mapping the range covers becomes a mapping of @dst, at
 * consecutive IOVAs, sharing its memory: a page is never pinned or charged
 * twice, and is pinned now only if @dst has page tables and the memory was
 * not pinned yet.
 *
 * Context: Process context; may sleep.  Takes the iova_rwsem of @src and
 * then of @dst, never both.
 *
 * Return: 0, -ENOENT when the source range is not wholly mapped, -EPERM
 * for a writable copy of memory mapped read-only, -EINVAL when a piece is
 * not aligned as @dst's page tables need, or another errno of mapping.
 */
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int iommu_prot, bool fixed)
{
	struct iopt_area head = {}, *tail = &head;
	struct iopt_area_piece piece;
	unsigned long last, uptr = 0;
	struct iopt_area *area;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(src_iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&src->iova_rwsem);
	rc = iopt_check_covered(src, src_iova, last);
	for (area = iopt_area_first(src, src_iova, last); area && !rc;
	     area = iopt_area_next(area, src_iova, last)) {
		if ((iommu_prot & IOMMU_WRITE) &&
		    !iopt_pages_writable(area->pages)) {
			rc = -EPERM;
			break;
		}
		iopt_area_piece(area, src_iova, last, &piece);
		if (!uptr)
			uptr = iopt_pages_uptr(area->pages, piece.byte);
		rc = iopt_add_area_to_list(&tail, area->pages, piece.byte,
					   piece.length, iommu_prot);
	}
	up_read(&src->iova_rwsem);

	if (!rc)
		rc = iopt_map_area_list(dst, head.unmap_next, length, dst_iova,
					uptr, fixed);
	if (rc)
		iopt_free_area_list(head.unmap_next);
	return rc;
}

/* Let accesses pin again in the areas of [start, last] @call marked. */
static void iopt_clear_unmapping(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last,
				 const void *call)
{
	struct iopt_area *area;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last))
		if (area->unmapping == call)
			area->unmapping = NULL;
}

/*
 * Remove every area inside [start, last], or none if an area crosses one of
 * the ends (-ENOENT).  A range with no area is -ENOENT too, unless
 * @none_ok.
 *
 * The accesses are told of each area they pin pages of, one area at a time
 * and with its own range, so that a callback never gets a length that
 * wraps (an unmap of the whole IOVA space).
 */
static int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
			    unsigned long last, unsigned long *unmapped,
			    bool none_ok)
{
	struct iopt_area *area, *next, *removed = NULL;
	unsigned long area_start, area_length;
	struct iommu_domain *domain;
	unsigned long total = 0;
	unsigned long index;
	/* Its address marks the areas this call tells the accesses of. */
	u8 call = 0;

again:
	down_write(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last)) {
		if (area->node.start < start || area->node.last > last) {
			iopt_clear_unmapping(iopt, start, last, &call);
			up_write(&iopt->iova_rwsem);
			return -ENOENT;
		}
	}
	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last)) {
		if (!atomic_read(&area->num_accesses))
			continue;
		/*
		 * An access unpins when told, and cannot pin again in an
		 * area being unmapped: pins left in an area this call told,
		 * and no other call marked since, are a kernel bug, and the
		 * mapping stays.
		 */
		if (WARN_ON(area->unmapping == &call)) {
			iopt_clear_unmapping(iopt, start, last, &call);
			up_write(&iopt->iova_rwsem);
			return -EBUSY;
		}
		/* No new pins while the accesses are told to unpin. */
		area->unmapping = &call;
		area_start = area->node.start;
		area_length = iopt_area_length(area);
		up_write(&iopt->iova_rwsem);
		iommufd_access_notify_unmap(iopt, area_start, area_length);
		goto again;
	}
	area = iopt_area_first(iopt, start, last);
	while (area) {
		next = iopt_area_next(area, start, last);
		xa_for_each(&iopt->domains, index, domain)
			iopt_area_unmap_domain(area, domain,
					       iopt_area_length(area));
		interval_tree_remove(&area->node, &iopt->area_itree);
		total += iopt_area_length(area);
		area->unmap_next = removed;
		removed = area;
		area = next;
	}
	/* The neighbours stay whole in every domain. */
	iopt_check_areas(iopt, start ? start - 1 : 0,
			 last == ULONG_MAX ? last : last + 1);
	up_write(&iopt->iova_rwsem);

	/* Unpinning may take a while: not under the lock. */
	while (removed) {
		area = removed;
		removed = area->unmap_next;
		if (area->fill)
			iopt_pages_unfill(area->fill);
		iopt_pages_put(area->pages);
		kfree(area);
	}

	*unmapped = total;
	return total || none_ok ? 0 : -ENOENT;
}

/**
 * iopt_unmap_iova() - remove the mappings inside an IOVA range
 * @iopt: the table
 * @iova: the start of the range
 * @length: its length
 * @unmapped: returns the number of bytes unmapped
 *
 * @none_ok: a range that holds no mapping is no error: nothing is unmapped
 *
 * Return: 0; -ENOENT when the range cuts a mapping, which is then left as
 * it was, or holds none and !@none_ok; -EINVAL for an empty range;
 * -EOVERFLOW when the range wraps.
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped,
		    bool none_ok)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_range(iopt, iova, last, unmapped, none_ok);
}

/* Remove every mapping; succeeds when there is none. */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	return iopt_unmap_range(iopt, 0, ULONG_MAX, unmapped, true);
}

/**
 * iopt_set_allow_iova() - replace the promised ranges
 * @iopt: the table
 * @allowed_iova: the new ranges (struct interval_tree_node); on success
 *	they move into the table and @allowed_iova is left empty
 *
 * Return: 0, or -EADDRINUSE when a new range overlaps a reserved one.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova)
{
	struct interval_tree_node *node;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed_iova, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->reserved_itree,
					     node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	swap(iopt->allowed_itree, *allowed_iova);
	up_write(&iopt->iova_rwsem);
	return 0;
}

static int __iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_reserved *resv;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (start > last)
		return -EINVAL;
	if (iopt_area_first(iopt, start, last) ||
	    interval_tree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	resv = kzalloc(sizeof(*resv), GFP_KERNEL_ACCOUNT);
	if (!resv)
		return -ENOMEM;
	resv->node.start = start;
	resv->node.last = last;
	resv->owner = owner;
	interval_tree_insert(&resv->node, &iopt->reserved_itree);
	return 0;
}

/**
 * iopt_reserve_iova() - keep mappings out of an IOVA range
 * @iopt: the table
 * @start: the first IOVA of the range
 * @last: the last IOVA of the range
 * @owner: whose reservation it is, for iopt_remove_reserved_iova()
 *
 * Return: 0, or -EADDRINUSE when the range overlaps a mapping or a
 * promised range.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt,
					void *owner)
{
	struct interval_tree_node *node, *next;
	struct iopt_reserved *resv;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	node = interval_tree_iter_first(&iopt->reserved_itree, 0, ULONG_MAX);
	while (node) {
		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		resv = container_of(node, struct iopt_reserved, node);
		if (resv->owner == owner) {
			interval_tree_remove(node, &iopt->reserved_itree);
			kfree(resv);
		}
		node = next;
	}
}

/* Take back every reservation of @owner. */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/*
 * Append [start, last] to @out if there is room; count it either way.
 */
static void iopt_emit_range(struct interval_tree_node *out, unsigned int max,
			    unsigned int *count, unsigned long start,
			    unsigned long last)
{
	if (*count < max) {
		out[*count].start = start;
		out[*count].last = last;
	}
	(*count)++;
}

/* Emit the parts of [start, last] that no reserved range covers. */
static void iopt_emit_unreserved(struct io_pagetable *iopt,
				 struct interval_tree_node *out,
				 unsigned int max, unsigned int *count,
				 unsigned long start, unsigned long last)
{
	struct interval_tree_node *resv;
	unsigned long cur = start;

	for (resv = interval_tree_iter_first(&iopt->reserved_itree, start,
					     last);
	     resv; resv = interval_tree_iter_next(resv, start, last)) {
		/* Reserved ranges may overlap each other. */
		if (resv->start > cur)
			iopt_emit_range(out, max, count, cur, resv->start - 1);
		if (resv->last >= last)
			return;
		cur = max(cur, resv->last + 1);
	}
	iopt_emit_range(out, max, count, cur, last);
}

/**
 * iopt_iova_ranges() - the IOVA ranges mappings may use
 * @iopt: the table
 * @out: an array for the ranges, in increasing order
 * @max: the number of entries @out has room for
 * @count: returns the number of ranges, which may be more than @max
 *
 * The ranges no reserved range covers.  The promised (allowed) ranges do
 * not narrow them: they only steer the IOVAs the kernel chooses, and a
 * fixed mapping may lie outside them, as on mainline.
 *
 * Return: 0.
 */
int iopt_iova_ranges(struct io_pagetable *iopt,
		     struct interval_tree_node *out, unsigned int max,
		     unsigned int *count)
{
	*count = 0;
	down_read(&iopt->iova_rwsem);
	iopt_emit_unreserved(iopt, out, max, count, 0, ULONG_MAX);
	up_read(&iopt->iova_rwsem);
	return 0;
}

/* Do all mappings start, end and sit in their memory at @align? */
static bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if ((area->node.start | iopt_area_length(area) |
		     area->page_offset) & (align - 1))
			return false;
	}
	return true;
}

/*
 * The alignment mappings must have with @extra attached too: the largest
 * of the domains' smallest page sizes, and a page while an access that
 * pins is attached or large IOMMU pages are off (so that a mapping can be
 * cut at any page, see iopt_cut_iova()).
 */
static unsigned long iopt_domain_alignment(struct io_pagetable *iopt,
					   struct iommu_domain *extra)
{
	struct iommu_domain *domain;
	unsigned long align = 1;
	unsigned long index;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (iopt->nr_pin_accesses || iopt->disable_large_pages)
		align = PAGE_SIZE;
	xa_for_each(&iopt->domains, index, domain)
		align = max(align, 1UL << __ffs(domain->pgsize_bitmap));
	if (extra)
		align = max(align, 1UL << __ffs(extra->pgsize_bitmap));
	return align;
}

/*
 * Keep mappings out of what @domain cannot translate: below and above its
 * aperture.
 */
static int iopt_reserve_aperture(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start) {
		rc = __iopt_reserve_iova(iopt, 0, geo->aperture_start - 1,
					 domain);
		if (rc)
			return rc;
	}
	if (geo->aperture_end < ULONG_MAX) {
		rc = __iopt_reserve_iova(iopt, geo->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Unfill the memory of the areas before @end (every area when NULL), in
 * order.
 */
static void iopt_unfill_areas(struct io_pagetable *iopt, struct iopt_area *end)
{
	struct iopt_area *area;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area != end;
	     area = iopt_area_next(area, 0, ULONG_MAX))
		iopt_area_unfill(area);
}

/* Pin the memory of every area, for the first page table; all or none. */
static int iopt_fill_areas(struct io_pagetable *iopt)
{
	struct iopt_area *area;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		rc = iopt_area_fill(area);
		if (rc) {
			iopt_unfill_areas(iopt, area);
			return rc;
		}
	}
	return 0;
}

/**
 * iopt_table_add_domain() - make a domain mirror the table
 * @iopt: the table
 * @domain: an empty IOMMU domain
 *
 * Maps every mapping of the table into @domain and keeps it so; the first
 * domain pins the memory of the mappings.  The table's usable IOVA space
 * narrows to the domain's aperture and its alignment grows to the domain's
 * smallest page size.
 *
 * Return: 0; -EADDRINUSE when a mapping or a promised range lies outside
 * the aperture or a mapping is not aligned to the domain's pages; -EINVAL
 * when the domain's pages are larger than PAGE_SIZE; an error of
 * iopt_pages_fill() or of iopt_pages_map().  On failure the table is as it
 * was.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	struct iopt_area *area, *undo;
	unsigned long align;
	bool first;
	u32 index;
	int rc;

	/* A domain its driver has not set up yet has no page sizes. */
	if (!domain->pgsize_bitmap)
		return -EINVAL;

	down_write(&iopt->iova_rwsem);
	align = iopt_domain_alignment(iopt, domain);
	if (align > PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (!iopt_areas_aligned(iopt, align)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	rc = iopt_reserve_aperture(iopt, domain);
	if (rc)
		goto out_reserved;

	/* The first page table pins the memory of every mapping. */
	first = xa_empty(&iopt->domains);
	if (first) {
		rc = iopt_fill_areas(iopt);
		if (rc)
			goto out_reserved;
	}
	rc = xa_alloc(&iopt->domains, &index, domain, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unfill;

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		rc = iopt_area_map_domain(iopt, area, domain);
		if (rc)
			goto out_unmap;
	}
	iopt->iova_alignment = align;
	iopt_check_consistency(iopt);
	up_write(&iopt->iova_rwsem);
	return 0;

out_unmap:
	for (undo = iopt_area_first(iopt, 0, ULONG_MAX); undo != area;
	     undo = iopt_area_next(undo, 0, ULONG_MAX))
		iopt_area_unmap_domain(undo, domain, iopt_area_length(undo));
	xa_erase(&iopt->domains, index);
out_unfill:
	if (first)
		iopt_unfill_areas(iopt, NULL);
out_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_table_remove_domain() - stop a domain mirroring the table
 * @iopt: the table
 * @domain: a domain added with iopt_table_add_domain()
 *
 * Unmaps every mapping from @domain, and gives back the IOVA space and the
 * alignment it took.  The last domain unpins the memory no access holds.
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct iommu_domain *entry;
	struct iopt_area *area;
	unsigned long index;

	down_write(&iopt->iova_rwsem);
	xa_for_each(&iopt->domains, index, entry) {
		if (entry == domain)
			break;
	}
	if (WARN_ON(!entry))
		goto out_unlock;
	xa_erase(&iopt->domains, index);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX))
		iopt_area_unmap_domain(area, domain, iopt_area_length(area));
	/* The last page table unpins what no access holds. */
	if (xa_empty(&iopt->domains))
		iopt_unfill_areas(iopt, NULL);
	__iopt_remove_reserved_iova(iopt, domain);
	iopt->iova_alignment = iopt_domain_alignment(iopt, NULL);
	iopt_check_consistency(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
}

/*
 * An access that pins pages is attached: from now on mappings must be of
 * whole pages.  -EADDRINUSE when one is not.
 */
int iopt_add_pin_access(struct io_pagetable *iopt)
{
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	if (iopt_areas_aligned(iopt, PAGE_SIZE)) {
		iopt->nr_pin_accesses++;
		iopt->iova_alignment = iopt_domain_alignment(iopt, NULL);
	} else {
		rc = -EADDRINUSE;
	}
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* An access added with iopt_add_pin_access() is detached. */
void iopt_remove_pin_access(struct io_pagetable *iopt)
{
	down_write(&iopt->iova_rwsem);
	if (!WARN_ON(!iopt->nr_pin_accesses))
		iopt->nr_pin_accesses--;
	iopt->iova_alignment = iopt_domain_alignment(iopt, NULL);
	up_write(&iopt->iova_rwsem);
}

/* The alignment every mapping must have now. */
unsigned long iopt_iova_alignment(struct io_pagetable *iopt)
{
	unsigned long align;

	down_read(&iopt->iova_rwsem);
	align = iopt->iova_alignment;
	up_read(&iopt->iova_rwsem);
	return align;
}

/* The IOMMU page sizes every domain has; every size when there is none. */
unsigned long iopt_pgsize_bitmap(struct io_pagetable *iopt)
{
	unsigned long bitmap = ULONG_MAX, index;
	struct iommu_domain *domain;

	down_read(&iopt->iova_rwsem);
	xa_for_each(&iopt->domains, index, domain)
		bitmap &= domain->pgsize_bitmap;
	up_read(&iopt->iova_rwsem);
	return bitmap;
}

/* Whether contiguous memory is mapped with large IOMMU pages. */
bool iopt_large_pages(struct io_pagetable *iopt)
{
	bool enabled;

	down_read(&iopt->iova_rwsem);
	enabled = !iopt->disable_large_pages;
	up_read(&iopt->iova_rwsem);
	return enabled;
}

/*
 * Allow or forbid large IOMMU pages (see iopt_set_large_pages()); with
 * @split, domains that can split theirs keep them (iopt_allow_cuts()).
 */
static int iopt_large_pages_set(struct io_pagetable *iopt, bool enable,
				bool split)
{
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	if (!enable && !iopt->disable_large_pages &&
	    ((!xa_empty(&iopt->domains) &&
	      iopt_area_first(iopt, 0, ULONG_MAX)) ||
	     !iopt_areas_aligned(iopt, PAGE_SIZE))) {
		rc = -EINVAL;
	} else {
		iopt->disable_large_pages = !enable;
		if (split)
			iopt->split_large_pages = true;
		iopt->iova_alignment = iopt_domain_alignment(iopt, NULL);
	}
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_large_pages() - allow or forbid large IOMMU pages
 * @iopt: the table
 * @enable: map contiguous memory with large pages
 *
 * Large pages cannot be forbidden while the table has both domains and
 * mappings, which domains may have mapped with them; forbidding them again
 * changes nothing and succeeds.  Allowing them is always possible; only
 * later mappings use them.  While they are forbidden, mappings are of
 * whole pages, so that every domain maps each page with IOMMU pages of
 * its own, or with large ones it can split after iopt_allow_cuts(), and a
 * mapping can be cut at any page (iopt_cut_iova()).
 *
 * Return: 0, or -EINVAL when forbidding them while domains map mappings or
 * while a mapping is not of whole pages.
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	return iopt_large_pages_set(iopt, enable, false);
}

/**
 * iopt_allow_cuts() - let an unmap take part of a mapping (VFIO type1 v1)
 * @iopt: the table
 *
 * Forbids large IOMMU pages as iopt_set_large_pages() does, so that
 * mappings are of whole pages and IOMMU_OPTION_HUGE_PAGES reads 0, except
 * in the domains whose driver can split a large IOMMU page into smaller
 * ones with the same translations (iommu_split()): from now on they map
 * contiguous memory with large pages, and iopt_cut_iova() splits the pages
 * it cuts through.  A mapping that is never cut then costs what it costs
 * with large pages on.
 *
 * Return: 0, or -EINVAL as iopt_set_large_pages().
 */
int iopt_allow_cuts(struct io_pagetable *iopt)
{
	return iopt_large_pages_set(iopt, false, true);
}

/*
 * Cut the area holding @iova in two, the second starting at @iova: both
 * keep mapping the same memory at the same IOVAs, in the domains too, and
 * share the pins (the fill is split, or copied in two when other areas
 * share it; a page holding the cut stays held by both).  Nothing to do
 * when no area holds @iova or one starts there.
 */
static int iopt_split_area(struct io_pagetable *iopt, unsigned long iova)
{
	struct iopt_fill *fill = NULL;
	struct iommu_domain *domain;
	struct iopt_area *area, *rest;
	unsigned long byte, index;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	area = iopt_area_first(iopt, iova, iova);
	if (!area || area->node.start == iova)
		return 0;
	/* Access pins name their area: a pinned area stays whole. */
	if (atomic_read(&area->num_accesses) || area->unmapping)
		return -EINVAL;
	byte = area->page_offset + (iova - area->node.start);
	/* Whole pages while large pages are off: no IOMMU page is cut. */
	if (WARN_ON(byte & ~PAGE_MASK))
		return -EINVAL;
	/*
	 * Every domain that can split splits the large page holding the cut,
	 * whatever maps large pages now (the mapping may be older): that
	 * changes no translation, and a split that stays after a failure is
	 * harmless.
	 */
	xa_for_each(&iopt->domains, index, domain) {
		if (!iommu_can_split(domain))
			continue;
		rc = iommu_split(domain, iova);
		if (rc)
			return rc;
	}
	rest = kzalloc(sizeof(*rest), GFP_KERNEL_ACCOUNT);
	if (!rest)
		return -ENOMEM;
	if (area->fill) {
		fill = iopt_fill_split(&area->fill, (byte - 1) >> PAGE_SHIFT,
				       byte >> PAGE_SHIFT);
		if (IS_ERR(fill)) {
			kfree(rest);
			return PTR_ERR(fill);
		}
	}
	iopt_pages_get(area->pages);
	rest->pages = area->pages;
	rest->page_offset = byte;
	rest->fill = fill;
	rest->iommu_prot = area->iommu_prot;
	rest->node.start = iova;
	rest->node.last = area->node.last;
	interval_tree_remove(&area->node, &iopt->area_itree);
	area->node.last = iova - 1;
	interval_tree_insert(&area->node, &iopt->area_itree);
	interval_tree_insert(&rest->node, &iopt->area_itree);
	return 0;
}

/**
 * iopt_cut_iova() - make mappings end where a range starts and ends
 * @iopt: the table
 * @iova: the start of the range
 * @length: its length
 *
 * A mapping that holds @iova - 1 and @iova, or the range's last IOVA and
 * the one after, becomes two mappings of the same memory: the unmap of
 * VFIO type1 v1 may take part of a mapping.  Only possible while large
 * IOMMU pages are off (iopt_set_large_pages()), so that no IOMMU page of
 * a domain spans a cut, or split where it does (iopt_allow_cuts()).
 *
 * Context: Process context; may sleep.  Takes io_pagetable::iova_rwsem.
 *
 * Return: 0; -EINVAL when large pages are on, an end is not page aligned
 * or a mapping to cut holds access pins; -EOVERFLOW when the range wraps;
 * -ENOMEM, or an error of iommu_split().  A cut or a split made before a
 * failure stays, which changes no mapping.
 */
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long iova,
		  unsigned long length)
{
	unsigned long last;
	int rc = -EINVAL;

	if (!length || (iova | length) & ~PAGE_MASK)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	down_write(&iopt->iova_rwsem);
	if (iopt->disable_large_pages) {
		rc = iopt_split_area(iopt, iova);
		if (!rc && last != ULONG_MAX)
			rc = iopt_split_area(iopt, last + 1);
		iopt_check_areas(iopt, iova ? iova - 1 : 0,
				 last == ULONG_MAX ? last : last + 1);
	}
	up_write(&iopt->iova_rwsem);
	return rc;
}

/*
 * Drop the access pins of @owner in the areas of [iova, last] before
 * @end, taken by iopt_access_pin_pages().
 */
static void iopt_access_unpin_areas(struct io_pagetable *iopt,
				    const void *owner, unsigned long iova,
				    unsigned long last, struct iopt_area *end)
{
	struct iopt_area_piece piece;
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, iova, last); area != end;
	     area = iopt_area_next(area, iova, last)) {
		struct iopt_pin_id id = { area, owner, iova, last };

		iopt_area_piece(area, iova, last, &piece);
		WARN_ON(iopt_pages_access_unpin(area->pages, &id,
						iopt_piece_first(&piece),
						iopt_piece_last(&piece)));
		WARN_ON(atomic_dec_return(&area->num_accesses) < 0);
	}
}

/**
 * iopt_access_pin_pages() - pin the pages behind an IOVA range for an access
 * @iopt: the table
 * @owner: the access
 * @iova: the first IOVA, page aligned
 * @length: the length, a multiple of PAGE_SIZE
 * @out_pages: receives length / PAGE_SIZE pages
 * @write: the access will write to them
 *
 * Pages no page table or access holds are pinned and charged; the mappings
 * stay until iopt_access_unpin_pages() with the same range.
 *
 * Context: Process context; may sleep.  Takes io_pagetable::iova_rwsem for
 * reading.
 *
 * Return: 0; -ENOENT when the range is not wholly mapped or is being
 * unmapped; -EPERM when @write and a mapping is not writable; -EINVAL when
 * an IOVA page of the range is not one page of memory; an errno of
 * iopt_pages_access_pin().
 */
int iopt_access_pin_pages(struct io_pagetable *iopt, const void *owner,
			  unsigned long iova, unsigned long length,
			  struct page **out_pages, bool write)
{
	unsigned long last = iova + length - 1;
	struct iopt_area_piece piece;
	struct iopt_area *area;
	int rc;

	down_read(&iopt->iova_rwsem);
	rc = iopt_check_covered(iopt, iova, last);
	if (rc)
		goto out_unlock;
	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		/* Going away: as good as not mapped any more. */
		if (area->unmapping) {
			rc = -ENOENT;
			goto out_unlock;
		}
		if (write && !(area->iommu_prot & IOMMU_WRITE)) {
			rc = -EPERM;
			goto out_unlock;
		}
		/* Only possible where a sub-page mapping starts or ends. */
		iopt_area_piece(area, iova, last, &piece);
		if ((piece.byte | piece.length) & ~PAGE_MASK) {
			rc = -EINVAL;
			goto out_unlock;
		}
	}
	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		struct iopt_pin_id id = { area, owner, iova, last };

		iopt_area_piece(area, iova, last, &piece);
		rc = iopt_pages_access_pin(area->pages, &id,
					   iopt_piece_first(&piece),
					   iopt_piece_last(&piece),
					   out_pages +
					   ((piece.start - iova) >> PAGE_SHIFT));
		if (rc) {
			iopt_access_unpin_areas(iopt, owner, iova, last, area);
			goto out_unlock;
		}
		atomic_inc(&area->num_accesses);
	}
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_next_pinned_area() - the next mapping accesses hold pins in
 * @iopt: the table
 * @start: the lowest IOVA to look at
 * @area_start: returns the first IOVA of the mapping
 * @area_last: returns its last IOVA
 *
 * Return: true when there is one at or after @start.
 */
bool iopt_next_pinned_area(struct io_pagetable *iopt, unsigned long start,
			   unsigned long *area_start, unsigned long *area_last)
{
	struct iopt_area *area;
	bool found = false;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, start, ULONG_MAX); area;
	     area = iopt_area_next(area, start, ULONG_MAX)) {
		if (atomic_read(&area->num_accesses)) {
			*area_start = area->node.start;
			*area_last = area->node.last;
			found = true;
			break;
		}
	}
	up_read(&iopt->iova_rwsem);
	return found;
}

/**
 * iopt_access_unpin_pages() - undo iopt_access_pin_pages()
 * @iopt: the table
 * @owner: the access given to iopt_access_pin_pages()
 * @iova: the IOVA given to it
 * @length: the length given to it
 *
 * Context: Process context; may sleep.  Takes io_pagetable::iova_rwsem for
 * reading.
 *
 * Return: 0, or -EINVAL, changing nothing, when @owner has no such pin.
 */
int iopt_access_unpin_pages(struct io_pagetable *iopt, const void *owner,
			    unsigned long iova, unsigned long length)
{
	unsigned long last = iova + length - 1;
	struct iopt_area_piece piece;
	struct iopt_area *area;
	int rc;

	down_read(&iopt->iova_rwsem);
	/* A pinned range stays mapped: its areas cannot have changed. */
	rc = iopt_check_covered(iopt, iova, last);
	for (area = iopt_area_first(iopt, iova, last); area && !rc;
	     area = iopt_area_next(area, iova, last)) {
		struct iopt_pin_id id = { area, owner, iova, last };

		iopt_area_piece(area, iova, last, &piece);
		if (!iopt_pages_access_pinned(area->pages, &id,
					      iopt_piece_first(&piece),
					      iopt_piece_last(&piece)))
			rc = -EINVAL;
	}
	if (rc)
		rc = -EINVAL;
	else
		iopt_access_unpin_areas(iopt, owner, iova, last, NULL);
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_access_rw() - copy between a kernel buffer and IOVA space
 * @iopt: the table
 * @iova: the first IOVA
 * @data: the kernel buffer
 * @length: the number of bytes
 * @write: copy @data to the IOVA range, rather than from it
 *
 * Any alignment will do.
 *
 * Context: Process context, or a kernel thread; may sleep.  Takes
 * io_pagetable::iova_rwsem for reading.
 *
 * Return: 0; -ENOENT when the range is not wholly mapped; -EPERM when
 * @write and a mapping is not writable; -EFAULT when memory is gone.
 */
int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova, void *data,
		   size_t length, bool write)
{
	unsigned long last = iova + length - 1;
	struct iopt_area_piece piece;
	struct iopt_area *area;
	int rc;

	down_read(&iopt->iova_rwsem);
	rc = iopt_check_covered(iopt, iova, last);
	if (rc)
		goto out_unlock;
	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		if (write && !(area->iommu_prot & IOMMU_WRITE)) {
			rc = -EPERM;
			goto out_unlock;
		}
	}
	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		iopt_area_piece(area, iova, last, &piece);
		rc = iopt_pages_rw(area->pages, piece.byte,
				   data + (piece.start - iova), piece.length,
				   write);
		if (rc)
			break;
	}
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_dirty_tracking() - start or stop tracking the dirty pages of a
 *	domain of the table
 * @iopt: the table
 * @domain: a domain attached to it, with &iommu_domain.dirty_ops
 * @enable: start, or stop
 *
 * Starting clears what the domain recorded before, so that a report after
 * it shows only pages written since.
 *
 * Return: 0, or an error of the IOMMU driver, after which tracking is as
 * it was.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct iopt_area *area;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	if (enable) {
		iommu_dirty_bitmap_init(&dirty, NULL, &gather);
		for (area = iopt_area_first(iopt, 0, ULONG_MAX); area && !rc;
		     area = iopt_area_next(area, 0, ULONG_MAX)) {
			rc = ops->read_and_clear_dirty(domain,
						       area->node.start,
						       iopt_area_length(area),
						       0, &dirty);
			cond_resched();
		}
		iommu_iotlb_sync(domain, &gather);
	}
	if (!rc)
		rc = ops->set_dirty_tracking(domain, enable);
	up_write(&iopt->iova_rwsem);
	return rc;
}

struct iopt_dirty_read {
	struct iommu_domain *domain;
	unsigned long flags;
	struct iommu_dirty_bitmap *dirty;
};

/* One window of the user's bitmap: the dirty pages of its IOVA range. */
static int iopt_read_dirty_window(struct iova_bitmap *bitmap,
				  unsigned long iova, size_t length,
				  void *opaque)
{
	struct iopt_dirty_read *read = opaque;
	int rc;

	rc = read->domain->dirty_ops->read_and_clear_dirty(read->domain, iova,
							   length, read->flags,
							   read->dirty);
	cond_resched();
	return rc;
}

/**
 * iopt_read_dirty() - report the dirty pages of a range into a user bitmap
 * @iopt: the table
 * @domain: a domain attached to it, with &iommu_domain.dirty_ops
 * @iova: the first IOVA of the range, aligned to the table's alignment
 *	and to @page_size, as @length is
 * @length: the length of the range, not 0
 * @page_size: the IOVA each bit stands for, a power of two
 * @data: the user's bitmap
 * @flags: IOMMU_DIRTY_NO_CLEAR to leave the dirty state as it is
 *
 * The whole range must be mapped.  The bit of IOVA i is bit
 * (i - @iova) / @page_size of @data, an array of u64, in which the bits
 * of dirty pages are set.
 *
 * Return: 0; -EINVAL for a range that is not aligned, or a page size that
 * is not a power of two; -EOVERFLOW for a range that
 * wraps; -ENOENT when part of the range is not mapped; -EFAULT when the
 * bitmap cannot be written; -ENOMEM.
 */
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *data,
		    unsigned long flags)
{
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct iopt_dirty_read read = {
		.domain = domain,
		.flags = flags,
		.dirty = &dirty,
	};
	struct iova_bitmap *bitmap;
	unsigned long last;
	int rc;

	if (!length || !is_power_of_2(page_size))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	/* Written, so that reads of a domain do not run at once. */
	down_write(&iopt->iova_rwsem);
	/*
	 * Whole bits, as mainline; with the range mapped this also keeps
	 * the page size far below what would overflow iova_bitmap's sums.
	 */
	if ((iova | length) & (iopt->iova_alignment - 1) ||
	    (iova | length) & (page_size - 1)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iopt_check_covered(iopt, iova, last);
	if (rc)
		goto out_unlock;
	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap)) {
		rc = PTR_ERR(bitmap);
		goto out_unlock;
	}
	iommu_dirty_bitmap_init(&dirty, bitmap, &gather);
	rc = iova_bitmap_for_each(bitmap, &read, iopt_read_dirty_window);
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(domain, &gather);
	iova_bitmap_free(bitmap);
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}
