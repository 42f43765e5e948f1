// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the /dev/iommu uAPI: the ioctl contract (sizes, reserved fields,
 * flags, IDs), objects and their lifetime, and options.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define EXPECT_ERRNO(err, expr)				\
	do {						\
		errno = 0;				\
		EXPECT_EQ(-1, expr);			\
		EXPECT_EQ(err, errno);			\
	} while (0)

#define ASSERT_ERRNO(err, expr)				\
	do {						\
		errno = 0;				\
		ASSERT_EQ(-1, expr);			\
		ASSERT_EQ(err, errno);			\
	} while (0)

static int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}

static int obj_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

static int option(int fd, __u32 option_id, __u16 op, __u32 object_id,
		  __u64 *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val,
	};
	int rc;

	rc = ioctl(fd, IOMMU_OPTION, &cmd);
	*val = cmd.val64;
	return rc;
}

static int vfio_ioas(int fd, __u16 op, __u32 *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = *ioas_id,
	};
	int rc;

	rc = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
	*ioas_id = cmd.ioas_id;
	return rc;
}

/*
 * Issue @cmd with a copy of @arg whose size field says @size: shorter than
 * the structure, or longer with a tail of zeroes, or of @tail bytes.
 */
static int ioctl_sized(int fd, unsigned long cmd, const void *arg,
		       size_t argsz, __u32 size, uint8_t tail)
{
	uint8_t buf[256] = {};

	memcpy(buf, arg, argsz);
	memcpy(buf, &size, sizeof(size));
	if (size > argsz)
		memset(buf + argsz, tail, size - argsz);
	return ioctl(fd, cmd, buf);
}

FIXTURE(iommufd) {
	int fd;
};

FIXTURE_SETUP(iommufd)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
}

TEST_F(iommufd, open_close)
{
	int fd = open("/dev/iommu", O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_NE(self->fd, fd);
	ASSERT_EQ(0, close(fd));
}

/* Numbers the kernel does not know, and known numbers with other bits. */
TEST_F(iommufd, unknown_ioctl)
{
	__u32 buf[16] = { sizeof(buf) };

	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x7f), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0xff), buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', IOMMUFD_CMD_DESTROY),
				   buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd,
				   _IOW(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY,
					struct iommu_destroy), buf));
}

TEST_F(iommufd, bad_pointer)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_DESTROY, 8));
}

/*
 * The extensible-structure contract, on one ioctl: one byte short is
 * EINVAL, a longer structure is fine while the tail is zero and E2BIG when
 * it is not; nothing changes on failure.  With the size right, the call
 * succeeds or fails with @ok_errno.
 */
static void check_sizes(struct __test_metadata *_metadata, int fd,
			unsigned long num, const void *arg, __u32 size,
			int ok_errno)
{
	EXPECT_ERRNO(EINVAL, ioctl_sized(fd, num, arg, size, size - 1, 0));
	EXPECT_ERRNO(E2BIG, ioctl_sized(fd, num, arg, size, size + 8, 1));
	EXPECT_ERRNO(E2BIG, ioctl_sized(fd, num, arg, size, 256, 0xff));
	errno = 0;
	EXPECT_EQ(ok_errno ? -1 : 0,
		  ioctl_sized(fd, num, arg, size, size + 8, 0));
	EXPECT_EQ(ok_errno, errno);
}

TEST_F(iommufd, struct_sizes)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};
	struct iommu_vfio_ioas vfio = {
		.size = sizeof(vfio),
		.op = IOMMU_VFIO_IOAS_CLEAR,
	};
	__u32 ioas_id;

	/* Destroy of an ID that does not exist: ENOENT once size is fine. */
	destroy.id = 1000;
	check_sizes(_metadata, self->fd, IOMMU_DESTROY, &destroy,
		    sizeof(destroy), ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_OPTION, &option,
		    sizeof(option), 0);
	check_sizes(_metadata, self->fd, IOMMU_VFIO_IOAS, &vfio,
		    sizeof(vfio), 0);

	/* Only the accepted IOAS_ALLOC created an IOAS: the next is ID 2. */
	check_sizes(_metadata, self->fd, IOMMU_IOAS_ALLOC, &alloc,
		    sizeof(alloc), 0);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(2, ioas_id);
	ASSERT_EQ(0, obj_destroy(self->fd, 1));
	ASSERT_EQ(0, obj_destroy(self->fd, 2));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, 3));
}

TEST_F(iommufd, ioas_alloc_destroy)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	__u32 a, b;

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	EXPECT_LE(1, a);
	EXPECT_NE(a, b);

	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, 0));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, b + 100));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, UINT32_MAX));
	ASSERT_EQ(0, obj_destroy(self->fd, a));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, a));
	ASSERT_EQ(0, obj_destroy(self->fd, b));
}

/* Closing with objects alive destroys them all. */
TEST_F(iommufd, close_with_objects)
{
	__u32 id = 0, compat;
	int i;

	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	compat = id;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &compat));
	ASSERT_EQ(0, close(self->fd));
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	/* A new context starts empty and numbers from 1 again. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(1, id);
}

static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

TEST_F(iommufd, option_rlimit_mode)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};
	__u64 val = 5;
	__u32 id;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	ASSERT_EQ(0, val);

	val = 2;
	EXPECT_ERRNO(EINVAL, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				    IOMMU_OPTION_OP_SET, 0, &val));
	val = 1;
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
					IOMMU_OPTION_OP_SET, 1, &val));
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
					2, 0, &val));
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));
	cmd.__reserved = 0;
	cmd.option_id = 2;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_OPTION, &cmd));

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, &val));
	val = 0;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	ASSERT_EQ(1, val);

	/* Global: not once an object exists. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	val = 0;
	EXPECT_ERRNO(EBUSY, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, &val));
	ASSERT_EQ(0, obj_destroy(self->fd, id));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, &val));

	/* Setting needs CAP_SYS_RESOURCE; reading does not. */
	ASSERT_EQ(0, drop_cap(CAP_SYS_RESOURCE));
	val = 1;
	EXPECT_ERRNO(EPERM, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, &val));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	ASSERT_EQ(0, val);
}

TEST_F(iommufd, option_huge_pages)
{
	__u64 val = 0;
	__u32 id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, id, &val));
	ASSERT_EQ(1, val);

	val = 0;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, id, &val));
	val = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, id, &val));
	ASSERT_EQ(0, val);

	val = 2;
	EXPECT_ERRNO(EINVAL, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, id, &val));
	val = 1;
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
					3, id, &val));
	EXPECT_ERRNO(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, 0, &val));
	EXPECT_ERRNO(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_GET, id + 1, &val));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, id, &val));
	val = 0;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, id, &val));
	ASSERT_EQ(1, val);
}

TEST_F(iommufd, vfio_ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	__u32 id, got;

	got = 0;
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	got = id + 1;
	EXPECT_ERRNO(ENOENT, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &got));
	got = id;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &got));
	got = 0;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));
	ASSERT_EQ(id, got);

	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.__reserved = 0;
	cmd.op = 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));

	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &got));
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));

	/* The compatibility IOAS holds no reference: destroying clears it. */
	got = id;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &got));
	ASSERT_EQ(0, obj_destroy(self->fd, id));
	EXPECT_ERRNO(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &got));
}

/*
 * Several threads create, use and destroy objects of one iommufd at once,
 * for a bounded time.  Every call must succeed or fail with an errno that
 * the race explains; the kernel must not splat (the runner checks its log).
 */
struct race {
	int fd;
	atomic_bool stop;
	atomic_int bad_errno;
	atomic_long calls;
	atomic_uint last_id;
};

static void race_check(struct race *r, int rc, int ok1, int ok2)
{
	atomic_fetch_add(&r->calls, 1);
	if (rc && errno != ok1 && errno != ok2)
		atomic_store(&r->bad_errno, errno);
}

/* An ID near the newest one: alive, being created or just destroyed. */
static __u32 race_id(struct race *r, unsigned int *seed)
{
	return atomic_load(&r->last_id) + rand_r(seed) % 8 - 4;
}

static void *race_alloc_destroy(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 1;
	__u32 id;

	while (!atomic_load(&r->stop)) {
		race_check(r, ioas_alloc(r->fd, &id), ENOSPC, 0);
		atomic_store(&r->last_id, id);
		race_check(r, obj_destroy(r->fd, race_id(r, &seed)), ENOENT,
			   EBUSY);
	}
	return NULL;
}

static void *race_use(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 2;
	__u64 val;
	__u32 id;

	while (!atomic_load(&r->stop)) {
		val = 0;
		race_check(r, option(r->fd, IOMMU_OPTION_HUGE_PAGES,
				     IOMMU_OPTION_OP_SET, race_id(r, &seed),
				     &val),
			   ENOENT, 0);
		id = race_id(r, &seed);
		race_check(r, vfio_ioas(r->fd, IOMMU_VFIO_IOAS_SET, &id),
			   ENOENT, 0);
		race_check(r, vfio_ioas(r->fd, IOMMU_VFIO_IOAS_GET, &id),
			   ENODEV, 0);
	}
	return NULL;
}

TEST_F(iommufd, race_create_use_destroy)
{
	struct race r = { .fd = self->fd, .last_id = 1 };
	pthread_t threads[4];
	__u32 id;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    i % 2 ? race_use :
						    race_alloc_destroy, &r));
	sleep(2);
	atomic_store(&r.stop, true);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	TH_LOG("%ld calls", atomic_load(&r.calls));
	EXPECT_EQ(0, atomic_load(&r.bad_errno));
	EXPECT_LT(1000, atomic_load(&r.calls));

	/* Everything left is still usable and destroyable. */
	for (id = 1; id <= atomic_load(&r.last_id) + 4; id++) {
		if (obj_destroy(self->fd, id))
			EXPECT_EQ(ENOENT, errno);
	}
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
}

TEST_HARNESS_MAIN
