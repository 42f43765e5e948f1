// SPDX-License-Identifier: GPL-2.0-only
/*
 * IO address spaces (IOAS): creation, destruction and options.
 */
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_object_alloc(ucmd->ictx, struct iommufd_ioas,
				    IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ioas->ictx = ucmd->ictx;
	mutex_init(&ioas->mutex);
	ioas->huge_pages = true;

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;

out_abort:
	mutex_destroy(&ioas->mutex);
	iommufd_object_abort(ucmd->ictx, &ioas->obj);
	return rc;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);
	struct iommufd_ctx *ictx = ioas->ictx;

	mutex_lock(&ictx->vfio_lock);
	if (ictx->vfio_ioas == ioas)
		ictx->vfio_ioas = NULL;
	mutex_unlock(&ictx->vfio_lock);
	mutex_destroy(&ioas->mutex);
}

/* IOMMU_OPTION_HUGE_PAGES of the IOAS cmd->object_id. */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	if (cmd->op != IOMMU_OPTION_OP_GET && cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_SET && cmd->val64 > 1)
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&ioas->mutex);
	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = ioas->huge_pages;
	else
		ioas->huge_pages = cmd->val64;
	mutex_unlock(&ioas->mutex);

	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return 0;
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
