// SPDX-License-Identifier: GPL-2.0-only
/*
 * A mediated DMA engine: an emulated VFIO device that reaches its user's
 * memory the way an mdev driver does, by IOVA through the VFIO core:
 * vfio_pin_pages() / vfio_unpin_pages() to hold pages, vfio_dma_rw() to
 * copy.  It works on a type1 container and on an iommufd, and shows the
 * rule an emulated device lives by: when its user unmaps an IOVA range
 * the device has pinned, the dma_unmap callback comes first and the
 * device must let go of those pages.
 *
 * The device has one MMIO region of 32-bit and 64-bit registers, read
 * and written through the device file (see the MDMA_REG_* below), and no
 * interrupts.  A command runs when it is written to MDMA_REG_COMMAND;
 * MDMA_REG_STATUS then holds 0 or a negative errno.
 *
 * Create an instance with
 *   echo $(uuidgen) > /sys/class/mdma/mdma/mdev_supported_types/mdma-1/create
 *
 * For tests of the VFIO core, the same engine can also be registered as a
 * physical device: bind any PCI device to the driver "mdma-pci" through
 * its driver_override.  The PCI device only lends its IOMMU group; the
 * engine stays emulated.  Such a device is bound to an iommufd as a
 * physical one, with no access, and the VFIO core must then refuse its
 * vfio_pin_pages() and vfio_dma_rw(), which are for emulated devices.
 */
#include <linux/device.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#define MDMA_NAME		"mdma"

/* u64: the IOVA a command works on */
#define MDMA_REG_IOVA		0x00
/* u32: pages to pin, or bytes to fill or sum */
#define MDMA_REG_COUNT		0x08
/* u32, write only: a command below */
#define MDMA_REG_COMMAND	0x0c
/*
 * pin COUNT pages from the page holding IOVA, for writing; IOVA need not be
 * page aligned, as the data addresses vfio-ccw pins are not
 */
#define  MDMA_CMD_PIN		1
#define  MDMA_CMD_UNPIN		2	/* unpin what PIN pinned */
#define  MDMA_CMD_FILL		3	/* write COUNT bytes of PATTERN at IOVA */
#define  MDMA_CMD_SUM		4	/* sum the COUNT bytes at IOVA into SUM */
/* s32, read only: result of the last command, 0 or -errno */
#define MDMA_REG_STATUS		0x10
/* u32: the byte FILL writes is its low byte */
#define MDMA_REG_PATTERN	0x14
/* u32, read only: pages pinned now */
#define MDMA_REG_PINNED		0x18
/* u32, read only: dma_unmap callbacks that took pinned pages away */
#define MDMA_REG_UNMAPS		0x1c
/* u32, read only: the result of SUM */
#define MDMA_REG_SUM		0x20
#define MDMA_REGION_SIZE	0x40

/* One copy chunk of FILL and SUM, and the most pages PIN holds */
#define MDMA_CHUNK		256
#define MDMA_MAX_PIN		16

struct mdma_state {
	struct vfio_device vdev;
	/* Protects all below: the registers and the pinned pages */
	struct mutex lock;
	u64 iova;
	u32 count;
	s32 status;
	u32 pattern;
	u32 unmaps;
	u32 sum;
	/* What PIN pinned: pin_npage pages from the page holding pin_iova */
	u64 pin_iova;
	u32 pin_npage;
	struct page *pages[MDMA_MAX_PIN];
};

/*
 * For tests of iommufd only: a broken driver, whose dma_unmap callback
 * leaves its pins in place.  iommufd then refuses what needs them gone
 * (detach, replace, unmap) with a warning and keeps its state consistent;
 * VFIO's type1 container BUG()s when its unmap cannot get them back.
 */
static bool ignore_dma_unmap;
module_param(ignore_dma_unmap, bool, 0644);
MODULE_PARM_DESC(ignore_dma_unmap,
		 "Test the VFIO core: dma_unmap keeps the pins (default: N)");

/*
 * For tests of the VFIO core only: a device that posts its last status to
 * memory when it stops.  At close_device(), STATUS (4 bytes) is written
 * at IOVA with vfio_dma_rw(); a failure (nothing mapped there, nothing
 * attached) is ignored.  close_device() may use the device's DMA helpers
 * as long as it runs, on every path that closes the device; but not from
 * a task that has let go of its mm (the last close of a file at exit),
 * which type1's vfio_dma_rw() would take for a kernel thread.
 */
static bool status_at_close;
module_param(status_at_close, bool, 0644);
MODULE_PARM_DESC(status_at_close,
		 "Test the VFIO core: write STATUS at IOVA on close (default: N)");

/*
 * For tests of the VFIO core only: a device that announces itself in
 * memory when it starts.  At open_device(), MDMA_OPEN_MAGIC (4 bytes) is
 * written with vfio_dma_rw() at the IOVA dma_at_open, when it is not 0; a
 * failure (nothing mapped there, or nothing attached yet, as for a cdev
 * before VFIO_DEVICE_ATTACH_IOMMUFD_PT) is ignored.  open_device() may use
 * the device's DMA helpers: the VFIO core counts the device open while it
 * runs, as it does while close_device() runs.
 */
#define MDMA_OPEN_MAGIC		0x4e45504f	/* "OPEN" in memory */
static unsigned long dma_at_open;
module_param(dma_at_open, ulong, 0644);
MODULE_PARM_DESC(dma_at_open,
		 "Test the VFIO core: write a magic at this IOVA on open (default: 0, off)");

static struct mdma_state *to_mdma(struct vfio_device *vdev)
{
	return container_of(vdev, struct mdma_state, vdev);
}

static void mdma_unpin(struct mdma_state *mdma)
{
	lockdep_assert_held(&mdma->lock);

	if (!mdma->pin_npage)
		return;
	vfio_unpin_pages(&mdma->vdev, mdma->pin_iova, mdma->pin_npage);
	mdma->pin_npage = 0;
}

static int mdma_pin(struct mdma_state *mdma)
{
	int ret;

	lockdep_assert_held(&mdma->lock);

	if (mdma->pin_npage)
		return -EBUSY;
	if (!mdma->count || mdma->count > MDMA_MAX_PIN)
		return -EINVAL;
	ret = vfio_pin_pages(&mdma->vdev, mdma->iova, mdma->count,
			     IOMMU_READ | IOMMU_WRITE, mdma->pages);
	if (ret < 0)
		return ret;
	if (WARN_ON(ret != mdma->count)) {
		if (ret)
			vfio_unpin_pages(&mdma->vdev, mdma->iova, ret);
		return -EFAULT;
	}
	mdma->pin_iova = mdma->iova;
	mdma->pin_npage = mdma->count;
	return 0;
}

/* FILL and SUM: copy through the VFIO core, a chunk at a time */
static int mdma_copy(struct mdma_state *mdma, bool fill)
{
	u8 buf[MDMA_CHUNK];
	u64 iova, end;
	size_t len, i;
	u32 sum = 0;
	int ret;

	lockdep_assert_held(&mdma->lock);

	if (!mdma->count || check_add_overflow(mdma->iova, (u64)mdma->count,
					       &end))
		return -EINVAL;
	if (fill)
		memset(buf, mdma->pattern & 0xff, sizeof(buf));
	for (iova = mdma->iova; iova < end; iova += len) {
		len = min_t(u64, end - iova, sizeof(buf));
		ret = vfio_dma_rw(&mdma->vdev, iova, buf, len, fill);
		if (ret)
			return ret;
		if (!fill)
			for (i = 0; i < len; i++)
				sum += buf[i];
	}
	if (!fill)
		mdma->sum = sum;
	return 0;
}

static int mdma_command(struct mdma_state *mdma, u32 cmd)
{
	switch (cmd) {
	case MDMA_CMD_PIN:
		return mdma_pin(mdma);
	case MDMA_CMD_UNPIN:
		mdma_unpin(mdma);
		return 0;
	case MDMA_CMD_FILL:
		return mdma_copy(mdma, true);
	case MDMA_CMD_SUM:
		return mdma_copy(mdma, false);
	}
	return -EINVAL;
}

/*
 * The user unmaps [iova, iova + length) from what the device reaches:
 * pins inside it must go now.  Called without VFIO or iommufd locks held.
 */
static void mdma_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct mdma_state *mdma = to_mdma(vdev);
	u64 pin_first, pin_last;

	if (!length || READ_ONCE(ignore_dma_unmap))
		return;
	mutex_lock(&mdma->lock);
	pin_first = ALIGN_DOWN(mdma->pin_iova, PAGE_SIZE);
	pin_last = pin_first + (u64)mdma->pin_npage * PAGE_SIZE - 1;
	/* Overlap of [iova, iova + length - 1] and [pin_first, pin_last] */
	if (mdma->pin_npage && iova <= pin_last &&
	    pin_first <= iova + (length - 1)) {
		mdma_unpin(mdma);
		mdma->unmaps++;
	}
	mutex_unlock(&mdma->lock);
}

static void mdma_reset_locked(struct mdma_state *mdma)
{
	lockdep_assert_held(&mdma->lock);

	mdma_unpin(mdma);
	mdma->iova = 0;
	mdma->count = 0;
	mdma->status = 0;
	mdma->pattern = 0;
	mdma->unmaps = 0;
	mdma->sum = 0;
}

static int mdma_open_device(struct vfio_device *vdev)
{
	unsigned long iova = READ_ONCE(dma_at_open);
	u32 magic = MDMA_OPEN_MAGIC;

	if (iova)
		vfio_dma_rw(vdev, iova, &magic, sizeof(magic), true);
	return 0;
}

static void mdma_close_device(struct vfio_device *vdev)
{
	struct mdma_state *mdma = to_mdma(vdev);
	s32 status;

	mutex_lock(&mdma->lock);
	if (READ_ONCE(status_at_close) && current->mm) {
		status = mdma->status;
		vfio_dma_rw(vdev, mdma->iova, &status, sizeof(status), true);
	}
	mdma_reset_locked(mdma);
	mutex_unlock(&mdma->lock);
}

static int mdma_reg_read(struct mdma_state *mdma, loff_t pos, u64 *val)
{
	switch (pos) {
	case MDMA_REG_IOVA:
		*val = mdma->iova;
		return 8;
	case MDMA_REG_COUNT:
		*val = mdma->count;
		return 4;
	case MDMA_REG_STATUS:
		*val = (u32)mdma->status;
		return 4;
	case MDMA_REG_PATTERN:
		*val = mdma->pattern;
		return 4;
	case MDMA_REG_PINNED:
		*val = mdma->pin_npage;
		return 4;
	case MDMA_REG_UNMAPS:
		*val = mdma->unmaps;
		return 4;
	case MDMA_REG_SUM:
		*val = mdma->sum;
		return 4;
	}
	return -EINVAL;
}

static int mdma_reg_write(struct mdma_state *mdma, loff_t pos, u64 val,
			  size_t size)
{
	if (size != (pos == MDMA_REG_IOVA ? 8 : 4))
		return -EINVAL;
	switch (pos) {
	case MDMA_REG_IOVA:
		mdma->iova = val;
		return 0;
	case MDMA_REG_COUNT:
		mdma->count = val;
		return 0;
	case MDMA_REG_COMMAND:
		mdma->status = mdma_command(mdma, val);
		return 0;
	case MDMA_REG_PATTERN:
		mdma->pattern = val;
		return 0;
	}
	return -EINVAL;
}

/* Registers are read and written whole: 8 bytes for IOVA, 4 for others */
static ssize_t mdma_read(struct vfio_device *vdev, char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct mdma_state *mdma = to_mdma(vdev);
	u64 val;
	int size;

	mutex_lock(&mdma->lock);
	size = mdma_reg_read(mdma, *ppos, &val);
	mutex_unlock(&mdma->lock);
	if (size < 0)
		return size;
	if (count != size)
		return -EINVAL;
	if (copy_to_user(buf, &val, size))
		return -EFAULT;
	*ppos += size;
	return size;
}

static ssize_t mdma_write(struct vfio_device *vdev, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct mdma_state *mdma = to_mdma(vdev);
	u64 val = 0;
	int ret;

	if (count != 4 && count != 8)
		return -EINVAL;
	if (copy_from_user(&val, buf, count))
		return -EFAULT;
	mutex_lock(&mdma->lock);
	ret = mdma_reg_write(mdma, *ppos, val, count);
	mutex_unlock(&mdma->lock);
	if (ret)
		return ret;
	*ppos += count;
	return count;
}

static long mdma_ioctl(struct vfio_device *vdev, unsigned int cmd,
		       unsigned long arg)
{
	struct mdma_state *mdma = to_mdma(vdev);
	void __user *uarg = (void __user *)arg;
	unsigned long minsz;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;

		minsz = offsetofend(struct vfio_device_info, num_irqs);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PLATFORM |
			     VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = 1;
		info.num_irqs = 0;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		minsz = offsetofend(struct vfio_region_info, offset);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index)
			return -EINVAL;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		info.cap_offset = 0;
		info.size = MDMA_REGION_SIZE;
		info.offset = 0;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_RESET:
		mutex_lock(&mdma->lock);
		mdma_reset_locked(mdma);
		mutex_unlock(&mdma->lock);
		return 0;
	}
	return -ENOTTY;
}

static int mdma_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_mdma(vdev)->lock);
	return 0;
}

static void mdma_release_dev(struct vfio_device *vdev)
{
	mutex_destroy(&to_mdma(vdev)->lock);
	vfio_free_device(vdev);
}

static const struct vfio_device_ops mdma_dev_ops = {
	.name = "vfio-mdma",
	.init = mdma_init_dev,
	.release = mdma_release_dev,
	.open_device = mdma_open_device,
	.close_device = mdma_close_device,
	.read = mdma_read,
	.write = mdma_write,
	.ioctl = mdma_ioctl,
	.dma_unmap = mdma_dma_unmap,
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
};

/* An engine on @dev, registered as a VFIO device by @register_dev */
static int mdma_add(struct device *dev, const struct vfio_device_ops *ops,
		    int (*register_dev)(struct vfio_device *vdev))
{
	struct mdma_state *mdma;
	int ret;

	mdma = vfio_alloc_device(mdma_state, vdev, dev, ops);
	if (IS_ERR(mdma))
		return PTR_ERR(mdma);
	ret = register_dev(&mdma->vdev);
	if (ret) {
		vfio_put_device(&mdma->vdev);
		return ret;
	}
	dev_set_drvdata(dev, mdma);
	return 0;
}

static void mdma_del(struct device *dev)
{
	struct mdma_state *mdma = dev_get_drvdata(dev);

	vfio_unregister_group_dev(&mdma->vdev);
	vfio_put_device(&mdma->vdev);
}

static int mdma_probe(struct mdev_device *mdev)
{
	return mdma_add(&mdev->dev, &mdma_dev_ops,
			vfio_register_emulated_iommu_dev);
}

static void mdma_remove(struct mdev_device *mdev)
{
	mdma_del(&mdev->dev);
}

/* The same engine as a physical device: see the top of this file */
static const struct vfio_device_ops mdma_pci_ops = {
	.name = "vfio-mdma-pci",
	.init = mdma_init_dev,
	.release = mdma_release_dev,
	.open_device = mdma_open_device,
	.close_device = mdma_close_device,
	.read = mdma_read,
	.write = mdma_write,
	.ioctl = mdma_ioctl,
	.dma_unmap = mdma_dma_unmap,
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
};

static int mdma_pci_probe(struct pci_dev *pdev,
			  const struct pci_device_id *id)
{
	return mdma_add(&pdev->dev, &mdma_pci_ops, vfio_register_group_dev);
}

static void mdma_pci_remove(struct pci_dev *pdev)
{
	mdma_del(&pdev->dev);
}

/* No IDs: it binds only what driver_override gives it. */
static struct pci_driver mdma_pci_driver = {
	.name = "mdma-pci",
	.probe = mdma_pci_probe,
	.remove = mdma_pci_remove,
	.driver_managed_dma = true,
};

static struct mdev_type mdma_type = {
	.sysfs_name = "1",
	.pretty_name = "mediated DMA engine",
};

static struct mdev_type *mdma_types[] = {
	&mdma_type,
};

static struct mdev_driver mdma_driver = {
	.device_api = VFIO_DEVICE_API_PLATFORM_STRING,
	.max_instances = 4,
	.driver = {
		.name = MDMA_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = mdma_probe,
	.remove = mdma_remove,
};

static struct class *mdma_class;
static struct device mdma_dev;
static struct mdev_parent mdma_parent;

static void mdma_dev_release(struct device *dev)
{
	/* mdma_dev is static */
}

static int __init mdma_init(void)
{
	int ret;

	ret = mdev_register_driver(&mdma_driver);
	if (ret)
		return ret;

	mdma_class = class_create(THIS_MODULE, MDMA_NAME);
	if (IS_ERR(mdma_class)) {
		ret = PTR_ERR(mdma_class);
		goto err_driver;
	}
	mdma_dev.class = mdma_class;
	mdma_dev.release = mdma_dev_release;
	dev_set_name(&mdma_dev, "%s", MDMA_NAME);
	ret = device_register(&mdma_dev);
	if (ret)
		goto err_put_device;

	ret = mdev_register_parent(&mdma_parent, &mdma_dev, &mdma_driver,
				   mdma_types, ARRAY_SIZE(mdma_types));
	if (ret)
		goto err_device;

	ret = pci_register_driver(&mdma_pci_driver);
	if (ret)
		goto err_parent;
	return 0;

err_parent:
	mdev_unregister_parent(&mdma_parent);
err_device:
	device_del(&mdma_dev);
err_put_device:
	put_device(&mdma_dev);
	class_destroy(mdma_class);
err_driver:
	mdev_unregister_driver(&mdma_driver);
	return ret;
}

static void __exit mdma_exit(void)
{
	pci_unregister_driver(&mdma_pci_driver);
	mdev_unregister_parent(&mdma_parent);
	device_unregister(&mdma_dev);
	class_destroy(mdma_class);
	mdev_unregister_driver(&mdma_driver);
}

module_init(mdma_init);
module_exit(mdma_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample mediated DMA engine: vfio_pin_pages() and vfio_dma_rw()");
