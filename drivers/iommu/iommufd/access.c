// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel accesses to an IOAS: for emulated devices (mdev) that have no
 * IOMMU of their own and reach guest memory by IOVA through the CPU.
 *
 * An access pins the pages behind an IOVA range, or copies to and from
 * them.  Before the IOAS unmaps a range, every access attached to it is
 * told (iommufd_access_ops::unmap) and must unpin what it pinned there
 * before its callback returns; only then do the pages go.
 */
#include <linux/iommufd.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/**
 * iommufd_access_create - create an in-kernel access to IO address spaces
 * @ictx: the iommufd; the caller keeps it referenced until destroy
 * @ops: the callbacks; @ops->unmap is required
 * @data: passed to the callbacks
 * @id: returns the ID of the access object
 *
 * Return: the access, not attached to any IOAS, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	if (WARN_ON(!ops || !ops->unmap))
		return ERR_PTR(-EINVAL);

	access = iommufd_object_alloc(ictx, struct iommufd_access,
				      IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;
	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->ioas_lock);
	/* The creator holds a long-term use: userspace cannot destroy it. */
	refcount_inc(&access->obj.users);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy - destroy an access
 * @access: an access with nothing pinned
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	iommufd_object_destroy_kernel(access->ictx, &access->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/* Take @access out of @ioas, where it has index @id. */
static void iommufd_ioas_del_access(struct iommufd_access *access,
				    struct iommufd_ioas *ioas, u32 id)
{
	mutex_lock(&ioas->iopt.access_lock);
	xa_erase(&ioas->iopt.accesses, id);
	mutex_unlock(&ioas->iopt.access_lock);
	if (access->ops->needs_pin_pages)
		iopt_remove_pin_access(&ioas->iopt);
	refcount_dec(&ioas->obj.users);
}

static void __iommufd_access_detach(struct iommufd_access *access)
{
	lockdep_assert_held(&access->ioas_lock);

	iommufd_ioas_del_access(access, access->ioas, access->iopt_access_id);
	access->ioas = NULL;
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	mutex_lock(&access->ioas_lock);
	/* Pins left would keep their areas from ever being unmapped. */
	WARN_ON(access->pinned);
	if (access->ioas)
		__iommufd_access_detach(access);
	mutex_unlock(&access->ioas_lock);
	mutex_destroy(&access->ioas_lock);
}

/*
 * Add the access to the IOAS @ioas_id.  Only on success are its @ioas and
 * @iopt_access_id set: a replace still needs the old ones to leave the old
 * IOAS.
 */
static int __iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *ioas;
	u32 id;
	int rc;

	lockdep_assert_held(&access->ioas_lock);

	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/* An access that pins needs mappings of whole pages. */
	if (access->ops->needs_pin_pages) {
		rc = iopt_add_pin_access(&ioas->iopt);
		if (rc)
			goto out_put;
	}
	mutex_lock(&ioas->iopt.access_lock);
	rc = xa_alloc(&ioas->iopt.accesses, &id, access, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&ioas->iopt.access_lock);
	if (rc) {
		if (access->ops->needs_pin_pages)
			iopt_remove_pin_access(&ioas->iopt);
		goto out_put;
	}
	refcount_inc(&ioas->obj.users);
	access->ioas = ioas;
	access->iopt_access_id = id;
out_put:
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_access_attach - attach an access to an IOAS
 * @access: an access not attached
 * @ioas_id: the IOAS
 *
 * Return: 0, -EINVAL when already attached, -ENOENT when @ioas_id is no
 * IOAS, -EADDRINUSE when the access pins pages and a mapping of the IOAS
 * is not of whole pages.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	int rc;

	mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = -EINVAL;
	else
		rc = __iommufd_access_attach(access, ioas_id);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/*
 * Have @access unpin everything it holds in @iopt: its unmap callback is
 * called for each mapping with pins, with the mapping's own range, as an
 * unmap of it would.  A single call for the whole space would need a
 * length one more than the largest.
 */
static void iommufd_access_unpin_all(struct iommufd_access *access,
				     struct io_pagetable *iopt)
{
	unsigned long cur = 0, start, last;

	while (iopt_next_pinned_area(iopt, cur, &start, &last)) {
		access->ops->unmap(access->data, start, last - start + 1);
		if (last == ULONG_MAX)
			break;
		cur = last + 1;
	}
}

/*
 * Have the driver drop what @access has pinned in @ioas, through its
 * unmap callback, as an unmap would, while no new page can be pinned
 * (detaching).  Drops ioas_lock meanwhile; @ioas stays, since only a
 * detach or a replace moves the access and their callers serialize them.
 */
static void iommufd_access_take_pins_back(struct iommufd_access *access,
					  struct iommufd_ioas *ioas)
{
	lockdep_assert_held(&access->ioas_lock);

	if (!access->pinned)
		return;
	access->detaching = true;
	mutex_unlock(&access->ioas_lock);
	iommufd_access_unpin_all(access, &ioas->iopt);
	mutex_lock(&access->ioas_lock);
	access->detaching = false;
}

/**
 * iommufd_access_replace - move an attached access to another IOAS
 * @access: an attached access
 * @ioas_id: the new IOAS
 *
 * Whatever the access has pinned in the old IOAS is taken from it first,
 * as iommufd_access_detach() does: its unmap callback is called for each
 * mapping it may hold pins in, while no new page can be pinned.
 *
 * Context: Process context.  Takes and releases the access's ioas_lock;
 * calls the unmap callback without it.  May sleep.
 *
 * Return: 0; -EINVAL when not attached; -ENOENT when @ioas_id is no IOAS,
 * before anything is taken back; -EADDRINUSE when the access pins pages
 * and the new IOAS has a mapping that is not of whole pages, after the
 * pins were taken back; -EBUSY, with a warning, when the callback left
 * pages pinned, or while a detach is dropping pins; -ENOMEM.  On failure
 * the access stays attached where it was.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *old, *new;
	u32 old_id;
	int rc;

	mutex_lock(&access->ioas_lock);
	old = access->ioas;
	if (!old) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* A detach dropping pins uses the IOAS without the lock. */
	if (access->detaching) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (old->obj.id == ioas_id) {
		rc = 0;
		goto out_unlock;
	}
	/*
	 * Held until the access is in it: the pins are not taken back for
	 * a replace that fails on a wrong ID, and the IOAS cannot be
	 * destroyed while the callbacks run.
	 */
	new = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(new)) {
		rc = PTR_ERR(new);
		goto out_unlock;
	}
	if (access->pinned) {
		iommufd_access_take_pins_back(access, old);
		/* Callers serialize a replace with detach and destroy. */
		if (WARN_ON(access->pinned || access->ioas != old)) {
			rc = -EBUSY;
			goto out_put;
		}
	}
	/* Attach to the new IOAS first, so a failure moves nothing. */
	old_id = access->iopt_access_id;
	rc = __iommufd_access_attach(access, ioas_id);
	if (!rc)
		iommufd_ioas_del_access(access, old, old_id);
out_put:
	iommufd_put_object(access->ictx, &new->obj);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach - detach an access from its IOAS
 * @access: an attached access
 *
 * Whatever the access still has pinned is taken from it as an unmap of
 * the IOAS would: its unmap callback is called for each mapping it may
 * hold pins in, while no new page can be pinned, and must unpin them.
 *
 * Context: Process context.  Takes and releases the access's ioas_lock;
 * calls the unmap callback without it.  May sleep.
 *
 * Return: 0; -EINVAL when @access is not attached; -EBUSY, with a warning,
 * when the callback left pages pinned (the access then stays attached, so
 * that the pins still stop the IOAS from unmapping them) or another detach
 * or a replace is under way.
 */
int iommufd_access_detach(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	mutex_lock(&access->ioas_lock);
	ioas = access->ioas;
	if (WARN_ON(!ioas)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* Callers serialize their detaches; another one is a kernel bug. */
	if (WARN_ON(access->detaching)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	iommufd_access_take_pins_back(access, ioas);
	if (WARN_ON(access->pinned))
		rc = -EBUSY;
	else
		__iommufd_access_detach(access);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_notify_unmap() - tell the accesses of an IOAS of an unmap
 * @iopt: the IOAS's table
 * @iova: the start of the range going away
 * @length: its length
 *
 * Called by the IOAS, holding none of its locks, before it unmaps a range
 * accesses may have pinned pages of.  Each callback runs without iommufd's
 * locks, with the access kept alive, so that it can unpin.
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long iova, unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index;

	/* The callbacks unpin, which takes it. */
	lockdep_assert_not_held(&iopt->iova_rwsem);
	mutex_lock(&iopt->access_lock);
	xa_for_each(&iopt->accesses, index, access) {
		/* One being destroyed has nothing pinned. */
		if (!refcount_inc_not_zero(&access->obj.shortterm_users))
			continue;
		mutex_unlock(&iopt->access_lock);
		access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);
		mutex_lock(&iopt->access_lock);
	}
	mutex_unlock(&iopt->access_lock);
}

/**
 * iommufd_access_pin_pages - the pages behind an IOVA range
 * @access: an attached access
 * @iova: the first IOVA, page aligned
 * @length: the length, a multiple of PAGE_SIZE
 * @out_pages: receives length / PAGE_SIZE pages
 * @flags: IOMMUFD_ACCESS_RW_WRITE when the caller will write to them
 *
 * Pages no page table or access holds yet are pinned and charged; a page
 * is never pinned twice.  The pages stay valid until
 * iommufd_access_unpin_pages() with the same range, which the access must
 * call at the latest from its unmap callback for that range.
 *
 * Context: Process context.  Takes the access's ioas_lock, then the IOAS's
 * locks.  May sleep.
 *
 * Return: 0; -EINVAL for a misaligned or empty range, an access not
 * attached or being detached or made without needs_pin_pages (which also
 * warns), or an IOVA page that is not one page of memory (where a mapping
 * starts or ends inside a page); -EOVERFLOW when the range wraps, or is
 * pinned UINT_MAX times already; -ENOENT when it is not wholly mapped;
 * -EPERM for a write to memory not mapped writable; -ENOMEM beyond
 * RLIMIT_MEMLOCK; -EFAULT when the memory is gone; -EINTR on a fatal
 * signal.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	unsigned long last;
	int rc = -EINVAL;

	/* Only an access made to pin may: its IOAS has whole pages. */
	if (WARN_ON_ONCE(!access->ops->needs_pin_pages))
		return -EINVAL;
	if (!length || (iova | length) & ~PAGE_MASK)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	mutex_lock(&access->ioas_lock);
	if (access->ioas && !access->detaching)
		rc = iopt_access_pin_pages(&access->ioas->iopt, access, iova,
					   length, out_pages,
					   flags & IOMMUFD_ACCESS_RW_WRITE);
	if (!rc)
		access->pinned++;
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages - release pages of iommufd_access_pin_pages()
 * @access: the access
 * @iova: the IOVA given to iommufd_access_pin_pages()
 * @length: the length given to it
 *
 * Pages nothing else holds are unpinned and uncharged.  A range the access
 * did not pin is a bug of its driver: it is refused with a warning, and
 * nothing is unpinned.
 *
 * Context: Process context.  Takes the access's ioas_lock, then the IOAS's
 * locks.  May sleep.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	unsigned long last;

	mutex_lock(&access->ioas_lock);
	if (!WARN_ON(!access->ioas || !length || !access->pinned ||
		     (iova | length) & ~PAGE_MASK ||
		     check_add_overflow(iova, length - 1, &last) ||
		     iopt_access_unpin_pages(&access->ioas->iopt, access,
					     iova, length)))
		access->pinned--;
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw - read or write IOVA space through the CPU
 * @access: an attached access
 * @iova: the first IOVA
 * @data: the kernel buffer
 * @len: the number of bytes
 * @flags: IOMMUFD_ACCESS_RW_WRITE to copy @data into the IOVA range;
 *	IOMMUFD_ACCESS_RW_KTHREAD is accepted and changes nothing, as
 *	memory not pinned is reached through the owner's mm from any context
 *
 * Return: 0; -EINVAL for an empty range or an access not attached;
 * -EOVERFLOW when the range wraps; -ENOENT when it is not wholly mapped;
 * -EPERM for a write to memory not mapped writable; -EFAULT when memory
 * not pinned is gone.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	unsigned long last;
	int rc = -EINVAL;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &last))
		return -EOVERFLOW;
	mutex_lock(&access->ioas_lock);
	if (access->ioas)
		rc = iopt_access_rw(&access->ioas->iopt, iova, data, len,
				    flags & IOMMUFD_ACCESS_RW_WRITE);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
