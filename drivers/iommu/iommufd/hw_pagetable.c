// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables: IOMMU domains that mirror an IOAS.
 */
#include <linux/iommu.h>

#include "iommufd_private.h"

/**
 * iommufd_hw_pagetable_alloc() - a new, empty IOMMU domain for an IOAS
 * @ictx: the iommufd
 * @ioas: the IOAS, held by the caller
 * @dev: a device whose IOMMU makes the domain
 *
 * The domain is made for @dev's IOMMU (iommu_paging_domain_alloc()): with
 * most drivers it can be filled before a device is attached to it.  When
 * @dev's IOMMU can enforce cache coherency, the domain enforces it from the
 * start, before anything is mapped.  The page table is not published,
 * and its domain maps nothing until iommufd_hw_pagetable_fill(): the
 * caller fills, then finalizes it, or aborts it.
 *
 * Return: the page table, or an ERR_PTR: -ENOMEM; -EINVAL when the domain
 * refuses to enforce cache coherency for a device that can; or an error of
 * the IOMMU driver.
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct device *dev)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	hwpt = iommufd_object_alloc(ictx, struct iommufd_hw_pagetable,
				    IOMMUFD_OBJ_HWPT);
	if (IS_ERR(hwpt))
		return hwpt;
	INIT_LIST_HEAD(&hwpt->hwpt_item);

	hwpt->domain = iommu_paging_domain_alloc(dev);
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
