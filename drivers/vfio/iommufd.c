// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO devices on iommufd.
 *
 * A physical device is bound to an iommufd as an iommufd device, which
 * claims DMA ownership of that one device, and is attached to an IOAS or a
 * hardware page table.  An emulated device is bound as an iommufd access:
 * its driver pins and reads or writes the IOAS through it, and its
 * dma_unmap callback is called before the pages it pinned go away.
 */
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfio.h"

/*
 * Bind @device, being opened, to @ictx; a device opened through its group
 * (@compat_ioas) is attached to the IOAS of the VFIO compatibility path at
 * once, as it would be to a container.
 */
int vfio_iommufd_bind(struct vfio_device *device, struct iommufd_ctx *ictx,
		      u32 *devid, bool compat_ioas)
{
	u32 ioas_id;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (!device->ops->bind_iommufd)
		return -ENODEV;
	ret = device->ops->bind_iommufd(device, ictx, devid);
	if (ret)
		return ret;
	if (compat_ioas) {
		ret = iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
		if (ret)
			goto err_unbind;
		ret = device->ops->attach_ioas(device, &ioas_id);
		if (ret)
			goto err_unbind;
	}
	device->iommufd_ictx = ictx;
	return 0;

err_unbind:
	device->ops->unbind_iommufd(device);
	return ret;
}

void vfio_iommufd_unbind(struct vfio_device *device)
{
	lockdep_assert_held(&device->dev_set->lock);

	device->ops->unbind_iommufd(device);
	device->iommufd_ictx = NULL;
}

/**
 * vfio_iommufd_device_ictx - the iommufd a device open through its cdev uses
 * @vdev: an open device
 *
 * Return: the iommufd @vdev is bound to through its cdev, or NULL when it
 * is open through its group.  The file of @vdev holds it.
 */
struct iommufd_ctx *vfio_iommufd_device_ictx(struct vfio_device *vdev)
{
	if (!vfio_device_cdev_opened(vdev))
		return NULL;
	return vdev->iommufd_ictx;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_ictx);

/**
 * vfio_iommufd_device_id - what an iommufd owns of a device
 * @vdev: a device of the caller's device set
 * @ictx: the iommufd of the caller
 *
 * A device is owned by @ictx when it is bound to it, or when another device
 * of its IOMMU group is: no other user can have any device of that group.
 * Must be called with @vdev->dev_set->lock held.
 *
 * Return: the ID of @vdev in @ictx when it is bound to it (> 0), 0 when it
 * is owned through its group only, -ENOENT when @ictx does not own it.
 */
int vfio_iommufd_device_id(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	struct iommu_group *group;
	bool owned;

	lockdep_assert_held(&vdev->dev_set->lock);

	if (!ictx)
		return -ENOENT;
	if (vdev->iommufd_ictx == ictx && vdev->iommufd_device)
		return iommufd_device_to_id(vdev->iommufd_device);
	group = iommu_group_get(vdev->dev);
	if (!group)
		return -ENOENT;
	owned = iommufd_ctx_has_group(ictx, group);
	iommu_group_put(group);
	return owned ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_id);

/**
 * vfio_iommufd_physical_bind - bind a physical device to an iommufd
 * @vdev: the device
 * @ictx: the iommufd
 * @out_device_id: returns the ID of the bound device in @ictx
 *
 * Claims DMA ownership of the device for @ictx (see iommufd_device_bind());
 * its DMA is blocked until it is attached.
 *
 * Return: 0, or the error of iommufd_device_bind(): -EPERM when another
 * user or a kernel driver has a device of its IOMMU group.
 */
int vfio_iommufd_physical_bind(struct vfio_device *vdev,
			       struct iommufd_ctx *ictx, u32 *out_device_id)
{
	struct iommufd_device *idev;

	idev = iommufd_device_bind(ictx, vdev->dev, out_device_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	vdev->iommufd_device = idev;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_bind);

/**
 * vfio_iommufd_physical_unbind - undo vfio_iommufd_physical_bind()
 * @vdev: the device; detached first when attached
 */
void vfio_iommufd_physical_unbind(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (vdev->iommufd_attached) {
		iommufd_device_detach(vdev->iommufd_device);
		vdev->iommufd_attached = false;
	}
	iommufd_device_unbind(vdev->iommufd_device);
	vdev->iommufd_device = NULL;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_unbind);

/**
 * vfio_iommufd_physical_attach_ioas - attach a bound physical device
 * @vdev: the device
 * @pt_id: in: an IOAS or hardware page table; out: the page table attached
 *
 * A device attached already moves to the new page table with no window in
 * which its DMA is blocked (iommufd_device_replace()).
 *
 * Return: 0, or the error of the attach or replace; on error the device
 * stays where it was.
 */
int vfio_iommufd_physical_attach_ioas(struct vfio_device *vdev, u32 *pt_id)
{
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);

	if (WARN_ON(!vdev->iommufd_device))
		return -EINVAL;
	if (vdev->iommufd_attached)
		return iommufd_device_replace(vdev->iommufd_device, pt_id);
	ret = iommufd_device_attach(vdev->iommufd_device, pt_id);
	if (ret)
		return ret;
	vdev->iommufd_attached = true;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_attach_ioas);

/**
 * vfio_iommufd_physical_detach_ioas - detach a bound physical device
 * @vdev: the device
 *
 * The device's DMA is blocked afterwards, unless another device of its
 * IOMMU group keeps the group's page table attached.
 */
void vfio_iommufd_physical_detach_ioas(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (WARN_ON(!vdev->iommufd_device) || !vdev->iommufd_attached)
		return;
	iommufd_device_detach(vdev->iommufd_device);
	vdev->iommufd_attached = false;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_detach_ioas);

/*
 * The IOAS unmaps [iova, iova + length): the driver must drop its pins
 * there before this returns.
 */
static void vfio_emulated_unmap(void *data, unsigned long iova,
				unsigned long length)
{
	struct vfio_device *vdev = data;

	if (vdev->ops->dma_unmap)
		vdev->ops->dma_unmap(vdev, iova, length);
}

/* A driver with dma_unmap pins pages (vfio_pin_pages()); others only rw. */
static const struct iommufd_access_ops vfio_user_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = vfio_emulated_unmap,
};

static const struct iommufd_access_ops vfio_user_ops = {
	.unmap = vfio_emulated_unmap,
};

/**
 * vfio_iommufd_emulated_bind - bind an emulated device to an iommufd
 * @vdev: the device
 * @ictx: the iommufd
 * @out_device_id: returns the ID of its access in @ictx
 *
 * The device reaches user memory through an iommufd access once attached:
 * vfio_pin_pages(), vfio_unpin_pages() and vfio_dma_rw() use it.
 *
 * Return: 0, or -ENOMEM.
 */
int vfio_iommufd_emulated_bind(struct vfio_device *vdev,
			       struct iommufd_ctx *ictx, u32 *out_device_id)
{
	struct iommufd_access *access;

	lockdep_assert_held(&vdev->dev_set->lock);

	access = iommufd_access_create(ictx,
				       vdev->ops->dma_unmap ? &vfio_user_ops_pin :
							      &vfio_user_ops,
				       vdev, out_device_id);
	if (IS_ERR(access))
		return PTR_ERR(access);
	vdev->iommufd_access = access;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_bind);

/**
 * vfio_iommufd_emulated_unbind - undo vfio_iommufd_emulated_bind()
 * @vdev: the device, with nothing pinned; detached first when attached
 */
void vfio_iommufd_emulated_unbind(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	/* The access goes whatever the detach says. */
	if (vdev->iommufd_attached)
		iommufd_access_detach(vdev->iommufd_access);
	vdev->iommufd_attached = false;
	iommufd_access_destroy(vdev->iommufd_access);
	vdev->iommufd_access = NULL;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_unbind);

/**
 * vfio_iommufd_emulated_attach_ioas - attach a bound emulated device
 * @vdev: the device
 * @pt_id: the IOAS; unchanged on return
 *
 * An emulated device has no page table: it accesses an IOAS directly, and
 * moves to another one when attached already.
 *
 * Return: 0; -ENOENT when @pt_id is no IOAS; an error of
 * iommufd_access_replace(), which takes the device's pins back through its
 * dma_unmap callback before it moves it.
 */
int vfio_iommufd_emulated_attach_ioas(struct vfio_device *vdev, u32 *pt_id)
{
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);

	if (WARN_ON(!vdev->iommufd_access))
		return -EINVAL;
	if (vdev->iommufd_attached)
		return iommufd_access_replace(vdev->iommufd_access, *pt_id);
	ret = iommufd_access_attach(vdev->iommufd_access, *pt_id);
	if (ret)
		return ret;
	vdev->iommufd_attached = true;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_attach_ioas);

/**
 * vfio_iommufd_emulated_detach_ioas - detach a bound emulated device
 * @vdev: the device
 *
 * Pages the device still has pinned are taken from it first: the driver's
 * dma_unmap callback is called for each mapping it may hold pins in, as
 * when its user unmaps everything.  A driver that keeps pins anyway stays
 * attached (with a warning).
 */
void vfio_iommufd_emulated_detach_ioas(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (WARN_ON(!vdev->iommufd_access) || !vdev->iommufd_attached)
		return;
	/* Refused when the driver kept pins: the device stays attached. */
	if (!iommufd_access_detach(vdev->iommufd_access))
		vdev->iommufd_attached = false;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_detach_ioas);
