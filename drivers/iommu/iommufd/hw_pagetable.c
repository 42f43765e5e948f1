// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables: IOMMU domains that mirror an IOAS.
 */
#include <linux/iommu.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/**
 * iommufd_hw_pagetable_alloc() - a new, empty IOMMU domain for an IOAS
 * @ictx: the iommufd
 * @ioas: the IOAS, held by the caller
 * @dev: a device whose IOMMU makes the domain
 * @flags: IOMMU_HWPT_ALLOC_DIRTY_TRACKING, or 0
 *
 * The domain is made for @dev's IOMMU (iommu_paging_domain_alloc()): with
 * most drivers it can be filled before a device is attached to it.  When
 * @dev's IOMMU can enforce cache coherency, the domain enforces it from the
 * start, before anything is mapped.  The page table is not published,
 * and its domain maps nothing until iommufd_hw_pagetable_fill(): the
 * caller fills, then finalizes it, or aborts it.
 *
 * Return: the page table, or an ERR_PTR: -ENOMEM; -EINVAL when the domain
 * refuses to enforce cache coherency for a device that can; -EOPNOTSUPP
 * for dirty tracking that @dev's IOMMU cannot do; or an error of the IOMMU
 * driver.
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct device *dev, u32 flags)
{
	u32 paging_flags = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING ?
				   IOMMU_PAGING_DIRTY_TRACKING : 0;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	/* A device that cannot track dirty pages could not attach. */
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);

	hwpt = iommufd_object_alloc(ictx, struct iommufd_hw_pagetable,
				    IOMMUFD_OBJ_HWPT);
	if (IS_ERR(hwpt))
		return hwpt;
	INIT_LIST_HEAD(&hwpt->hwpt_item);

	hwpt->domain = iommu_paging_domain_alloc_flags(dev, paging_flags);
	if (IS_ERR(hwpt->domain)) {
		rc = PTR_ERR(hwpt->domain);
		goto err_abort;
	}
	/*
	 * Enforce cache coherency now, while the domain is empty: 6.1's
	 * intel-iommu sets the snoop bit only in the PTEs it writes after.
	 */
	if (device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY)) {
		const struct iommu_domain_ops *ops = hwpt->domain->ops;

		if (!ops->enforce_cache_coherency ||
		    !ops->enforce_cache_coherency(hwpt->domain)) {
			rc = -EINVAL;
			goto err_free;
		}
		hwpt->enforce_cache_coherency = true;
	}
	hwpt->ioas = ioas;
	refcount_inc(&ioas->obj.users);
	return hwpt;

err_free:
	iommu_domain_free(hwpt->domain);
err_abort:
	iommufd_object_abort(ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

/**
 * iommufd_hw_pagetable_fill() - make a page table mirror its IOAS
 * @hwpt: a page table from iommufd_hw_pagetable_alloc(), not filled yet
 *
 * Maps every mapping of the IOAS into the domain; from then on the domain
 * follows the IOAS's maps and unmaps until the page table is destroyed.
 *
 * Return: 0, or an error of iopt_table_add_domain(), after which the
 * domain maps nothing.
 */
int iommufd_hw_pagetable_fill(struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	rc = iopt_table_add_domain(&hwpt->ioas->iopt, hwpt->domain);
	if (!rc)
		hwpt->filled = true;
	return rc;
}

void iommufd_hw_pagetable_destroy(struct iommufd_object *obj)
{
	struct iommufd_hw_pagetable *hwpt =
		container_of(obj, struct iommufd_hw_pagetable, obj);
	struct iommufd_ioas *ioas = hwpt->ioas;

	/*
	 * Only a page table the kernel made is on the IOAS's list, from
	 * before it was published; the attach that made it may be destroying
	 * it again, holding the IOAS's mutex, before it got there.
	 */
	if (!list_empty(&hwpt->hwpt_item)) {
		mutex_lock(&ioas->mutex);
		list_del_init(&hwpt->hwpt_item);
		mutex_unlock(&ioas->mutex);
	}

	if (hwpt->filled)
		iopt_table_remove_domain(&ioas->iopt, hwpt->domain);
	/* The MSI window reserved for the domain's cookie */
	if (hwpt->msi_cookie)
		iopt_remove_reserved_iova(&ioas->iopt, hwpt);
	iommu_domain_free(hwpt->domain);
	refcount_dec(&ioas->obj.users);
}

/**
 * iommufd_hwpt_alloc() - IOMMU_HWPT_ALLOC: a page table a user makes
 * @ucmd: the call, with a struct iommu_hwpt_alloc
 *
 * The page table is made for the IOMMU of the bound device @dev_id and
 * filled with the mappings of the IOAS @pt_id, whose changes it follows
 * from then on.  It is the user's: attaches to the IOAS do not pick it up,
 * it stays when its last device is detached, and it goes with
 * IOMMU_DESTROY (-EBUSY while a device is attached), or with the iommufd.
 * It holds its IOAS, which cannot be destroyed before it.
 *
 * With IOMMU_HWPT_ALLOC_DIRTY_TRACKING the page table can track the pages
 * its devices write (IOMMU_HWPT_SET_DIRTY_TRACKING), and only devices
 * whose IOMMU can do so attach to it; it is refused with -EOPNOTSUPP when
 * the device's IOMMU cannot.  No IOMMU driver of this kernel nests page
 * tables, and iommufd has no fault queues: IOMMU_HWPT_ALLOC_NEST_PARENT,
 * IOMMU_HWPT_FAULT_ID_VALID and every @data_type but IOMMU_HWPT_DATA_NONE
 * are refused with -EOPNOTSUPP.
 *
 * Return: 0; -EOPNOTSUPP for a flag, data type or reserved field this
 * kernel does not know or support, or for a nested page table without
 * data; -EINVAL for data without a data type, or a data type without
 * data, for @pt_id naming nothing, or neither an IOAS nor a page table,
 * or a page table that is no nesting parent; -ENOENT when @dev_id names
 * no bound device; the errors of the
 * IOMMU driver's allocation and of filling the page table (see
 * iommufd_device_attach()); -EFAULT when the reply cannot be written,
 * and then no page table is made.
 */
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	const u32 known = IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			  IOMMU_HWPT_FAULT_ID_VALID;
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags & ~known || cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	/*
	 * Data goes with a data type (IOMMU_HWPT_DATA_NONE is 0), and its
	 * length says whether there is any: the pointer is not read then.
	 */
	if (!cmd->data_len != !cmd->data_type)
		return -EINVAL;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	/* As mainline: -EINVAL, not -ENOENT, when @pt_id names nothing */
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		break;
	case IOMMUFD_OBJ_HWPT:
		/*
		 * A nested page table, which needs the driver's data, of a
		 * nesting parent, which this kernel never makes.
		 */
		rc = cmd->flags || cmd->data_type == IOMMU_HWPT_DATA_NONE ?
			     -EOPNOTSUPP : -EINVAL;
		goto out_put_pt;
	default:
		rc = -EINVAL;
		goto out_put_pt;
	}
	if (cmd->flags & ~IOMMU_HWPT_ALLOC_DIRTY_TRACKING ||
	    cmd->data_type != IOMMU_HWPT_DATA_NONE) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	ioas = container_of(pt_obj, struct iommufd_ioas, obj);

	hwpt = iommufd_hw_pagetable_alloc(ucmd->ictx, ioas, idev->dev,
					  cmd->flags);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_put_pt;
	}
	rc = iommufd_hw_pagetable_fill(hwpt);
	if (rc)
		goto out_abort;
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
	goto out_put_pt;

out_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/*
 * The page table @id, for the dirty tracking ioctls; -EOPNOTSUPP, as
 * mainline, when it was made without dirty tracking.
 */
static struct iommufd_hw_pagetable *
iommufd_get_dirty_hwpt(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (!hwpt->domain->dirty_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return hwpt;
}

/**
 * iommufd_hwpt_set_dirty_tracking() - IOMMU_HWPT_SET_DIRTY_TRACKING
 * @ucmd: the call, with a struct iommu_hwpt_set_dirty_tracking
 *
 * Starts or stops recording the pages the devices of a page table made
 * with IOMMU_HWPT_ALLOC_DIRTY_TRACKING write.  Starting forgets what was
 * recorded before.
 *
 * As mainline, @__reserved is not checked.
 *
 * Return: 0; -EOPNOTSUPP for unknown flags, or a page table made without
 * dirty tracking; -ENOENT when @hwpt_id names no page table; errors of the
 * IOMMU driver.
 */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hwpt = iommufd_get_dirty_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	rc = iopt_set_dirty_tracking(&hwpt->ioas->iopt, hwpt->domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/**
 * iommufd_hwpt_get_dirty_bitmap() - IOMMU_HWPT_GET_DIRTY_BITMAP
 * @ucmd: the call, with a struct iommu_hwpt_get_dirty_bitmap
 *
 * Sets the bits of the pages of a mapped IOVA range that the page table's
 * devices wrote since tracking started or since the last report without
 * IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, and, without that flag, clears
 * their dirty state.  The caller clears the bitmap before.
 *
 * With tracking off the report is whatever the IOMMU recorded before.
 *
 * Return: 0; -EOPNOTSUPP for unknown flags, a reserved field that is not
 * 0, or a page table made without dirty tracking; -ENOENT when @hwpt_id
 * names no page table, or part of the range is not mapped; -EINVAL for an
 * empty range, one that is not aligned to the IOAS's alignment and to the
 * page size, or a page size that is not a power of two (mainline takes
 * one); -EOVERFLOW for a range that wraps; -EFAULT when the bitmap cannot
 * be written.
 */
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova > ULONG_MAX || cmd->length > ULONG_MAX ||
	    cmd->page_size > ULONG_MAX)
		return -EOVERFLOW;
	hwpt = iommufd_get_dirty_hwpt(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	rc = iopt_read_dirty(&hwpt->ioas->iopt, hwpt->domain, cmd->iova,
			     cmd->length, cmd->page_size,
			     u64_to_user_ptr(cmd->data),
			     cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ?
				     IOMMU_DIRTY_NO_CLEAR : 0);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}
