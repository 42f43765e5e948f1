// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_TEST_CMD: hooks into iommufd for its selftests, built only with
 * CONFIG_IOMMUFD_TEST.  Operations not implemented yet answer EOPNOTSUPP,
 * as an unknown operation does.
 */
#include <linux/overflow.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

/* Reserve an IOVA range of an IOAS, as a device's reserved region does. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, u32 ioas_id,
				     u64 start, u64 length)
{
	struct iommufd_ioas *ioas;
	u64 last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	default:
		return -EOPNOTSUPP;
	}
}
