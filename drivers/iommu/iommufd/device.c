// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices bound to an iommufd, and their attachment to page tables.
 *
 * Binding claims DMA ownership of one device; the iommu core checks that
 * its IOMMU group allows it (iommu_device_claim_dma_owner()).  Attaching
 * makes the device's DMA go through a page table that mirrors an IOAS.
 */
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow binding devices whose MSIs the platform cannot isolate (interrupt remapping missing): a device could then raise interrupts it does not own. Default: refuse.");

static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct device *dev)
{
	struct iommufd_group *igroup, *new;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new) {
		iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}

	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	if (igroup) {
		igroup->refs++;
		mutex_unlock(&ictx->groups_lock);
		iommu_group_put(group);
		kfree(new);
		return igroup;
	}
	new->refs = 1;
	new->ictx = ictx;
	new->group = group;
	mutex_init(&new->lock);
	INIT_LIST_HEAD(&new->devices);
	rc = xa_err(xa_store(&ictx->groups, iommu_group_id(group), new,
			     GFP_KERNEL_ACCOUNT));
	mutex_unlock(&ictx->groups_lock);
	if (rc) {
		mutex_destroy(&new->lock);
		kfree(new);
		iommu_group_put(group);
		return ERR_PTR(rc);
	}
	return new;
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	struct iommufd_ctx *ictx = igroup->ictx;

	mutex_lock(&ictx->groups_lock);
	if (--igroup->refs) {
		mutex_unlock(&ictx->groups_lock);
		return;
	}
	xa_erase(&ictx->groups, iommu_group_id(igroup->group));
	mutex_unlock(&ictx->groups_lock);

	WARN_ON(igroup->hwpt || !list_empty(&igroup->devices));
	mutex_destroy(&igroup->lock);
	iommu_group_put(igroup->group);
	kfree(igroup);
}

/*
 * Without interrupt remapping (or an MSI controller that isolates) a
 * device can write to the MSI window any message it likes.
 */
static int iommufd_check_msi_isolation(struct device *dev)
{
	if (device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ||
	    irq_domain_check_msi_remap())
		return 0;
	if (!allow_unsafe_interrupts) {
		dev_warn(dev,
			 "MSIs of this device are not isolated (no interrupt remapping): refusing to bind it; iommufd.allow_unsafe_interrupts=1 overrides\n");
		return -EPERM;
	}
	dev_warn(dev,
		 "MSIs of this device are not isolated (no interrupt remapping): bound because iommufd.allow_unsafe_interrupts is set\n");
	return 0;
}

/**
 * iommufd_device_bind - bind a device to an iommufd
 * @ictx: the iommufd; the caller keeps it referenced until unbind
 * @dev: the device
 * @id: returns the ID of the device object, which userspace names the
 *	device by
 *
 * Claims DMA ownership of @dev for @ictx.  The claim succeeds only when
 * every other device of its IOMMU group is driverless, bound to a driver
 * that manages DMA itself, or bound to @ictx too; from then on the
 * device's DMA is blocked until it is attached, and no kernel driver that
 * uses the DMA API can probe a device of the group.
 *
 * Return: the bound device, or an ERR_PTR: -EINVAL when @dev's IOMMU cannot
 * make DMA cache coherent; -ENODEV when @dev has no IOMMU group, -EPERM
 * when its MSIs cannot be isolated or its group is in use by another
 * owner or a kernel driver (the kernel log names the device and driver in
 * the way), -EBUSY when its group is attached to another user's domain.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_device *idev;
	struct iommufd_group *igroup;
	int rc;

	/* Mappings are IOMMU_CACHE: the IOMMU must make DMA coherent. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);
	rc = iommufd_check_msi_isolation(dev);
	if (rc)
		return ERR_PTR(rc);

	igroup = iommufd_get_group(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);

	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_put_group;
	mutex_lock(&ictx->groups_lock);
	igroup->owned++;
	mutex_unlock(&ictx->groups_lock);

	idev = iommufd_object_alloc(ictx, struct iommufd_device,
				    IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_release_owner;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->igroup = igroup;
	/* The binder holds a long-term use: userspace cannot destroy it. */
	refcount_inc(&idev->obj.users);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;

out_release_owner:
	mutex_lock(&ictx->groups_lock);
	igroup->owned--;
	mutex_unlock(&ictx->groups_lock);
	iommu_device_release_dma_owner(dev);
out_put_group:
	iommufd_put_group(igroup);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_to_id - the ID userspace names a bound device by
 * @idev: the device
 *
 * Return: the ID iommufd_device_bind() returned.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_ctx_has_group - whether a device of a group is bound to an iommufd
 * @ictx: the iommufd
 * @group: the IOMMU group
 *
 * A device bound to @ictx makes its whole group owned by @ictx: no other
 * user can have any device of it.
 *
 * Return: true when a device of @group is bound to @ictx.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool ret = false;

	if (!ictx || !group)
		return false;
	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	if (igroup)
		ret = igroup->owned;
	mutex_unlock(&ictx->groups_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

/**
 * iommufd_device_unbind - undo iommufd_device_bind()
 * @idev: a device bound, and detached
 *
 * Releases the DMA ownership: the last device of a group bound to the
 * iommufd gives the group back to the kernel.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	iommufd_object_destroy_kernel(idev->ictx, &idev->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	if (WARN_ON(idev->hwpt))
		iommufd_device_detach(idev);
	mutex_lock(&idev->ictx->groups_lock);
	idev->igroup->owned--;
	mutex_unlock(&idev->ictx->groups_lock);
	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
}

/*
 * Keep the device's reserved regions out of the IOAS.  A direct-mapped
 * region the device can do without (IOMMU_RESV_DIRECT_RELAXABLE: the RMRR
 * of a USB controller or of integrated graphics) is not reserved, as
 * type1 does not reserve it: the user may map over it.
 */
static int iommufd_device_reserve_regions(struct iommufd_device *idev,
					  struct io_pagetable *iopt)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);
	int rc = 0;

	iommu_get_resv_regions(idev->dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		rc = iopt_reserve_iova(iopt, resv->start,
				       resv->start + resv->length - 1, idev);
		if (rc)
			break;
	}
	iommu_put_resv_regions(idev->dev, &regions);
	if (rc)
		iopt_remove_reserved_iova(iopt, idev);
	return rc;
}

/* Serializes the first MSI cookie of a page table's domain. */
static DEFINE_MUTEX(iommufd_msi_cookie_lock);

/*
 * A device whose MSIs go through an IOVA window software manages
 * (IOMMU_RESV_SW_MSI: an SMMU in front of a GICv3 ITS) needs its domain to
 * map its MSI doorbell there, as dma-iommu does for the kernel: give the
 * domain an MSI cookie at that window before the device is attached to
 * it, as type1 does.  One cookie serves every device of the domain.  As
 * with type1, the doorbell is mapped when the device's MSIs are set up:
 * a device that moves to another domain with its MSIs enabled must have
 * them set up again there.
 */
static int iommufd_device_setup_msi(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	phys_addr_t sw_msi_start = PHYS_ADDR_MAX;
	struct iommu_resv_region *resv;
	size_t sw_msi_length = 0;
	LIST_HEAD(regions);
	int rc = 0;

	iommu_get_resv_regions(idev->dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		if (resv->type == IOMMU_RESV_SW_MSI) {
			sw_msi_start = resv->start;
			sw_msi_length = resv->length;
			break;
		}
	}
	iommu_put_resv_regions(idev->dev, &regions);
	if (sw_msi_start == PHYS_ADDR_MAX || !sw_msi_length)
		return 0;

	mutex_lock(&iommufd_msi_cookie_lock);
	if (!hwpt->msi_cookie) {
		/*
		 * The cookie maps doorbells in the window for as long as the
		 * domain lives: the window stays reserved as long, not only
		 * while this device is attached.
		 */
		rc = iopt_reserve_iova(&hwpt->ioas->iopt, sw_msi_start,
				       sw_msi_start + sw_msi_length - 1, hwpt);
		if (!rc)
			rc = iommu_get_msi_cookie(hwpt->domain, sw_msi_start);
		if (!rc)
			hwpt->msi_cookie = true;
		else
			iopt_remove_reserved_iova(&hwpt->ioas->iopt, hwpt);
	}
	mutex_unlock(&iommufd_msi_cookie_lock);
	return rc;
}

/*
 * A device whose IOMMU can enforce cache coherency gets a page table that
 * enforces it; one that cannot does not share such a page table, and gets
 * one of its own from the automatic attach instead.  A page table enforces
 * it from its allocation on, before anything is mapped (6.1's intel-iommu
 * sets the snoop bit only in PTEs it writes afterwards), or never.
 */
static int iommufd_device_check_coherency(struct iommufd_device *idev,
					  struct iommufd_hw_pagetable *hwpt)
{
	bool enforced = hwpt->enforce_cache_coherency;

	if (device_iommu_capable(idev->dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY))
		return enforced ? 0 : -EINVAL;
	return enforced ? -EINVAL : 0;
}

/*
 * Attach @idev to @hwpt; the devices of a group share one page table.
 * Nothing is replaced: *@old is set to NULL.
 */
static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt,
				    struct iommufd_hw_pagetable **old)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	int rc;

	*old = NULL;
	mutex_lock(&igroup->lock);
	if (idev->hwpt || (igroup->hwpt && igroup->hwpt != hwpt)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = iommufd_device_check_coherency(idev, hwpt);
	if (rc)
		goto out_unlock;
	rc = iommufd_device_setup_msi(idev, hwpt);
	if (rc)
		goto out_unlock;
	rc = iommufd_device_reserve_regions(idev, iopt);
	if (rc)
		goto out_unlock;
	if (!igroup->hwpt) {
		if (iommufd_should_fail())
			rc = -ENOMEM;
		else
			rc = iommu_attach_group(hwpt->domain, igroup->group);
		if (rc) {
			iopt_remove_reserved_iova(iopt, idev);
			goto out_unlock;
		}
		igroup->hwpt = hwpt;
	}
	list_add_tail(&idev->group_item, &igroup->devices);
	idev->hwpt = hwpt;
	refcount_inc(&hwpt->obj.users);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/*
 * Detach @idev: its group's DMA is blocked once no device of it is
 * attached.  Returns the page table left, on which the device's use is
 * still held, or NULL when @idev was not attached.
 */
static struct iommufd_hw_pagetable *
__iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->lock);
	hwpt = idev->hwpt;
	if (WARN_ON(!hwpt)) {
		mutex_unlock(&igroup->lock);
		return NULL;
	}
	idev->hwpt = NULL;
	list_del(&idev->group_item);
	if (list_empty(&igroup->devices)) {
		iommu_detach_group(hwpt->domain, igroup->group);
		igroup->hwpt = NULL;
	}
	iopt_remove_reserved_iova(&hwpt->ioas->iopt, idev);
	mutex_unlock(&igroup->lock);
	return hwpt;
}

/*
 * Attach or move (@do_attach) to an IOAS: to a page table the kernel made
 * for it before, if the device's IOMMU can use one, or else to a new one.
 */
static int iommufd_device_auto_get(struct iommufd_device *idev,
				   struct iommufd_ioas *ioas,
				   struct iommufd_hw_pagetable **out,
				   struct iommufd_hw_pagetable **old,
				   int (*do_attach)(struct iommufd_device *idev,
						    struct iommufd_hw_pagetable *hwpt,
						    struct iommufd_hw_pagetable **old))
{
	struct iommufd_hw_pagetable *hwpt;
	bool immediate_attach;
	int rc;

again:
	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		/* One being destroyed has no use left: leave it alone. */
		if (!refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		rc = do_attach(idev, hwpt, old);
		if (!rc) {
			/* The device holds its own use now. */
			refcount_dec(&hwpt->obj.users);
			*out = hwpt;
			goto out_unlock;
		}
		/*
		 * The trial's use may be the last one but the table's (2):
		 * its devices left meanwhile.  Then dropping it destroys the
		 * page table, which takes the IOAS's mutex: drop it
		 * unlocked, and look again.  No other trial can take a use
		 * meanwhile, as they all hold the mutex.
		 */
		if (!atomic_add_unless(&hwpt->obj.users.refs, -1, 2)) {
			mutex_unlock(&ioas->mutex);
			iommufd_object_put_destroy(idev->ictx, &hwpt->obj);
			if (rc != -EINVAL && rc != -EMEDIUMTYPE)
				return rc;
			goto again;
		}
		/* An incompatible domain: try the next, or a new one. */
		if (rc != -EINVAL && rc != -EMEDIUMTYPE)
			goto out_unlock;
	}

	/*
	 * A new page table.  Many IOMMU drivers of this kernel (virtio-iommu,
	 * arm-smmu) give a domain its page sizes and aperture only at its
	 * first attach, and cannot map into it before: a plain attach attaches
	 * the device to the empty domain first, which blocks its DMA as it was
	 * blocked before, and fills it after.  A replace fills it first, so
	 * that the group's DMA never meets an empty page table.
	 */
	immediate_attach = do_attach == iommufd_device_do_attach;
	hwpt = iommufd_hw_pagetable_alloc(idev->ictx, ioas, idev->dev, 0);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_unlock;
	}
	hwpt->auto_domain = true;
	if (!immediate_attach) {
		rc = iommufd_hw_pagetable_fill(hwpt);
		if (rc)
			goto out_abort;
	}
	rc = do_attach(idev, hwpt, old);
	if (rc)
		goto out_abort;
	if (immediate_attach) {
		rc = iommufd_hw_pagetable_fill(hwpt);
		if (rc)
			goto out_detach;
	}
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
	*out = hwpt;
	goto out_unlock;

out_detach:
	__iommufd_device_detach(idev);
	/* The use the attach took: the page table's own one is left. */
	refcount_dec(&hwpt->obj.users);
out_abort:
	iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
	return rc;
}

/*
 * Drop @idev's use of @hwpt; a page table the kernel made goes with its
 * last device.  Devices detaching at once decide in turn, under the object
 * table's lock, so exactly one of them destroys it.  An attach looking for
 * a page table on the IOAS's list meanwhile skips one with no use left.
 */
static void iommufd_hw_pagetable_put(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt)
{
	lockdep_assert_not_held(&hwpt->ioas->mutex);

	if (hwpt->auto_domain)
		iommufd_object_put_destroy(idev->ictx, &hwpt->obj);
	else
		refcount_dec(&hwpt->obj.users);
}

/*
 * Attach or move (@do_attach) @idev to the page table or IOAS @pt_id.  The
 * use of a page table left is dropped once no IOAS lock is held, as
 * dropping it may destroy it.
 */
static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id,
				    int (*do_attach)(struct iommufd_device *idev,
						     struct iommufd_hw_pagetable *hwpt,
						     struct iommufd_hw_pagetable **old))
{
	struct iommufd_hw_pagetable *hwpt = NULL, *old = NULL;
	struct iommufd_object *obj;
	struct iommufd_ioas *ioas;
	int rc;

	obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return PTR_ERR(obj);

	switch (obj->type) {
	case IOMMUFD_OBJ_HWPT:
		hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
		rc = do_attach(idev, hwpt, &old);
		break;
	case IOMMUFD_OBJ_IOAS:
		ioas = container_of(obj, struct iommufd_ioas, obj);
		rc = iommufd_device_auto_get(idev, ioas, &hwpt, &old,
					     do_attach);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (!rc)
		*pt_id = hwpt->obj.id;
	iommufd_put_object(idev->ictx, obj);
	if (old)
		iommufd_hw_pagetable_put(idev, old);
	return rc;
}

/**
 * iommufd_device_attach - attach a bound device to a page table
 * @idev: the device
 * @pt_id: in: the ID of an IOAS or of a hardware page table; out: the ID
 *	of the hardware page table attached
 *
 * Attaching to an IOAS uses a page table the kernel manages for it: one
 * already made, when the device's IOMMU can use it, or a new one.  The
 * device's reserved regions are taken out of the IOAS.
 *
 * Return: 0; -ENOENT when @pt_id names no IOAS or page table; -EINVAL when
 * the device is attached already, or its group is attached elsewhere;
 * -EADDRINUSE when a mapping of the IOAS lies in a reserved region or
 * outside the aperture of the device's IOMMU, or is not aligned to its
 * smallest page; for the first page table of
 * the IOAS, which pins its memory, -ENOMEM beyond RLIMIT_MEMLOCK, -EFAULT
 * when memory is gone, -EINTR on a fatal signal; other errors of the IOMMU
 * driver.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, iommufd_device_do_attach);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/* Take the reserved regions of @igroup's attached devices out of @iopt. */
static int iommufd_group_reserve_regions(struct iommufd_group *igroup,
					 struct io_pagetable *iopt)
{
	struct iommufd_device *cur;
	int rc;

	lockdep_assert_held(&igroup->lock);

	list_for_each_entry(cur, &igroup->devices, group_item) {
		rc = iommufd_device_reserve_regions(cur, iopt);
		if (rc)
			goto err_remove;
	}
	return 0;

err_remove:
	list_for_each_entry_continue_reverse(cur, &igroup->devices, group_item)
		iopt_remove_reserved_iova(iopt, cur);
	return rc;
}

static void iommufd_group_remove_reserved(struct iommufd_group *igroup,
					  struct io_pagetable *iopt)
{
	struct iommufd_device *cur;

	lockdep_assert_held(&igroup->lock);

	list_for_each_entry(cur, &igroup->devices, group_item)
		iopt_remove_reserved_iova(iopt, cur);
}

/*
 * Move the group of @idev, with every device of it attached, to @hwpt,
 * with no window in which their DMA is blocked.  The caller drops the use
 * of the page table left, *@old_out, once it holds no IOAS lock: dropping
 * it may destroy it, which takes its IOAS's mutex.
 */
static int iommufd_device_do_replace(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_hw_pagetable **old_out)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old;
	struct iommufd_device *cur;
	unsigned int num = 0;
	int rc;

	*old_out = NULL;
	mutex_lock(&igroup->lock);
	old = idev->hwpt;
	if (!old) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (old == hwpt) {
		rc = 0;
		goto out_unlock;
	}
	list_for_each_entry(cur, &igroup->devices, group_item) {
		rc = iommufd_device_check_coherency(cur, hwpt);
		if (rc)
			goto out_unlock;
		rc = iommufd_device_setup_msi(cur, hwpt);
		if (rc)
			goto out_unlock;
		num++;
	}
	if (hwpt->ioas != old->ioas) {
		rc = iommufd_group_reserve_regions(igroup, &hwpt->ioas->iopt);
		if (rc)
			goto out_unlock;
	}
	if (iommufd_should_fail())
		rc = -ENOMEM;
	else
		rc = iommu_group_replace_domain(igroup->group, hwpt->domain);
	if (rc) {
		if (hwpt->ioas != old->ioas)
			iommufd_group_remove_reserved(igroup,
						      &hwpt->ioas->iopt);
		goto out_unlock;
	}
	if (hwpt->ioas != old->ioas)
		iommufd_group_remove_reserved(igroup, &old->ioas->iopt);
	list_for_each_entry(cur, &igroup->devices, group_item)
		cur->hwpt = hwpt;
	igroup->hwpt = hwpt;
	refcount_add(num, &hwpt->obj.users);
	/* The page table keeps its own use: the caller drops the last. */
	WARN_ON(refcount_sub_and_test(num - 1, &old->obj.users));
	*old_out = old;
	mutex_unlock(&igroup->lock);
	return 0;

out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/**
 * iommufd_device_replace - move an attached device to another page table
 * @idev: an attached device
 * @pt_id: in: the ID of an IOAS or of a hardware page table; out: the ID
 *	of the hardware page table attached
 *
 * The device's DMA goes from the old page table straight to the new one,
 * with no window in which it is blocked: a new page table is filled
 * before the group moves to it, which needs an IOMMU driver that can map
 * into a domain before its first attach.  The devices of an IOMMU group
 * share one page table: the other attached devices of @idev's group move
 * with it.  For an IOAS, a page table the kernel made for it is used when
 * the device's IOMMU can, or a new one.
 *
 * Return: 0; -ENOENT when @pt_id names no IOAS or page table; -EINVAL when
 * the device is not attached, the page table cannot serve a device of
 * its group, or a new one cannot be filled before it is attached; errors
 * of the attach.  On failure nothing moves.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, iommufd_device_do_replace);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach - detach a device from its page table
 * @idev: an attached device
 *
 * The device's DMA is blocked once no device of its group is attached.  A
 * page table the kernel made for an IOAS goes with its last device.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = __iommufd_device_detach(idev);

	if (hwpt)
		iommufd_hw_pagetable_put(idev, hwpt);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/**
 * iommufd_get_hw_info() - IOMMU_GET_HW_INFO: describe a device's IOMMU
 * @ucmd: the call, with a struct iommu_hw_info
 *
 * The IOMMU driver's report (&iommu_ops.hw_info), of type
 * @out_data_type, is copied to @data_uptr: at most @data_len bytes of it,
 * and the rest of a longer buffer is zeroed.  @data_len returns the
 * length of the whole report, so that a short buffer can be grown.  A
 * driver with nothing to report gives IOMMU_HW_INFO_TYPE_NONE and a length
 * of 0.  @out_capabilities has IOMMU_HW_CAP_DIRTY_TRACKING when the
 * device's IOMMU can track dirty pages.  No IOMMU driver of this kernel
 * offers PASIDs through iommufd: @out_max_pasid_log2 is 0.
 *
 * Return: 0; -EOPNOTSUPP for flags or a reserved field that is not 0;
 * -ENOENT when @dev_id names no bound device; -EFAULT when the buffer or
 * the reply cannot be written; errors of the driver's report.
 */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *buf = u64_to_user_ptr(cmd->data_uptr);
	u32 type = IOMMU_HW_INFO_TYPE_NONE, len = 0, copy;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	void *data = NULL;
	int rc;

	if (cmd->flags || memchr_inv(cmd->__reserved, 0,
				     sizeof(cmd->__reserved)))
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	ops = dev_iommu_ops(idev->dev);
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			goto out_put;
		}
		if (WARN_ON_ONCE(!data ||
				 (type == IOMMU_HW_INFO_TYPE_NONE && len))) {
			rc = -ENODEV;
			goto out_free;
		}
	}

	copy = min(cmd->data_len, len);
	if (copy_to_user(buf, data, copy) ||
	    clear_user(buf + copy, cmd->data_len - copy)) {
		rc = -EFAULT;
		goto out_free;
	}
	cmd->data_len = len;
	cmd->out_data_type = type;
	cmd->out_max_pasid_log2 = 0;
	cmd->out_capabilities = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
