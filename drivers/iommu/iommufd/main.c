// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd: /dev/iommu, its objects and its ioctl dispatch.
 *
 * Each open of /dev/iommu is an iommufd_ctx holding a table of objects
 * (IO address spaces, and later devices, page tables and accesses), each
 * with an ID that userspace names it by.  An object is created in two
 * phases: its ID is reserved first, and it is published in the table only
 * when nothing can fail any more, so userspace never sees a half-made
 * object.  Objects that depend on others hold long-term references on
 * them; an object with such users cannot be destroyed (EBUSY), and closing
 * the file destroys everything, dependents first.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommufd.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#ifdef CONFIG_IOMMUFD_TEST
#include "iommufd_test.h"
#endif

struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[] = {
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
	},
	[IOMMUFD_OBJ_HWPT] = {
		.destroy = iommufd_hw_pagetable_destroy,
	},
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
	},
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = {
		.destroy = iommufd_selftest_destroy,
	},
#endif
};

/*
 * Reserve an ID for a new object of @size bytes.  The object is invisible
 * to userspace until iommufd_object_finalize(); on failure before that,
 * iommufd_object_abort() releases it.
 */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->shortterm_users, 1);
	refcount_set(&obj->users, 1);

	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/* Publish @obj: from now on userspace can name it. */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	/* Storing into the reserved slot allocates nothing: cannot fail. */
	old = xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL);
	WARN_ON(old);
}

/* Undo _iommufd_object_alloc() of an object never published. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	void *old;

	old = xa_erase(&ictx->objects, obj->id);
	WARN_ON(old);
	kfree(obj);
}

/*
 * Undo _iommufd_object_alloc() of an object never published but already
 * made whole: its type's destructor runs.
 */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - look up an object for the length of a system call
 * @ictx: the iommufd
 * @id: the object's ID
 * @type: the type it must have, or IOMMUFD_OBJ_ANY
 *
 * Return: the object with a short-term use held, to be dropped with
 * iommufd_put_object(); ERR_PTR(-ENOENT) when no published object of that
 * type has that ID.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->shortterm_users))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	if (refcount_dec_and_test(&obj->shortterm_users))
		wake_up_all(&ictx->destroy_wait);
}

/* How __iommufd_object_remove() goes about it. */
enum {
	/* Wait for the system calls using the object: kernel callers only. */
	REMOVE_WAIT_SHORTTERM = BIT(0),
	/* The caller's use is dropped whether or not the object goes. */
	REMOVE_PUT_USE = BIT(1),
};

/*
 * Destroy an object, found by @id, or @obj when it is given (the caller
 * then holds @held long-term uses of it).  Its long-term users must be the
 * table and the caller's @held, nothing else.
 *
 * Userspace's destroy (no REMOVE_WAIT_SHORTTERM) fails with -EBUSY while a
 * system call is using the object: such a call can take long (a MAP
 * faulting in and pinning gigabytes, or the memory of a slow file).
 * Kernel callers hide the object from lookups and wait for those calls; if
 * one of them made itself a long-term user meanwhile, the object is
 * published again and the call fails with -EBUSY.
 *
 * With REMOVE_PUT_USE, the caller's use is dropped under the table's lock
 * in the same step as the decision, so that two users dropping their uses
 * at once cannot both see the other's and leave the object behind.
 */
static int __iommufd_object_remove(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj, u32 id,
				   unsigned int held, unsigned int flags)
{
	struct iommufd_object *put = flags & REMOVE_PUT_USE ? obj : NULL;
	struct iommufd_object *found;
	XA_STATE(xas, &ictx->objects, id);
	int rc;

	xa_lock(&ictx->objects);
	found = xas_load(&xas);
	if (!found || xa_is_zero(found) || (obj && found != obj)) {
		rc = obj ? -EBUSY : -ENOENT;
		goto out_unlock;
	}
	obj = found;
	if (refcount_read(&obj->users) != 1 + held ||
	    (!(flags & REMOVE_WAIT_SHORTTERM) &&
	     refcount_read(&obj->shortterm_users) != 1)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	xas_store(&xas, XA_ZERO_ENTRY);
	xa_unlock(&ictx->objects);

	/*
	 * Drop the count that stood for being published and wait for the
	 * system calls still using the object; each ends in bounded time.
	 * Without REMOVE_WAIT_SHORTTERM there are none: the count was 1 and
	 * lookups no longer find the object.
	 */
	if (!refcount_dec_and_test(&obj->shortterm_users))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->shortterm_users) == 0);

	/*
	 * Take the uses to zero in one step, so that a user that only takes
	 * a use when there is one (refcount_inc_not_zero()) either keeps the
	 * object or finds it gone.
	 */
	xa_lock(&ictx->objects);
	if (atomic_cmpxchg(&obj->users.refs, 1 + held, 0) != 1 + held) {
		refcount_set(&obj->shortterm_users, 1);
		/* The slot is reserved: storing into it allocates nothing. */
		WARN_ON(xa_is_err(__xa_store(&ictx->objects, id, obj,
					     GFP_ATOMIC)));
		rc = -EBUSY;
		goto out_unlock;
	}
	__xa_erase(&ictx->objects, id);
	xa_unlock(&ictx->objects);
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
	return 0;

out_unlock:
	if (put)
		refcount_dec(&put->users);
	xa_unlock(&ictx->objects);
	return rc;
}

/*
 * Destroy an object the kernel created and holds a long-term use of (a
 * bound device, the mock device of a test).  Userspace holds no long-term
 * use of such objects, so this cannot fail.
 */
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj)
{
	WARN_ON(__iommufd_object_remove(ictx, obj, obj->id, 1,
					REMOVE_WAIT_SHORTTERM));
}

/*
 * Drop the caller's long-term use of @obj, destroying the object if that
 * was the last one but the table's.  Safe against other users dropping
 * theirs at the same time: exactly one of them destroys it.
 */
void iommufd_object_put_destroy(struct iommufd_ctx *ictx,
				struct iommufd_object *obj)
{
	__iommufd_object_remove(ictx, obj, obj->id, 1,
				REMOVE_WAIT_SHORTTERM | REMOVE_PUT_USE);
}

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t length)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, length)))
		return -EFAULT;
	return 0;
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return __iommufd_object_remove(ucmd->ictx, NULL, cmd->id, 0, 0);
}

static int iommufd_option_rlimit_mode(struct iommu_option *cmd,
				      struct iommufd_ctx *ictx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		cmd->val64 = ictx->account_mode == IOMMUFD_ACCOUNT_MM;
		return 0;
	case IOMMU_OPTION_OP_SET:
		if (!capable(CAP_SYS_RESOURCE))
			return -EPERM;
		if (cmd->val64 > 1)
			return -EINVAL;
		/* Objects may already have charged pages in the old mode. */
		xa_lock(&ictx->objects);
		if (!xa_empty(&ictx->objects))
			rc = -EBUSY;
		else
			ictx->account_mode = cmd->val64 ? IOMMUFD_ACCOUNT_MM :
							  IOMMUFD_ACCOUNT_USER;
		xa_unlock(&ictx->objects);
		return rc;
	default:
		return -EOPNOTSUPP;
	}
}

static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	if (copy_to_user(&((struct iommu_option __user *)ucmd->ubuffer)->val64,
			 &cmd->val64, sizeof(cmd->val64)))
		return -EFAULT;
	return 0;
}

static struct miscdevice vfio_misc_dev;

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	mutex_init(&ictx->groups_lock);
	xa_init(&ictx->groups);
	init_waitqueue_head(&ictx->destroy_wait);
	mutex_init(&ictx->vfio_lock);
	/*
	 * Opened as /dev/vfio/vfio, the container's users expect type1's
	 * accounting: pins charged to the process (the misc core has put the
	 * device in private_data).
	 */
	if (IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER) &&
	    filp->private_data == &vfio_misc_dev)
		ictx->account_mode = IOMMUFD_ACCOUNT_MM;
	else
		ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

/*
 * Nothing uses the context any more: ioctls hold the file and so do kernel
 * users (iommufd_ctx_get()).  Destroy the objects, each pass taking those
 * that nothing depends on any more, so that dependents go first.
 */
static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;
	struct iommufd_object *obj;
	unsigned long index;
	bool destroyed;

	while (!xa_empty(&ictx->objects)) {
		destroyed = false;
		xa_for_each(&ictx->objects, index, obj) {
			if (!refcount_dec_if_one(&obj->users))
				continue;
			destroyed = true;
			xa_erase(&ictx->objects, index);
			iommufd_object_ops[obj->type].destroy(obj);
			kfree(obj);
		}
		/* Only a reference leaked by a bug can stop the teardown. */
		if (WARN_ON(!destroyed))
			break;
	}
	WARN_ON(!xa_empty(&ictx->groups));
	mutex_destroy(&ictx->groups_lock);
	mutex_destroy(&ictx->vfio_lock);
	kfree(ictx);
	return 0;
}

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hw_info info;
	struct iommu_hwpt_set_dirty_tracking set_dirty;
	struct iommu_hwpt_get_dirty_bitmap get_dirty;
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

/*
 * Every iommufd ioctl number is _IO(IOMMUFD_TYPE, nr): the table is
 * indexed by nr.  @_last is the last member of the structure's first
 * version: a smaller size is refused, so the fields up to it are there.
 */
#define IOCTL_OP(_ioctl, _fn, _struct, _last)				\
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {			\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union ucmd_buffer) <	\
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.execute = _fn,						\
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map,
		 iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		 __reserved),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
#ifdef CONFIG_IOMMUFD_TEST
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {};
	union ucmd_buffer buf;
	unsigned int nr;
	int rc;

	nr = _IOC_NR(cmd);
	/* VFIO's container ioctls are numbered below iommufd's */
	if (nr < IOMMUFD_CMD_BASE)
		return iommufd_vfio_ioctl(filp->private_data, cmd, arg);
	if (nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return -ENOTTY;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute || cmd != _IO(IOMMUFD_TYPE, nr))
		return -ENOTTY;

	ucmd.ictx = filp->private_data;
	ucmd.ubuffer = (void __user *)arg;
	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	/* E2BIG when the user's structure is longer and not zero there. */
	rc = copy_struct_from_user(&buf, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	ucmd.cmd = &buf;
	return op->execute(&ucmd);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	/* Every structure is the same for 32-bit processes. */
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * iommufd_ctx_get - take a reference on an iommufd
 * @ictx: the iommufd
 *
 * A kernel user holding the iommufd holds its file: the context lives until
 * iommufd_ctx_put().
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_from_file - the iommufd behind a file
 * @file: a file, which the caller keeps a reference on for the call
 *
 * Return: the iommufd with a reference taken (drop it with
 * iommufd_ctx_put()), or ERR_PTR(-EBADFD) when @file is not an open
 * /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	struct iommufd_ctx *ictx;

	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	ictx = file->private_data;
	iommufd_ctx_get(ictx);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd - the iommufd behind a file descriptor
 * @fd: a file descriptor of the calling process
 *
 * Return: the iommufd with a reference taken (drop it with
 * iommufd_ctx_put()), ERR_PTR(-EBADF) when @fd is not open, or
 * ERR_PTR(-EBADFD) when it is not an open /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	struct iommufd_ctx *ictx;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	ictx = iommufd_ctx_from_file(file);
	fput(file);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_put - drop a reference taken on an iommufd
 * @ictx: the iommufd
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

static struct miscdevice iommu_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

/*
 * With CONFIG_IOMMUFD_VFIO_CONTAINER, VFIO has no container of its own:
 * /dev/vfio/vfio, at VFIO's misc minor, is an iommufd, which answers the
 * type1 ioctls (vfio_compat.c) and which VFIO_GROUP_SET_CONTAINER takes.
 */
static struct miscdevice vfio_misc_dev = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.fops = &iommufd_fops,
	.nodename = "vfio/vfio",
	.mode = 0666,
};

static int __init iommufd_init(void)
{
	int rc;

	rc = misc_register(&iommu_misc_dev);
	if (rc)
		return rc;
	if (IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)) {
		rc = misc_register(&vfio_misc_dev);
		if (rc)
			goto err_iommu;
	}
	rc = iommufd_test_init();
	if (rc)
		goto err_vfio;
	return 0;

err_vfio:
	if (IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER))
		misc_deregister(&vfio_misc_dev);
err_iommu:
	misc_deregister(&iommu_misc_dev);
	return rc;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
	if (IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER))
		misc_deregister(&vfio_misc_dev);
	misc_deregister(&iommu_misc_dev);
}

module_init(iommufd_init);
module_exit(iommufd_exit);

#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
#endif
MODULE_ALIAS("devname:iommu");
MODULE_DESCRIPTION("I/O Address Space Management for passthrough devices");
MODULE_LICENSE("GPL");
