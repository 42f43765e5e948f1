/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd internals shared by its files.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "io_pagetable.h"

struct device;
struct iommu_domain;
struct iommu_group;

/* How pinned pages are charged against RLIMIT_MEMLOCK. */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_USER = 0,	/* user_struct::locked_vm */
	IOMMUFD_ACCOUNT_MM = 1,		/* mm_struct::locked_vm */
};

/**
 * struct iommufd_ctx - one open /dev/iommu
 * @file: the file; its reference count is the context's
 * @objects: object ID -> struct iommufd_object.  An ID is reserved with
 *	XA_ZERO_ENTRY while its object is created or destroyed, so lookups do
 *	not see the object then.  Protected by its own xa_lock.
 * @groups_lock: protects @groups and the groups' reference counts
 * @groups: IOMMU group ID -> struct iommufd_group, for the groups of the
 *	bound devices
 * @destroy_wait: woken when an object loses its last short-term user
 * @account_mode: enum iommufd_account_mode; changes only while @objects is
 *	empty, under @objects' xa_lock
 * @test_pin_batch: with CONFIG_IOMMUFD_TEST, the number of pages pinned
 *	per call when not 0 (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT), so that the
 *	tests exercise pinning in many batches
 * @vfio_lock: protects @vfio_ioas
 * @vfio_ioas: the IOAS of the VFIO compatibility path, or NULL.  It holds
 *	no reference: the IOAS clears it when it is destroyed.
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	struct mutex groups_lock;	/* protects groups */
	struct xarray groups;
	wait_queue_head_t destroy_wait;
	u8 account_mode;
#ifdef CONFIG_IOMMUFD_TEST
	unsigned int test_pin_batch;
#endif

	struct mutex vfio_lock;		/* protects vfio_ioas */
	struct iommufd_ioas *vfio_ioas;
};

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_IOAS,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - what every object of an iommufd starts with
 * @shortterm_users: the users of the object inside one system call, taken
 *	by iommufd_get_object().  One extra count stands for the object being
 *	published; destruction drops it and waits for the rest.
 * @users: the long-term users: one for the object being in the table, one
 *	for each object or kernel user that depends on it.  Only taken while
 *	holding a short-term use.  The object can be destroyed only while
 *	this is 1.
 * @type: enum iommufd_object_type
 * @id: the object's ID in iommufd_ctx::objects
 */
struct iommufd_object {
	refcount_t shortterm_users;
	refcount_t users;
	enum iommufd_object_type type;
	unsigned int id;
};

/**
 * struct iommufd_ucmd - one ioctl being executed
 * @ictx: the iommufd
 * @ubuffer: the user's argument structure
 * @user_size: its size, as the user gave it
 * @cmd: the kernel's copy of it, zero-extended to the kernel's size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t length);

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/*
 * Allocate a @_struct, whose first member must be its struct
 * iommufd_object obj, as an object of type @_type.
 */
#define iommufd_object_alloc(ictx, _struct, _type)			\
	container_of(_iommufd_object_alloc(ictx, sizeof(_struct), _type), \
		     _struct, obj)

/**
 * struct iommufd_ioas - an IO address space
 * @obj: the object header
 * @iopt: its IOVA space and mappings
 * @ictx: the iommufd it belongs to
 * @mutex: protects @hwpt_list
 * @hwpt_list: the page tables the kernel made for attaching devices to
 *	this IOAS (struct iommufd_hw_pagetable::hwpt_item), which later
 *	attaches try first
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct iommufd_ctx *ictx;
	struct mutex mutex;		/* protects hwpt_list */
	struct list_head hwpt_list;
};

static_assert(offsetof(struct iommufd_ioas, obj) == 0);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

struct interval_tree_node *iommufd_ioas_ranges(struct iommufd_ioas *ioas,
					       unsigned int *count);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
		       unsigned long arg);

void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj);
void iommufd_object_put_destroy(struct iommufd_ctx *ictx,
				struct iommufd_object *obj);

/**
 * struct iommufd_hw_pagetable - an IOMMU domain mirroring an IOAS
 * @obj: the object header
 * @ioas: the IOAS, on which the page table holds a long-term use
 * @domain: the IOMMU domain
 * @auto_domain: made by the kernel for an attach to the IOAS; destroyed
 *	with the last device detached from it
 * @filled: the domain holds the IOAS's mappings and follows its changes
 *	(iommufd_hw_pagetable_fill())
 * @enforce_cache_coherency: the domain enforces cache coherency, so only
 *	devices whose IOMMU can enforce it may attach; set at allocation,
 *	before anything is mapped, and never changed
 * @msi_cookie: the domain has an MSI cookie (iommu_get_msi_cookie()) for
 *	devices with a software-managed MSI window, which the page table
 *	keeps reserved in its IOAS until it is destroyed
 * @hwpt_item: in iommufd_ioas::hwpt_list, while @auto_domain
 *
 * Each device attached holds a long-term use of the page table.
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommufd_ioas *ioas;
	struct iommu_domain *domain;
	bool auto_domain;
	bool filled;
	bool enforce_cache_coherency;
	bool msi_cookie;
	struct list_head hwpt_item;
};

static_assert(offsetof(struct iommufd_hw_pagetable, obj) == 0);

struct iommufd_hw_pagetable *
iommufd_hw_pagetable_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct device *dev, u32 flags);
int iommufd_hw_pagetable_fill(struct iommufd_hw_pagetable *hwpt);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
void iommufd_hw_pagetable_destroy(struct iommufd_object *obj);

/**
 * struct iommufd_group - an IOMMU group of devices bound to an iommufd
 * @refs: one per device of the group bound or being bound; under
 *	iommufd_ctx::groups_lock
 * @owned: how many of its devices have claimed DMA ownership; under
 *	iommufd_ctx::groups_lock
 * @ictx: the iommufd
 * @group: the IOMMU group, with a reference held
 * @lock: protects @hwpt and @devices, and the @hwpt of each device
 * @hwpt: the page table the group is attached to, or NULL
 * @devices: its devices attached to @hwpt, by iommufd_device::group_item
 *
 * In 6.1 a domain is attached to a whole group: the devices of a group
 * bound to one iommufd share one page table.
 */
struct iommufd_group {
	unsigned int refs;
	unsigned int owned;
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct mutex lock;	/* hwpt, devices, iommufd_device::hwpt */
	struct iommufd_hw_pagetable *hwpt;
	struct list_head devices;
};

/**
 * struct iommufd_device - a device bound to an iommufd
 * @obj: the object header
 * @ictx: the iommufd
 * @dev: the device
 * @igroup: its group
 * @hwpt: the page table it is attached to, or NULL; under @igroup's lock
 * @group_item: in iommufd_group::devices while attached; under @igroup's
 *	lock
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct device *dev;
	struct iommufd_group *igroup;
	struct iommufd_hw_pagetable *hwpt;
	struct list_head group_item;
};

static_assert(offsetof(struct iommufd_device, obj) == 0);

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

void iommufd_device_destroy(struct iommufd_object *obj);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_access - an in-kernel user of an IOAS
 * @obj: the object header
 * @ictx: the iommufd
 * @ops: the creator's callbacks
 * @data: passed to @ops
 * @ioas_lock: protects @ioas and @iopt_access_id, and is held across the
 *	access's uses of the IOAS; taken before the IOAS's locks
 * @ioas: the IOAS attached, on which the access holds a long-term use
 * @iopt_access_id: the access's index in io_pagetable::accesses
 * @pinned: pin_pages calls not unpinned yet; under @ioas_lock.  A detach
 *	or a replace has the access drop them first.
 * @detaching: a detach or a replace is dropping the pins through the unmap
 *	callback, and no new pin is taken until it is done; under @ioas_lock
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	struct mutex ioas_lock;		/* protects ioas */
	struct iommufd_ioas *ioas;
	u32 iopt_access_id;
	unsigned int pinned;
	bool detaching;
};

static_assert(offsetof(struct iommufd_access, obj) == 0);

void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long iova, unsigned long length);

#ifdef CONFIG_IOMMUFD_TEST
static inline unsigned long iommufd_pin_batch(struct iommufd_ctx *ictx,
					      unsigned long batch)
{
	return READ_ONCE(ictx->test_pin_batch) ?: batch;
}

bool iommufd_should_fail(void);
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
#else
static inline unsigned long iommufd_pin_batch(struct iommufd_ctx *ictx,
					      unsigned long batch)
{
	return batch;
}

static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}
#endif

#endif
