// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioctls of VFIO's type1 container, answered by an iommufd, so that
 * programs written for /dev/vfio/vfio run unchanged: on /dev/iommu, and on
 * the /dev/vfio/vfio iommufd provides in place of VFIO's container
 * (CONFIG_IOMMUFD_VFIO_CONTAINER).  They work on the IOAS of VFIO's group
 * path (IOMMU_VFIO_IOAS), which a group given the iommufd creates.
 *
 * Type1 v1 (VFIO_TYPE1_IOMMU) lets an unmap take part of a mapping: it
 * turns large IOMMU pages off for the IOAS except in the page tables that
 * can split them (iopt_allow_cuts()), and an unmap then cuts the mappings
 * at the ends of its range first (iopt_cut_iova()).
 */
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/vfio.h>

#include "iommufd_private.h"

/* The IOAS of the VFIO path, with a short-term use; -ENODEV when none. */
static struct iommufd_ioas *iommufd_vfio_get_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas)
		ioas = iommufd_get_ioas(ictx, ictx->vfio_ioas->obj.id);
	mutex_unlock(&ictx->vfio_lock);
	return ioas;
}

/* Whether every page table the kernel made on the IOAS enforces coherency */
static int iommufd_vfio_cc_iommu(struct iommufd_ctx *ictx)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_ioas *ioas;
	int rc = 1;

	ioas = iommufd_vfio_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt->enforce_cache_coherency) {
			rc = 0;
			break;
		}
	}
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_check_extension(struct iommufd_ctx *ictx,
					unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_cc_iommu(ictx);
	/*
	 * Not offered: nesting, sPAPR, no-IOMMU, the live update of a
	 * mapping's user address (VFIO_UPDATE_VADDR), and what is unknown.
	 */
	default:
		return 0;
	}
}

/*
 * VFIO_SET_IOMMU: v2, or v1, which lets an unmap take part of a mapping
 * (large IOMMU pages then read as off, see iopt_allow_cuts()).  The IOAS
 * must exist already, made by a group given this iommufd or chosen with
 * IOMMU_VFIO_IOAS.
 */
static int iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	ioas = iommufd_vfio_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_allow_cuts(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_map_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	struct iommufd_ioas *ioas;
	int prot = IOMMU_CACHE;
	unsigned long iova;
	int rc;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	/* As IOMMU_IOAS_MAP, where unsigned long is shorter than u64 */
	if (map.iova >= ULONG_MAX || map.size >= ULONG_MAX)
		return -EOVERFLOW;
	/*
	 * As mainline, a mapping with neither permission is not refused
	 * here (type1 refuses it): a page table's driver may (intel does).
	 */
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;

	ioas = iommufd_vfio_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(map.vaddr), map.size, prot,
				 true);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * VFIO_IOMMU_UNMAP_DMA: every mapping inside the range goes; with large
 * pages off (type1 v1) the mappings crossing its ends are cut first.  A
 * range with nothing mapped succeeds, with a size of 0.
 */
static int iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	ioas = iommufd_vfio_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		rc = unmap.iova || unmap.size ? -EINVAL :
			iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (unmap.iova == 0 && unmap.size == U64_MAX) {
		/* The whole IOVA space, as IOMMU_IOAS_UNMAP takes it */
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (unmap.iova >= ULONG_MAX || unmap.size >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = 0;
		if (!iopt_large_pages(&ioas->iopt))
			rc = iopt_cut_iova(&ioas->iopt, unmap.iova, unmap.size);
		if (!rc)
			rc = iopt_unmap_iova(&ioas->iopt, unmap.iova,
					     unmap.size, &unmapped, true);
	}
	iommufd_put_object(ictx, &ioas->obj);
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
}

/*
 * VFIO_IOMMU_GET_INFO: the page sizes, and two capabilities: the DMA
 * mappings left (no limit here) and the usable IOVA ranges.  argsz
 * returns the size of the whole answer.  Each capability is copied when
 * it fits in the user's argsz, a link to the next when the next starts
 * inside it, and cap_offset is set only when the whole answer fits, as
 * mainline answers.
 */
static int iommufd_vfio_iommu_get_info(struct iommufd_ctx *ictx,
				       void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info_cap_iova_range *range_cap;
	struct vfio_iommu_type1_info_dma_avail avail = {};
	size_t avail_at, range_at, range_size;
	struct vfio_iommu_type1_info info = {};
	struct interval_tree_node *ranges;
	struct iommufd_ioas *ioas;
	unsigned int count, i;
	unsigned long pgsizes;
	u32 argsz;
	int rc = 0;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	argsz = info.argsz;

	ioas = iommufd_vfio_get_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	/* As type1: sizes below a CPU page are given as one page. */
	pgsizes = iopt_pgsize_bitmap(&ioas->iopt);
	if (pgsizes & ~PAGE_MASK)
		pgsizes = (pgsizes & PAGE_MASK) | PAGE_SIZE;
	ranges = iommufd_ioas_ranges(ioas, &count);
	iommufd_put_object(ictx, &ioas->obj);
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);

	avail_at = sizeof(info);
	range_at = avail_at + ALIGN(sizeof(avail), sizeof(u64));
	range_size = struct_size(range_cap, iova_ranges, count);
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = pgsizes;
	info.argsz = range_at + range_size;
	info.cap_offset = 0;

	if (argsz >= avail_at + sizeof(avail)) {
		avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
		avail.header.version = 1;
		avail.header.next = argsz >= range_at ? range_at : 0;
		avail.avail = U32_MAX;
		if (copy_to_user(arg + avail_at, &avail, sizeof(avail))) {
			rc = -EFAULT;
			goto out_free;
		}
	}
	if (argsz >= info.argsz) {
		range_cap = kvzalloc(range_size, GFP_KERNEL_ACCOUNT);
		if (!range_cap) {
			rc = -ENOMEM;
			goto out_free;
		}
		range_cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		range_cap->header.version = 1;
		range_cap->nr_iovas = count;
		for (i = 0; i != count; i++) {
			range_cap->iova_ranges[i].start = ranges[i].start;
			range_cap->iova_ranges[i].end = ranges[i].last;
		}
		if (copy_to_user(arg + range_at, range_cap, range_size))
			rc = -EFAULT;
		kvfree(range_cap);
		info.cap_offset = avail_at;
	}
	if (!rc && copy_to_user(arg, &info, min_t(size_t, argsz, sizeof(info))))
		rc = -EFAULT;
out_free:
	kvfree(ranges);
	return rc;
}

/**
 * iommufd_vfio_ioctl() - a VFIO container ioctl on an iommufd
 * @ictx: the iommufd
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Return: the ioctl's result, or -ENOIOCTLCMD for one the type1 container
 * does not have or that is not offered (the dirty bitmap, sPAPR's).
 */
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
		       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_iommu_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, uarg);
	default:
		return -ENOIOCTLCMD;
	}
}
