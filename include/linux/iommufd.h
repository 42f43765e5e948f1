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

struct device;
struct file;
struct iommu_group;
struct iommufd_access;
struct iommufd_ctx;
struct iommufd_device;
struct page;

/**
 * struct iommufd_access_ops - callbacks of an in-kernel access
 * @needs_pin_pages: the access pins pages (iommufd_access_pin_pages());
 *	while it is attached, the mappings of its IOAS must be of whole
 *	pages.  An access without it only reads and writes
 *	(iommufd_access_rw()).
 * @unmap: the range [@iova, @iova + @length) of the IOAS is about to be
 *	unmapped: before returning, unpin every page pinned in it with
 *	iommufd_access_unpin_pages()
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/* Flags of iommufd_access_pin_pages() and iommufd_access_rw() */
enum {
	IOMMUFD_ACCESS_RW_READ = 0,
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
	/* The caller is a kernel thread, with no mm of the IOAS's owner */
	IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1,
};

#if IS_ENABLED(CONFIG_IOMMUFD)
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
struct iommufd_ctx *iommufd_ctx_from_fd(int fd);
void iommufd_ctx_get(struct iommufd_ctx *ictx);
void iommufd_ctx_put(struct iommufd_ctx *ictx);

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id);
void iommufd_device_unbind(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
u32 iommufd_device_to_id(struct iommufd_device *idev);
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group);

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id);
int iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags);

int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id);
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

static inline bool iommufd_ctx_has_group(struct iommufd_ctx *ictx,
					 struct iommu_group *group)
{
	return false;
}

static inline int iommufd_access_pin_pages(struct iommufd_access *access,
					   unsigned long iova,
					   unsigned long length,
					   struct page **out_pages,
					   unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline void iommufd_access_unpin_pages(struct iommufd_access *access,
					      unsigned long iova,
					      unsigned long length)
{
}

static inline int iommufd_access_rw(struct iommufd_access *access,
				    unsigned long iova, void *data, size_t len,
				    unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}
#endif

#endif
