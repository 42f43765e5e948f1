// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables: IOMMU domains that mirror an IOAS.
 */
#include <linux/iommu.h>

#include "iommufd_private.h"

/**
 * iommufd_hw_pagetable_alloc() - a new IOMMU domain mirroring an IOAS
 * @ictx: the iommufd
 * @ioas: the IOAS, held by the caller
 * @dev: a device whose IOMMU makes the domain
 *
 * The page table is not published: the caller finalizes or aborts it.
 *
 * Return: the page table, or an ERR_PTR: -ENOMEM, or an error of
 * iopt_table_add_domain() when the domain cannot hold the IOAS.
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

	hwpt->domain = iommu_domain_alloc(dev->bus);
	if (!hwpt->domain) {
		rc = -ENOMEM;
		goto out_abort;
	}
	rc = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (rc)
		goto out_free_domain;

	hwpt->ioas = ioas;
	refcount_inc(&ioas->obj.users);
	return hwpt;

out_free_domain:
	iommu_domain_free(hwpt->domain);
out_abort:
	iommufd_object_abort(ictx, &hwpt->obj);
	return ERR_PTR(rc);
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

	iopt_table_remove_domain(&ioas->iopt, hwpt->domain);
	iommu_domain_free(hwpt->domain);
	refcount_dec(&ioas->obj.users);
}
