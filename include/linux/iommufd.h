/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel API of iommufd, for the drivers that bind devices to an
 * iommufd (VFIO) and for in-kernel users of its IO address spaces.  All of
 * it is exported in the symbol namespace IOMMUFD.
 */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/types.h>

struct file;
struct iommufd_ctx;

#if IS_ENABLED(CONFIG_IOMMUFD)
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
struct iommufd_ctx *iommufd_ctx_from_fd(int fd);
void iommufd_ctx_get(struct iommufd_ctx *ictx);
void iommufd_ctx_put(struct iommufd_ctx *ictx);
#else
static inline struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
}

static inline void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
}
#endif

#endif
