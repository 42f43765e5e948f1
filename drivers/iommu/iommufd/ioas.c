// SPDX-License-Identifier: GPL-2.0-only
/*
 * IO address spaces (IOAS): creation, destruction and options.
 */
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/* A new, empty IOAS; the caller finalizes or aborts it. */
static struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, struct iommufd_ioas,
				    IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	ioas->ictx = ictx;
	iopt_init_table(&ioas->iopt);
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	return ioas;
}

static void iommufd_ioas_abort(struct iommufd_ioas *ioas)
{
	mutex_destroy(&ioas->mutex);
	iopt_destroy_table(&ioas->iopt);
	iommufd_object_abort(ioas->ictx, &ioas->obj);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_ioas_abort(ioas);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);
	struct iommufd_ctx *ictx = ioas->ictx;

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas == ioas)
		ictx->vfio_ioas = NULL;
	mutex_unlock(&ictx->vfio_lock);
	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

/**
 * iommufd_ioas_ranges() - the IOVA ranges mappings of an IOAS may use
 * @ioas: the IOAS
 * @count: returns their number
 *
 * Return: an array of the ranges in increasing order, to be freed with
 * kvfree(), NULL when there is none, or ERR_PTR(-ENOMEM).
 */
struct interval_tree_node *iommufd_ioas_ranges(struct iommufd_ioas *ioas,
					       unsigned int *count)
{
	struct interval_tree_node *ranges = NULL;
	unsigned int room = 0;

	/* The ranges may change between the two calls: until they fit. */
	for (;;) {
		iopt_iova_ranges(&ioas->iopt, ranges, room, count);
		if (*count <= room)
			return ranges;
		kvfree(ranges);
		room = *count;
		ranges = kvcalloc(room, sizeof(*ranges), GFP_KERNEL_ACCOUNT);
		if (!ranges)
			return ERR_PTR(-ENOMEM);
	}
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range __user *uranges;
	struct interval_tree_node *ranges;
	struct iommufd_ioas *ioas;
	unsigned int count, i;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	ranges = iommufd_ioas_ranges(ioas, &count);
	if (IS_ERR(ranges)) {
		rc = PTR_ERR(ranges);
		goto out_put;
	}

	uranges = u64_to_user_ptr(cmd->allowed_iovas);
	for (i = 0; i != min(count, cmd->num_iovas); i++) {
		struct iommu_iova_range range = {
			.start = ranges[i].start,
			.last = ranges[i].last,
		};

		if (copy_to_user(&uranges[i], &range, sizeof(range))) {
			rc = -EFAULT;
			goto out_free;
		}
	}
	rc = count > cmd->num_iovas ? -EMSGSIZE : 0;
	cmd->num_iovas = count;
	cmd->out_iova_alignment = iopt_iova_alignment(&ioas->iopt);
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		rc = -EFAULT;
out_free:
	kvfree(ranges);
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct iommu_iova_range __user *uranges;
	struct interval_tree_node *node;
	struct iommufd_ioas *ioas;
	struct iommu_iova_range range;
	unsigned int i;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	uranges = u64_to_user_ptr(cmd->allowed_iovas);
	for (i = 0; i != cmd->num_iovas; i++) {
		if (copy_from_user(&range, &uranges[i], sizeof(range))) {
			rc = -EFAULT;
			goto out_free;
		}
		if (range.start > range.last || range.last > ULONG_MAX ||
		    interval_tree_iter_first(&allowed, range.start,
					     range.last)) {
			rc = -EINVAL;
			goto out_free;
		}
		node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
		if (!node) {
			rc = -ENOMEM;
			goto out_free;
		}
		node->start = range.start;
		node->last = range.last;
		interval_tree_insert(node, &allowed);
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto out_free;
		}
	}
	/* On success the old ranges come back in @allowed. */
	rc = iopt_set_allow_iova(&ioas->iopt, &allowed);
out_free:
	iopt_free_itree(&allowed);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * Every mapping is cache coherent (IOMMU_CACHE), as type1's are: userspace
 * has no way to flush CPU caches for a device, so only devices whose IOMMU
 * can keep DMA coherent are bound (IOMMU_CAP_CACHE_COHERENCY).  Without the
 * flag, io-pgtable-arm makes non-cacheable mappings.
 */
static int iommufd_map_prot(u32 flags)
{
	int prot = IOMMU_CACHE;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

#define IOMMUFD_MAP_FLAGS \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | \
	 IOMMU_IOAS_MAP_READABLE)

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int rc;

	if ((cmd->flags & ~IOMMUFD_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	iova = cmd->iova;
	rc = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(cmd->user_va), cmd->length,
				 iommufd_map_prot(cmd->flags),
				 cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (rc)
		goto out_put;
	cmd->iova = iova;
	/* An unwritable reply fails the call; the mapping stays, as mainline */
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned long iova;
	int rc;

	if (cmd->flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
		return -EINVAL;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	iova = cmd->dst_iova;
	rc = iopt_copy(&dst->iopt, &src->iopt, cmd->src_iova, cmd->length,
		       &iova, iommufd_map_prot(cmd->flags),
		       cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (rc)
		goto out_put_dst;
	cmd->dst_iova = iova;
	/* As for MAP: an unwritable reply fails the call, the copy stays. */
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned long unmapped = 0;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped, false);
	}
	if (rc)
		goto out_put;
	cmd->length = unmapped;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES of the IOAS cmd->object_id. */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->op != IOMMU_OPTION_OP_GET && cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_SET && cmd->val64 > 1)
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = iopt_large_pages(&ioas->iopt);
	else
		rc = iopt_set_large_pages(&ioas->iopt, cmd->val64);

	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * IOMMU_VFIO_IOAS: the IOAS the VFIO compatibility path uses.  The context
 * points at it without a reference; iommufd_ioas_destroy() clears it.
 */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		mutex_lock(&ictx->vfio_lock);
		ioas = ictx->vfio_ioas;
		if (ioas)
			cmd->ioas_id = ioas->obj.id;
		mutex_unlock(&ictx->vfio_lock);
		if (!ioas)
			return -ENODEV;
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		mutex_lock(&ictx->vfio_lock);
		ictx->vfio_ioas = ioas;
		mutex_unlock(&ictx->vfio_lock);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		mutex_lock(&ictx->vfio_lock);
		ictx->vfio_ioas = NULL;
		mutex_unlock(&ictx->vfio_lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_vfio_compat_ioas_create - give the VFIO compatibility path an IOAS
 * @ictx: the iommufd
 *
 * VFIO's group path, given an iommufd in place of a container, attaches
 * its devices to the IOAS of IOMMU_VFIO_IOAS.  This creates one, as
 * userspace could with IOMMU_IOAS_ALLOC and IOMMU_VFIO_IOAS, when there is
 * none; userspace sees it and can destroy it like its own.
 *
 * Return: 0, or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas) {
		mutex_unlock(&ictx->vfio_lock);
		return 0;
	}
	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas)) {
		mutex_unlock(&ictx->vfio_lock);
		return PTR_ERR(ioas);
	}
	ictx->vfio_ioas = ioas;
	iommufd_object_finalize(ictx, &ioas->obj);
	mutex_unlock(&ictx->vfio_lock);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD);

/**
 * iommufd_vfio_compat_ioas_get_id - the IOAS of the VFIO compatibility path
 * @ictx: the iommufd
 * @out_ioas_id: returns its ID
 *
 * Return: 0, or -ENODEV when there is none.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	int rc = -ENODEV;

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas) {
		*out_ioas_id = ictx->vfio_ioas->obj.id;
		rc = 0;
	}
	mutex_unlock(&ictx->vfio_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD);
