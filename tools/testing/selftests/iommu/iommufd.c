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
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "iommufd_utils.h"

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

/*
 * The ioctls of the uAPI header this series does not implement yet
 * (invalidation, fault queues) answer ENOTTY, whatever the
 * argument, and the test operations it does not implement answer
 * EOPNOTSUPP, as an unknown one does.  Mainline implements them: there
 * only the unknown operation is checked, and the test skips.
 */
TEST_F(iommufd, unimplemented_ioctls_and_test_ops)
{
	static const unsigned int cmds[] = {
		IOMMUFD_CMD_HWPT_INVALIDATE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC,
	};
	static const unsigned int ops[] = {
		IOMMU_TEST_OP_MD_CHECK_IOTLB, IOMMU_TEST_OP_TRIGGER_IOPF,
	};
	struct iommu_test_cmd cmd = { .size = sizeof(cmd) };
	__u32 buf[64] = { sizeof(buf) };
	unsigned int i;

	cmd.op = IOMMU_TEST_OP_TRIGGER_IOPF + 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
	if (ioctl(self->fd, _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE),
		  buf) != -1 || errno != ENOTTY)
		SKIP(return, "IOMMU_HWPT_INVALIDATE is implemented (mainline)");

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, cmds[i]),
					   buf));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		cmd.op = ops[i];
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, IOMMU_TEST_CMD, &cmd))
			TH_LOG("test op %u", ops[i]);
		EXPECT_EQ(EOPNOTSUPP, errno);
	}
}

TEST_F(iommufd, bad_pointer)
{
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_DESTROY, 8));
}

/*
 * The extensible-structure contract, on one ioctl: one byte short is
 * EINVAL, a longer structure is fine while the tail is zero and E2BIG when
 * it is not; nothing changes on failure.  @size is the structure's
 * minimum size; with it, the call succeeds or fails with @ok_errno.
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

/*
 * The same for a structure that grew since its first version, of @min
 * bytes: every size from @min on is accepted, the fields after it zero.
 */
static void check_grown_sizes(struct __test_metadata *_metadata, int fd,
			      unsigned long num, const void *arg, __u32 size,
			      __u32 min, int ok_errno)
{
	EXPECT_ERRNO(EINVAL, ioctl_sized(fd, num, arg, size, min - 1, 0));
	EXPECT_ERRNO(ok_errno, ioctl_sized(fd, num, arg, size, min, 0));
	EXPECT_ERRNO(ok_errno, ioctl_sized(fd, num, arg, size, size, 0));
	EXPECT_ERRNO(ok_errno, ioctl_sized(fd, num, arg, size, size + 8, 0));
	EXPECT_ERRNO(E2BIG, ioctl_sized(fd, num, arg, size, size + 8, 1));
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
	struct iommu_ioas_map map = { .size = sizeof(map) };
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_ioas_copy copy = { .size = sizeof(copy), .flags = 2 };
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges) };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_test_cmd test = {
		.size = sizeof(test),
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.add_reserved = { .length = 1 },
	};
	__u32 ioas_id;

	/* With no IOAS yet, ID 0 gives ENOENT once the size is fine. */
	map.flags = IOMMU_IOAS_MAP_READABLE;
	map.length = 1;
	check_sizes(_metadata, self->fd, IOMMU_IOAS_MAP, &map, sizeof(map),
		    ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_IOAS_UNMAP, &unmap,
		    sizeof(unmap), ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_IOAS_COPY, &copy, sizeof(copy),
		    ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_IOAS_IOVA_RANGES, &ranges,
		    sizeof(ranges), ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow,
		    sizeof(allow), ENOENT);
	/* Its minimum size ends at "last", before the tail padding. */
	check_sizes(_metadata, self->fd, IOMMU_TEST_CMD, &test,
		    offsetof(struct iommu_test_cmd, last) + sizeof(__u32),
		    ENOENT);

	/* Destroy of an ID that does not exist: ENOENT once size is fine. */
	destroy.id = 1000;
	check_sizes(_metadata, self->fd, IOMMU_DESTROY, &destroy,
		    sizeof(destroy), ENOENT);
	check_sizes(_metadata, self->fd, IOMMU_OPTION, &option,
		    sizeof(option), 0);
	check_sizes(_metadata, self->fd, IOMMU_VFIO_IOAS, &vfio,
		    sizeof(vfio), 0);
	/* Structures that grew: their first version is the minimum. */
	check_grown_sizes(_metadata, self->fd, IOMMU_HWPT_ALLOC, &hwpt,
			  sizeof(hwpt), 24, ENOENT);
	check_grown_sizes(_metadata, self->fd, IOMMU_GET_HW_INFO, &info,
			  sizeof(info), 32, ENOENT);

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

/* An IOAS with a buffer of 1 MiB, 2 MiB aligned, to map. */
FIXTURE(mapping) {
	int fd;
	__u32 ioas_id;
	void *buf;
	size_t buf_size;
	long vmpin;
};

FIXTURE_SETUP(mapping)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->buf_size = MB;
	self->buf = alloc_buffer(self->buf_size, 2 * MB);
	ASSERT_NE(NULL, self->buf);
	self->vmpin = proc_status_kb("VmPin");
	ASSERT_LE(0, self->vmpin);
}

FIXTURE_TEARDOWN(mapping)
{
	close(self->fd);
	EXPECT_EQ(0, check_unpinned(self->buf, self->buf_size));
}

TEST_F(mapping, map_bad_input)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_FIXED_RW,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buf,
		.length = PAGE_SIZE,
		.iova = 0x100000,
	};

	cmd.flags |= 1 << 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_FIXED_RW;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0;
	cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_FIXED_RW;
	cmd.ioas_id = self->ioas_id + 1;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.ioas_id = 0;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.ioas_id = self->ioas_id;

	/* Lengths and ranges that wrap */
	cmd.length = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.length = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.length = PAGE_SIZE;
	cmd.user_va = UINT64_MAX - PAGE_SIZE / 2;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.user_va = (uintptr_t)self->buf;
	cmd.iova = UINT64_MAX - PAGE_SIZE / 2;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.iova = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));

	/* Nothing of the failures stayed pinned or mapped. */
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX - 1,
					NULL));
}

TEST_F(mapping, unmap_bad_input)
{
	__u64 unmapped = 1;

	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id + 1, 0,
					PAGE_SIZE, NULL));
	EXPECT_ERRNO(EINVAL, ioas_unmap(self->fd, self->ioas_id, 0, 0, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id,
					   UINT64_MAX - 10, 100, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, 1,
					   UINT64_MAX, NULL));
	/* Everything, with nothing mapped, is fine and unmaps nothing. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(0, unmapped);
}

/* Without FIXED_IOVA: free, distinct ranges, large-page friendly. */
TEST_F(mapping, map_auto_iova)
{
	__u64 iovas[8], iova;
	int i, j;

	for (i = 0; i < 8; i++) {
		iovas[i] = 0xdead;
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
				      PAGE_SIZE * (i + 1), &iovas[i],
				      MAP_RW));
		for (j = 0; j < i; j++)
			EXPECT_TRUE(iovas[i] + PAGE_SIZE * (i + 1) <=
					    iovas[j] ||
				    iovas[j] + PAGE_SIZE * (j + 1) <=
					    iovas[i]);
	}
	/* A 2 MiB aligned MiB gets a MiB aligned IOVA. */
	iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	EXPECT_EQ(0, iova % MB);
}

TEST_F(mapping, reserved)
{
	struct iommu_iova_range r[4];
	__u32 num = 4;
	__u64 iova;

	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0, 0x10000));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0x200000,
				  0x100000));
	EXPECT_ERRNO(ENOENT, add_reserved(self->fd, self->ioas_id + 1, 0,
					  PAGE_SIZE));
	EXPECT_ERRNO(EOVERFLOW, add_reserved(self->fd, self->ioas_id,
					     UINT64_MAX, 2));

	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PAGE_SIZE,
					    0x2ff000));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 0x10000,
					    0x1f8000));
	/* The kernel's choice avoids the reserved ranges. */
	iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	EXPECT_TRUE(iova >= 0x300000 || (iova >= 0x10000 &&
					 iova + MB <= 0x200000));

	/* A mapping and a reservation never overlap, either way round. */
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      iova + MB - 1, 2));

	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	ASSERT_EQ(2, num);
	EXPECT_EQ(0x10000, r[0].start);
	EXPECT_EQ(0x1fffff, r[0].last);
	EXPECT_EQ(0x300000, r[1].start);
	EXPECT_EQ(UINT64_MAX, r[1].last);
}

TEST_F(mapping, iova_ranges)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
	};
	struct iommu_iova_range r[3] = {};
	__u64 alignment = 0;
	__u32 num = 0;

	/* A new IOAS: everything, any alignment. */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0x1000, 0x1000));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0x3000, 0x1000));
	EXPECT_ERRNO(EMSGSIZE, iova_ranges(self->fd, self->ioas_id, r, &num,
					   NULL));
	EXPECT_EQ(3, num);
	num = 1;
	EXPECT_ERRNO(EMSGSIZE, iova_ranges(self->fd, self->ioas_id, r, &num,
					   NULL));
	EXPECT_EQ(3, num);
	/* What fitted was filled in. */
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(0xfff, r[0].last);
	EXPECT_EQ(0, r[1].last);
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num,
				 &alignment));
	EXPECT_EQ(3, num);
	EXPECT_EQ(1, alignment);
	EXPECT_EQ(0x2000, r[1].start);
	EXPECT_EQ(0x2fff, r[1].last);
	EXPECT_EQ(0x4000, r[2].start);
	EXPECT_EQ(UINT64_MAX, r[2].last);

	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.__reserved = 0;
	cmd.num_iovas = 3;
	cmd.allowed_iovas = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id = 0;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(mapping, allow_iovas)
{
	struct iommu_iova_range allow[2] = {
		{ .start = 0x1000000, .last = 0x1ffffff },
		{ .start = 0x4000000, .last = 0x4ffffff },
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)allow,
	};
	struct iommu_iova_range r[4];
	__u32 num = 4;
	__u64 iova;

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, allow, 2));
	/* The promise does not narrow what can be mapped. */
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);

	/* The kernel's choices stay inside; fixed mappings need not. */
	iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	EXPECT_LE(0x1000000, iova);
	EXPECT_GE(0x1ffffff, iova + MB - 1);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, 0x2000000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, 0x4000000));

	/* No reservation inside a promised range, nor the reverse. */
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      0x4fff000, PAGE_SIZE));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0x8000000,
				  PAGE_SIZE));
	allow[1].last = 0x8000000;
	EXPECT_ERRNO(EADDRINUSE, allow_iovas(self->fd, self->ioas_id, allow,
					     2));
	/* Bad lists change nothing. */
	allow[1].start = 0x1fff000;
	allow[1].last = 0x2ffffff;
	EXPECT_ERRNO(EINVAL, allow_iovas(self->fd, self->ioas_id, allow, 2));
	allow[1].start = 0x3000000;
	allow[1].last = 0x2ffffff;
	EXPECT_ERRNO(EINVAL, allow_iovas(self->fd, self->ioas_id, allow, 2));
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.__reserved = 0;
	cmd.allowed_iovas = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	/* The promise of both ranges stands. */
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      0x1fff000, PAGE_SIZE));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      0x4fff000, PAGE_SIZE));
	num = 4;
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	ASSERT_EQ(2, num);
	EXPECT_EQ(0x7ffffff, r[0].last);
	EXPECT_EQ(0x8001000, r[1].start);

	/* An empty list removes the promise. */
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0x4fff000,
				  PAGE_SIZE));
	num = 4;
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	EXPECT_EQ(3, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(0x4ffefff, r[0].last);
	EXPECT_EQ(UINT64_MAX, r[2].last);
}

/*
 * Open an iommufd with one IOAS and a 2 MiB aligned MiB of memory, and
 * note the pinned memory before anything is mapped.
 */
static void setup_ioas(struct __test_metadata *_metadata, int *fd,
		       __u32 *ioas_id, void **buf, long *vmpin)
{
	*fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, *fd);
	ASSERT_EQ(0, ioas_alloc(*fd, ioas_id));
	*buf = alloc_buffer(MB, 2 * MB);
	ASSERT_NE(NULL, *buf);
	*vmpin = proc_status_kb("VmPin");
	ASSERT_LE(0, *vmpin);
}

/* An IOAS with a mock device attached through a mock domain. */
FIXTURE(mock) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 idev_id;
	void *buf;
	long vmpin;
};

FIXTURE_SETUP(mock)
{
	setup_ioas(_metadata, &self->fd, &self->ioas_id, &self->buf,
		   &self->vmpin);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				 &self->hwpt_id, &self->idev_id));
}

/* Mock devices made while it is set cannot enforce cache coherency. */
#define MOCK_NONCOHERENT	"/sys/kernel/debug/iommufd/mock_dev_noncoherent"
/*
 * Mock domains made while it is set get their aperture at their first
 * attach, and cannot map before.
 */
#define MOCK_LATE_SETUP	"/sys/kernel/debug/iommufd/mock_domain_late_setup"

static int set_mock_knob(const char *knob, bool on)
{
	int fd, rc;

	fd = open(knob, O_WRONLY);
	if (fd < 0)
		return -1;
	rc = write(fd, on ? "Y" : "N", 1) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

static int set_mock_noncoherent(bool on)
{
	return set_mock_knob(MOCK_NONCOHERENT, on);
}

/*
 * A mock device with MOCK_FLAGS_DEVICE_* @dev_flags on a page table of its
 * own, not one of @ioas_id's others: made so by the MOCK_NONCOHERENT knob
 * of this series, or, where there is none (mainline), allocated with
 * IOMMU_HWPT_ALLOC and attached in place of the one the device got.
 * *@own_hwpt is the page table to destroy after the device, or 0 when it
 * goes with the device.
 */
static int mock_domain_own(int fd, __u32 ioas_id, __u32 dev_flags,
			   __u32 *stdev_id, __u32 *hwpt_id, __u32 *own_hwpt)
{
	__u32 idev_id;
	int rc;

	*own_hwpt = 0;
	if (!set_mock_noncoherent(true)) {
		rc = mock_domain_flags(fd, ioas_id, dev_flags, stdev_id,
				       hwpt_id);
		set_mock_noncoherent(false);
		return rc;
	}
	if (mock_domain_flags_idev(fd, ioas_id, dev_flags, stdev_id, NULL,
				   &idev_id) ||
	    hwpt_alloc(fd, idev_id, ioas_id, hwpt_id) ||
	    mock_domain_replace(fd, *stdev_id, hwpt_id))
		return -1;
	*own_hwpt = *hwpt_id;
	return 0;
}

/* Destroy what mock_domain_own() made. */
static int mock_domain_own_destroy(int fd, __u32 stdev_id, __u32 own_hwpt)
{
	if (obj_destroy(fd, stdev_id))
		return -1;
	return own_hwpt ? obj_destroy(fd, own_hwpt) : 0;
}

/*
 * Mock devices made while it is set report a software-managed MSI window
 * and a relaxable direct-mapped region (MOCK_SW_MSI_START and
 * MOCK_RELAXABLE_START of the mock driver, 1 MiB each), and refuse a
 * domain with no MSI cookie.
 */
#define MOCK_RESV_REGIONS	"/sys/kernel/debug/iommufd/mock_dev_resv_regions"
#define MOCK_SW_MSI_START	0x8000000UL
#define MOCK_RELAXABLE_START	0x9000000UL

/* Mock devices made while it is set lack IOMMU_CAP_CACHE_COHERENCY. */
#define MOCK_INCOHERENT_DMA	"/sys/kernel/debug/iommufd/mock_dev_incoherent_dma"

FIXTURE_TEARDOWN(mock)
{
	set_mock_knob(MOCK_INCOHERENT_DMA, false);
	set_mock_knob(MOCK_RESV_REGIONS, false);
	set_mock_noncoherent(false);
	set_mock_knob(MOCK_LATE_SETUP, false);
	close(self->fd);
	EXPECT_EQ(0, check_unpinned(self->buf, MB));
}

/*
 * An IOAS with 0, 1 or 2 mock domains, and a 2 MiB aligned MiB of memory
 * to map into it.  Memory is pinned (and charged, and seen in VmPin) only
 * while a page table needs it: one body per behaviour, run in each case.
 */
FIXTURE(pinning) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_ids[2];
	__u32 hwpt_ids[2];
	void *buf;
	long vmpin;
	__u64 base;
};

FIXTURE_VARIANT(pinning) {
	unsigned int domains;
	unsigned int pin_batch;
};

FIXTURE_VARIANT_ADD(pinning, no_domain) {
	.domains = 0,
};

FIXTURE_VARIANT_ADD(pinning, one_domain) {
	.domains = 1,
};

FIXTURE_VARIANT_ADD(pinning, two_domains) {
	.domains = 2,
};

FIXTURE_VARIANT_ADD(pinning, small_batches) {
	.domains = 1,
	.pin_batch = PIN_BATCH_MIN,
};

FIXTURE_SETUP(pinning)
{
	__u32 idev_id, flags;
	unsigned int i;

	setup_ioas(_metadata, &self->fd, &self->ioas_id, &self->buf,
		   &self->vmpin);
	if (variant->pin_batch)
		ASSERT_EQ(0, set_pin_batch(self->fd, variant->pin_batch));
	/*
	 * A device of each kind has a domain of its own here; where the
	 * kinds share one (mainline), the second gets its own allocated.
	 */
	for (i = 0; i < variant->domains; i++) {
		flags = i ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0;
		ASSERT_EQ(0, mock_domain_flags_idev(self->fd, self->ioas_id,
						    flags, &self->stdev_ids[i],
						    &self->hwpt_ids[i],
						    &idev_id));
	}
	if (variant->domains == 2 && self->hwpt_ids[0] == self->hwpt_ids[1]) {
		ASSERT_EQ(0, hwpt_alloc(self->fd, idev_id, self->ioas_id,
					&self->hwpt_ids[1]));
		ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_ids[1],
						 &self->hwpt_ids[1]));
	}
	if (variant->domains == 2)
		ASSERT_NE(self->hwpt_ids[0], self->hwpt_ids[1]);
	/* Inside the mock domains' aperture, with or without them. */
	self->base = MOCK_APERTURE_START;
}

FIXTURE_TEARDOWN(pinning)
{
	close(self->fd);
	EXPECT_EQ(0, check_unpinned(self->buf, MB));
}

/* VmPin with @kb KiB pinned if a page table needs them. */
#define PINNED_KB(kb) (self->vmpin + (variant->domains ? (long)(kb) : 0))
/* How many times each page of a mapping is pinned. */
#define PAGE_PINS (variant->domains ? 1 : 0)

TEST_F(pinning, map_unmap_fixed)
{
	__u64 unmapped = 0, iova = self->base + 0x100000;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PAGE_SIZE, iova));
	/* Pinned at map time, once, only for page tables. */
	EXPECT_EQ(PINNED_KB(64), proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE,
				PAGE_PINS));

	/* The range is taken, whole or in part. */
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 16 * PAGE_SIZE, iova));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 16 * PAGE_SIZE,
					    iova + 15 * PAGE_SIZE));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 16 * PAGE_SIZE,
					    iova - 15 * PAGE_SIZE));

	/* A mapping goes whole or not at all. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, iova,
					8 * PAGE_SIZE, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					iova + PAGE_SIZE, 16 * PAGE_SIZE,
					NULL));
	EXPECT_EQ(PINNED_KB(64), proc_status_kb("VmPin"));

	/* A larger range takes everything inside it. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova - PAGE_SIZE,
				32 * PAGE_SIZE, &unmapped));
	EXPECT_EQ(16 * PAGE_SIZE, unmapped);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE, 0));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, iova,
					16 * PAGE_SIZE, NULL));
}

/*
 * A mock domain of its own for one more device: the first page table of
 * an IOAS pins its mappings, the last one to go unpins them.
 */
TEST_F(pinning, attach_pins_and_detach_unpins)
{
	__u64 iova = self->base;
	__u32 stdev_id, hwpt_id, own_hwpt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	EXPECT_EQ(PINNED_KB(1024), proc_status_kb("VmPin"));
	ASSERT_EQ(0, mock_domain_own(self->fd, self->ioas_id, 0, &stdev_id,
				     &hwpt_id, &own_hwpt));
	EXPECT_EQ(self->vmpin + 1024, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, MB, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, iova, self->buf, MB));

	ASSERT_EQ(0, mock_domain_own_destroy(self->fd, stdev_id, own_hwpt));
	EXPECT_EQ(PINNED_KB(1024), proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, MB, PAGE_PINS));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, MB, NULL));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * Memory that cannot be pinned as asked: refused (EFAULT) at map time
 * when a page table needs it, else at the first attach, which then
 * changes nothing.
 */
TEST_F(pinning, memory_not_there)
{
	__u64 iova = self->base, iova2 = self->base + MB;
	__u32 stdev_id;
	void *ro, *gone;

	gone = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	munmap(gone, PAGE_SIZE);
	ro = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);
	/* Read-only memory maps read-only either way. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, PAGE_SIZE, &iova2,
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_FIXED_IOVA));

	if (variant->domains) {
		EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas_id,
						    gone, PAGE_SIZE, iova));
		EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas_id,
						    ro, PAGE_SIZE, iova));
		EXPECT_EQ(PINNED_KB(4), proc_status_kb("VmPin"));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0,
					UINT64_MAX, NULL));
		EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
		return;
	}

	/* Nothing touches the memory yet. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, gone, PAGE_SIZE,
				    iova));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 NULL, NULL));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, PAGE_SIZE,
				NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, ro, PAGE_SIZE,
				    iova));
	EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 NULL, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, PAGE_SIZE,
				NULL));
	/* With the bad mappings gone, the attach works and pins the rest. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id, NULL,
				 NULL));
	EXPECT_EQ(self->vmpin + 4, proc_status_kb("VmPin"));
}

/*
 * The memory of a process that mapped it and exited is gone: a page
 * table attached later cannot pin it (EFAULT); pins taken before stay
 * until the unmap.
 */
TEST_F(pinning, attach_after_the_mapper_exited)
{
	__u64 iova = self->base;
	__u32 stdev_id;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		void *mem = alloc_buffer(MB, 2 * MB);

		_exit(!mem || ioas_map_fixed(self->fd, self->ioas_id, mem, MB,
					     iova));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	if (variant->domains) {
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 NULL, NULL));
	} else {
		EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id,
						 &stdev_id, NULL, NULL));
	}
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, MB, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id, NULL,
				 NULL));
}

TEST_F(pinning, unmap_all)
{
	__u64 iova, unmapped;
	int i;

	for (i = 0; i < 8; i++) {
		iova = 0;
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
				      self->buf + i * PAGE_SIZE, PAGE_SIZE,
				      &iova, MAP_RW));
	}
	EXPECT_EQ(PINNED_KB(32), proc_status_kb("VmPin"));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(8 * PAGE_SIZE, unmapped);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/* A copy shares the pins of the mapping it copies. */
TEST_F(pinning, copy)
{
	__u64 dst_iova, src_iova = self->base + 0x100000, unmapped;
	__u32 dst_id;
	void *ro;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PAGE_SIZE, src_iova));
	EXPECT_EQ(PINNED_KB(64), proc_status_kb("VmPin"));

	dst_iova = self->base + 0x700000;
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id, src_iova,
			       16 * PAGE_SIZE, &dst_iova, MAP_FIXED_RW));
	EXPECT_EQ(self->base + 0x700000, dst_iova);
	/* Into the same IOAS too, at an IOVA the kernel picks. */
	dst_iova = 0;
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, self->ioas_id,
			       src_iova, 16 * PAGE_SIZE, &dst_iova, MAP_RW));
	EXPECT_NE(src_iova, dst_iova);
	EXPECT_EQ(PINNED_KB(64), proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE,
				PAGE_PINS));

	/* A page table on the copy's IOAS pins the pages once. */
	ASSERT_EQ(0, mock_domain(self->fd, dst_id, NULL, NULL, NULL));
	EXPECT_EQ(self->vmpin + 64, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE, 1));

	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, dst_id, self->ioas_id + 2,
				       src_iova, 16 * PAGE_SIZE, &dst_iova,
				       MAP_RW));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, dst_id + 1, self->ioas_id,
				       src_iova, 16 * PAGE_SIZE, &dst_iova,
				       MAP_RW));
	EXPECT_ERRNO(EOPNOTSUPP, ioas_copy(self->fd, dst_id, self->ioas_id,
					   src_iova, 16 * PAGE_SIZE,
					   &dst_iova, MAP_RW | 1 << 3));
	EXPECT_ERRNO(EINVAL, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src_iova, 16 * PAGE_SIZE, &dst_iova,
				       IOMMU_IOAS_MAP_FIXED_IOVA));
	dst_iova = self->base + 0x700000;
	EXPECT_ERRNO(EEXIST, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src_iova, 16 * PAGE_SIZE, &dst_iova,
				       MAP_FIXED_RW));
	EXPECT_ERRNO(EOVERFLOW, ioas_copy(self->fd, dst_id, self->ioas_id,
					  UINT64_MAX - 1, 16 * PAGE_SIZE,
					  &dst_iova, MAP_RW));

	/* Memory pinned read-only has no writable copy. */
	ro = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	ASSERT_NE(MAP_FAILED, ro);
	dst_iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, PAGE_SIZE,
			      &dst_iova, IOMMU_IOAS_MAP_READABLE));
	src_iova = dst_iova;
	EXPECT_ERRNO(EPERM, ioas_copy(self->fd, dst_id, self->ioas_id,
				      src_iova, PAGE_SIZE, &dst_iova, MAP_RW));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, src_iova, PAGE_SIZE,
				NULL));

	/* The pins go with the last mapping in a page table. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(32 * PAGE_SIZE, unmapped);
	EXPECT_EQ(self->vmpin + 64, proc_status_kb("VmPin"));
	ASSERT_EQ(0, ioas_unmap(self->fd, dst_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(16 * PAGE_SIZE, unmapped);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE, 0));
}

/*
 * IOAS_COPY takes any range the source maps without a hole, across
 * mappings and from any offset in them; each piece shares its source's
 * pins.
 */
TEST_F(pinning, copy_any_range)
{
	__u64 src = self->base, dst_iova = self->base + 0x700000, unmapped;
	unsigned int src_pins = PAGE_PINS;
	__u32 dst_id, hwpt_id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PAGE_SIZE, src));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PAGE_SIZE, 8 * PAGE_SIZE,
				    src + 8 * PAGE_SIZE));

	/* Not wholly mapped: after the end, or with a hole */
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src + 12 * PAGE_SIZE, 8 * PAGE_SIZE,
				       &dst_iova, MAP_FIXED_RW));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 32 * PAGE_SIZE, PAGE_SIZE,
				    src + 32 * PAGE_SIZE));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src + 15 * PAGE_SIZE, 18 * PAGE_SIZE,
				       &dst_iova, MAP_FIXED_RW));

	/* Across the two mappings, from the middle of the first */
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id,
			       src + 4 * PAGE_SIZE, 8 * PAGE_SIZE, &dst_iova,
			       MAP_FIXED_RW));
	/* A page table on the copy pins the pages it maps, once. */
	ASSERT_EQ(0, mock_domain(self->fd, dst_id, NULL, &hwpt_id, NULL));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, dst_iova,
			       self->buf + 4 * PAGE_SIZE, 8 * PAGE_SIZE));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 4 * PAGE_SIZE,
				8 * PAGE_SIZE, 1));
	/* Only what the copy maps: not the rest of the source mapping */
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 4 * PAGE_SIZE,
				src_pins));
	/* 17 source pages when pinned for the source, else the copy's 8 */
	EXPECT_EQ(self->vmpin + (variant->domains ? 68 : 32),
		  proc_status_kb("VmPin"));

	/* A sub-page offset is refused where a page table needs pages. */
	EXPECT_ERRNO(EINVAL, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src + 100, PAGE_SIZE, &dst_iova,
				       MAP_RW));
	ASSERT_EQ(0, ioas_unmap(self->fd, dst_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(8 * PAGE_SIZE, unmapped);
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 4 * PAGE_SIZE,
				8 * PAGE_SIZE, src_pins));
}

/* With no page table anywhere, any byte offset and length will do. */
TEST_F(mapping, copy_at_a_byte_offset)
{
	__u64 src = 0x100000, dst_iova = 0, unmapped;
	unsigned char tmp[64];
	__u32 dst_id;
	int access_fd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, src));
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id, src + 100,
			       sizeof(tmp), &dst_iova, MAP_RW));
	/* An access that only reads and writes takes it. */
	ASSERT_EQ(0, create_access_flags(self->fd, dst_id, 0, &access_fd));
	ASSERT_EQ(0, access_rw(self->fd, access_fd, dst_iova, tmp,
			       sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(tmp, (char *)self->buf + 100, sizeof(tmp)));
	close(access_fd);
	ASSERT_EQ(0, ioas_unmap(self->fd, dst_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(sizeof(tmp), unmapped);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * An access that pins needs mappings of whole pages: it cannot attach to
 * an IOAS with a mapping at a byte offset, and while it is attached the
 * IOAS asks for page alignment (IOVA_RANGES) and refuses such mappings.
 */
TEST_F(mapping, pinning_access_needs_whole_pages)
{
	__u64 src = 0x100000, dst_iova = 0, align;
	struct iommu_iova_range r[2];
	__u32 dst_id, num = 2;
	int access_fd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, src));
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id, src + 100, 64,
			       &dst_iova, MAP_RW));
	EXPECT_ERRNO(EADDRINUSE, create_access(self->fd, dst_id, &access_fd));
	ASSERT_EQ(0, ioas_unmap(self->fd, dst_id, 0, UINT64_MAX, NULL));

	ASSERT_EQ(0, create_access(self->fd, dst_id, &access_fd));
	ASSERT_EQ(0, iova_ranges(self->fd, dst_id, r, &num, &align));
	EXPECT_EQ(PAGE_SIZE, align);
	dst_iova = 0;
	EXPECT_ERRNO(EINVAL, ioas_copy(self->fd, dst_id, self->ioas_id,
				       src + 100, 64, &dst_iova, MAP_RW));
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id, src,
			       PAGE_SIZE, &dst_iova, MAP_RW));
	ASSERT_EQ(0, close(access_fd));

	/* Gone with it */
	ASSERT_EQ(0, iova_ranges(self->fd, dst_id, r, &num, &align));
	EXPECT_EQ(1, align);
	ASSERT_EQ(0, ioas_copy(self->fd, dst_id, self->ioas_id, src + 100, 64,
			       &dst_iova, MAP_RW));
}

TEST_F(pinning, close_releases_pins)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    self->base));
	EXPECT_EQ(PINNED_KB(1024), proc_status_kb("VmPin"));
	ASSERT_EQ(0, close(self->fd));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	self->fd = open("/dev/iommu", O_RDWR);
}

static int set_memlock_limit(unsigned long bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	if (drop_cap(CAP_IPC_LOCK))
		return -1;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/*
 * Map @pages pages of @buf at @iova, inside the mock aperture, into
 * @ioas_id of @fd and, when the IOAS has no page table, attach a mock
 * domain, where the pinning happens then; the domain stays if it was
 * attached.
 */
static int map_and_pin(int fd, __u32 ioas_id, bool has_domain, void *buf,
		       unsigned long pages, __u64 iova)
{
	int err;

	if (ioas_map_fixed(fd, ioas_id, buf, pages * PAGE_SIZE, iova))
		return -1;
	if (has_domain || !mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return 0;
	err = errno;
	ioas_unmap(fd, ioas_id, iova, pages * PAGE_SIZE, NULL);
	errno = err;
	return -1;
}

/* Beyond RLIMIT_MEMLOCK, charged to the user (the default mode). */
TEST_F(pinning, rlimit_user)
{
	__u64 iova = self->base;

	ASSERT_EQ(0, set_memlock_limit(64 * PAGE_SIZE));
	EXPECT_ERRNO(ENOMEM, map_and_pin(self->fd, self->ioas_id,
					 variant->domains, self->buf, 128,
					 iova));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	ASSERT_EQ(0, map_and_pin(self->fd, self->ioas_id, variant->domains,
				 self->buf, 32, iova));
	/* A copy charges nothing more; a second map does. */
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, self->ioas_id, iova,
			       32 * PAGE_SIZE, &iova, MAP_RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
			      32 * PAGE_SIZE, &iova, MAP_RW));
	EXPECT_EQ(self->vmpin + 256, proc_status_kb("VmPin"));
	EXPECT_ERRNO(ENOMEM, ioas_map(self->fd, self->ioas_id, self->buf,
				      PAGE_SIZE, &iova, MAP_RW));
	EXPECT_EQ(self->vmpin + 256, proc_status_kb("VmPin"));
}

/*
 * CAP_IPC_LOCK lifts the limit, in both modes, and what it lets pin is
 * not charged against the limit at all (as on mainline): without the
 * capability later, the whole limit is still there.
 */
TEST_F(pinning, rlimit_cap_ipc_lock)
{
	struct rlimit rl = { .rlim_cur = 64 * PAGE_SIZE,
			     .rlim_max = 64 * PAGE_SIZE };
	__u64 more = self->base + 128 * PAGE_SIZE;
	long vmlck = proc_status_kb("VmLck");
	__u64 val = 1;
	__u32 ioas_id;
	int fd;

	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, map_and_pin(self->fd, self->ioas_id, variant->domains,
				 self->buf, 128, self->base));

	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
			    0, &val));
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, map_and_pin(fd, ioas_id, false, self->buf, 128,
				 self->base));
	EXPECT_EQ(vmlck, proc_status_kb("VmLck"));

	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	/* Per user: 32 pages fit the limit of 64, 64 more do not. */
	ASSERT_EQ(0, map_and_pin(self->fd, self->ioas_id, true, self->buf,
				 32, more));
	EXPECT_ERRNO(ENOMEM, map_and_pin(self->fd, self->ioas_id, true,
					 self->buf, 64,
					 more + 64 * PAGE_SIZE));
	/* Per process: the same, seen in VmLck. */
	ASSERT_EQ(0, map_and_pin(fd, ioas_id, true, self->buf, 32, more));
	EXPECT_EQ(vmlck + 128, proc_status_kb("VmLck"));
	EXPECT_ERRNO(ENOMEM, map_and_pin(fd, ioas_id, true, self->buf, 64,
					 more + 64 * PAGE_SIZE));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(vmlck, proc_status_kb("VmLck"));
}

/* The same, charged to the process: mm->locked_vm, seen as VmLck. */
TEST_F(pinning, rlimit_mm)
{
	long vmlck = proc_status_kb("VmLck");
	__u64 val = 1;
	__u32 ioas_id;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
			    0, &val));
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, set_memlock_limit(64 * PAGE_SIZE));
	EXPECT_ERRNO(ENOMEM, map_and_pin(fd, ioas_id, false, self->buf, 128,
					 self->base));
	EXPECT_EQ(vmlck, proc_status_kb("VmLck"));
	ASSERT_EQ(0, map_and_pin(fd, ioas_id, false, self->buf, 32,
				 self->base));
	EXPECT_EQ(vmlck + 128, proc_status_kb("VmLck"));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(vmlck, proc_status_kb("VmLck"));
}

/*
 * Run mock_domain() on @ioas_id of @fd in a child process, which is not
 * the one that mapped the memory; returns 0, the child's errno, or -1.
 */
static int mock_domain_in_child(int fd, __u32 ioas_id)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return errno;
	if (!pid)
		_exit(mock_domain(fd, ioas_id, NULL, NULL, NULL) ? errno : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A page table attached by another process than the one that mapped the
 * memory pins it from the mapper's mm, charged to the mapper.
 * Regression: GUP refused a long-term pin of another mm (a WARN, and
 * EINVAL).
 */
TEST_F(pinning, attach_from_another_process)
{
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    self->base));
	ASSERT_EQ(0, mock_domain_in_child(self->fd, self->ioas_id));
	EXPECT_EQ(self->vmpin + 1024, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, MB, 1));
}

/*
 * Pinning later, in another process, still honours the RLIMIT_MEMLOCK of
 * the process that mapped the memory.  Regression: the limit and
 * CAP_IPC_LOCK of whoever attached the page table were checked.
 */
TEST_F(pinning, the_limit_is_the_mappers)
{
	int pipefd[2], status;
	pid_t pid;

	if (variant->domains)
		return;	/* the map itself is refused: pinning.rlimit_user */
	ASSERT_EQ(0, pipe(pipefd));
	/* A child keeping CAP_IPC_LOCK, waiting for the parent's map */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;

		if (read(pipefd[0], &c, 1) != 1)
			_exit(255);
		_exit(mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL) ?
		      errno : 0);
	}
	ASSERT_EQ(0, set_memlock_limit(64 * PAGE_SIZE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    128 * PAGE_SIZE, self->base));
	ASSERT_EQ(1, write(pipefd[1], "", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(ENOMEM, WEXITSTATUS(status));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 128 * PAGE_SIZE, 0));
}

/*
 * A mapping larger than the memory behind it fails cleanly where it is
 * pinned (EFAULT at the first page not there), with nothing left pinned.
 */
TEST_F(pinning, more_than_the_memory)
{
	__u64 length = 1UL << 30;
	int rc, err;
	void *mem;

	/* A MiB of memory, then nothing that can be pinned. */
	mem = mmap(NULL, length, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, mprotect(mem, MB, PROT_READ | PROT_WRITE));
	memset(mem, 1, MB);

	rc = ioas_map_fixed(self->fd, self->ioas_id, mem, length, self->base);
	err = errno;
	if (variant->domains) {
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(EFAULT, err);
	} else {
		/* Nothing is pinned until a page table needs it. */
		ASSERT_EQ(0, rc);
		EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
		EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id,
						 NULL, NULL, NULL));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, self->base,
					length, NULL));
	}
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, mem, MB, 0));
	munmap(mem, length);
}

/*
 * After fork(), the parent's writes to memory it mapped must still reach
 * the pinned pages the IOMMU translates to: the hazard is a COW break that
 * moves the parent off the pinned page, after which the device and the
 * process see different memory.  The domain's translation still matches
 * the parent's pages, and an access reads the parent's new data, while the
 * child's writes stay in the child.
 */
TEST_F(mock, fork_keeps_the_parent_on_pinned_pages)
{
	__u64 iova = MOCK_APERTURE_START;
	unsigned char *p = self->buf;
	unsigned char tmp[64];
	int status, access;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < 16 * PAGE_SIZE; i++)
		p[i] = i * 3;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PAGE_SIZE, iova));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &access));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		memset(p, 0xc3, 16 * PAGE_SIZE);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/* The parent writes after the fork: every page, its own pattern. */
	for (i = 0; i < 16 * PAGE_SIZE; i++)
		p[i] = i * 5 + 1;
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova, self->buf,
			       16 * PAGE_SIZE));
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, access_rw(self->fd, access,
				       iova + i * PAGE_SIZE + 100, tmp,
				       sizeof(tmp), 0));
		EXPECT_EQ(0, memcmp(tmp, p + i * PAGE_SIZE + 100,
				    sizeof(tmp)));
	}
	ASSERT_EQ(0, check_refs(self->fd, self->buf, 16 * PAGE_SIZE, 1));
	close(access);
}

TEST_F(mock, ids_and_ranges)
{
	struct iommu_iova_range r[2];
	__u64 alignment;
	__u32 num = 2;

	EXPECT_NE(0, self->stdev_id);
	EXPECT_NE(0, self->hwpt_id);
	EXPECT_NE(0, self->idev_id);
	EXPECT_NE(self->stdev_id, self->hwpt_id);
	EXPECT_NE(self->idev_id, self->hwpt_id);

	/* The domain's aperture and page size now shape the IOAS. */
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num,
				 &alignment));
	ASSERT_EQ(1, num);
	EXPECT_EQ(MOCK_APERTURE_START, r[0].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, r[0].last);
	EXPECT_EQ(MOCK_PAGE_SIZE, alignment);

	/* Detaching (destroying the mock device) widens it again. */
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev_id));
	num = 2;
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num,
				 &alignment));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(1, alignment);
}

TEST_F(mock, map_unmap)
{
	__u64 iova = 0, unmapped;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	EXPECT_LE(MOCK_APERTURE_START, iova);
	EXPECT_GE(MOCK_APERTURE_LAST, iova + MB - 1);
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova, self->buf, MB));
	/* Pinned once, whatever the domains. */
	EXPECT_EQ(self->vmpin + MB / 1024, proc_status_kb("VmPin"));

	/* A mock page is half a CPU page: half-page alignment works. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + MOCK_PAGE_SIZE, MOCK_PAGE_SIZE,
				    MOCK_APERTURE_START + 64 * MB +
					    MOCK_PAGE_SIZE));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id,
			       MOCK_APERTURE_START + 64 * MB + MOCK_PAGE_SIZE,
			       self->buf + MOCK_PAGE_SIZE, MOCK_PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 1024,
					    MOCK_APERTURE_START + 2 * MB));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 1024, MOCK_PAGE_SIZE,
					    MOCK_APERTURE_START + 2 * MB));
	/* Outside the aperture is reserved. */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PAGE_SIZE,
					    MOCK_APERTURE_START -
					    PAGE_SIZE));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, MB,
				&unmapped));
	EXPECT_EQ(MB, unmapped);
	EXPECT_ERRNO(EINVAL, check_map(self->fd, self->hwpt_id, iova,
				       self->buf, MOCK_PAGE_SIZE));
}

/* Mappings made before the attach are mapped into the new domain. */
TEST_F(mock, attach_maps_existing)
{
	__u32 ioas_id, hwpt_id, stdev_id, second;
	__u64 iova = MOCK_APERTURE_START + 4 * MB, val = 0;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->buf, MB, iova));
	ASSERT_EQ(0, mock_domain(self->fd, ioas_id, &stdev_id, &hwpt_id,
				 NULL));
	ASSERT_EQ(0, check_map(self->fd, hwpt_id, iova, self->buf, MB));
	/*
	 * Large pages cannot be turned off while a domain maps something;
	 * turned on they can be, and off again once nothing is mapped.
	 */
	EXPECT_ERRNO(EINVAL, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, ioas_id, &val));
	val = 1;
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, &val));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas_id, iova, MB, NULL));
	val = 0;
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, &val));
	val = 1;
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, &val));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->buf, MB, iova));

	/* The same IOAS again: the kernel's page table is shared. */
	ASSERT_EQ(0, mock_domain(self->fd, ioas_id, NULL, &second, NULL));
	EXPECT_EQ(hwpt_id, second);
	ASSERT_EQ(0, obj_destroy(self->fd, stdev_id));
	EXPECT_EQ(0, check_map(self->fd, second, iova, self->buf, MB));
}

/* Page by page, with large pages off: the same translations. */
TEST_F(mock, huge_pages_off)
{
	__u64 iova = MOCK_APERTURE_START, val = 0;
	__u32 ioas_id, hwpt_id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, &val));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->buf, MB, iova));
	ASSERT_EQ(0, mock_domain(self->fd, ioas_id, NULL, &hwpt_id, NULL));
	ASSERT_EQ(0, check_map(self->fd, hwpt_id, iova, self->buf, MB));
	/* Off again, with a domain and a mapping: nothing to refuse */
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, &val));
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, ioas_id, &val));
	EXPECT_EQ(0, val);
}

/*
 * IOMMU_OPTION_HUGE_PAGES decides the IOMMU page size: memory of huge
 * pages is mapped with the domain's large pages while the option is on
 * (the default), and page by page, with the same translations, once it is
 * off; before the attach and after it alike.  A domain with only small
 * pages on the same IOAS gets small pages.
 */
TEST_F(mock, iommu_page_size)
{
	__u64 iova = MOCK_APERTURE_START + 2 * MB, val;
	__u32 ioas_id, hwpt_id, stdev_id;
	void *thp;
	int on;

	if (!have_check_pte(self->fd))
		SKIP(return, "no IOMMU_TEST_OP_MD_CHECK_PTE (a series extension)");
	thp = alloc_buffer_thp(4 * MB);
	ASSERT_NE(NULL, thp) TH_LOG("no transparent huge pages");
	for (on = 1; on >= 0; on--) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
		val = on;
		ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, ioas_id, &val));
		/* 2 MiB before the attach, 2 MiB after it */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, thp, 2 * MB,
					    iova));
		ASSERT_EQ(0, mock_domain_flags(self->fd, ioas_id,
					       MOCK_FLAGS_DEVICE_HUGE_IOVA,
					       &stdev_id, &hwpt_id));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, thp + 2 * MB,
					    2 * MB, iova + 2 * MB));
		ASSERT_EQ(0, check_map(self->fd, hwpt_id, iova, thp, 4 * MB));
		EXPECT_EQ(0, check_pte(self->fd, hwpt_id, iova, 4 * MB,
				       on ? MOCK_HUGE_PAGE_SIZE :
					    MOCK_PAGE_SIZE, MAP_RW));
		/* The plain mock domain on the same IOAS: small pages only */
		ASSERT_EQ(0, mock_domain(self->fd, ioas_id, NULL, &hwpt_id,
					 NULL));
		EXPECT_EQ(0, check_pte(self->fd, hwpt_id, iova, 4 * MB,
				       MOCK_PAGE_SIZE, MAP_RW));
		EXPECT_ERRNO(EINVAL, check_pte(self->fd, hwpt_id, iova, 4 * MB,
					       MOCK_HUGE_PAGE_SIZE, MAP_RW));
		ASSERT_EQ(0, obj_destroy(self->fd, stdev_id));
		ASSERT_EQ(0, ioas_unmap(self->fd, ioas_id, 0, UINT64_MAX,
					NULL));
	}
	EXPECT_EQ(0, check_unpinned(thp, 4 * MB));
	munmap(thp, 4 * MB);
}

/*
 * The permissions of IOAS_MAP reach the IOMMU: read-only and write-only
 * mappings (write-only is what a device that only writes, as a NIC's
 * receive ring, asks for), checked page by page; and the check is strict.
 */
TEST_F(mock, map_permissions)
{
	static const __u32 perms[] = {
		IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE, MAP_RW,
	};
	static const __u32 wrong[] = {
		IOMMU_IOAS_MAP_WRITEABLE, IOMMU_IOAS_MAP_READABLE,
		IOMMU_IOAS_MAP_READABLE,
	};
	__u64 iova = MOCK_APERTURE_START;
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_PTE,
		.id = self->hwpt_id,
	};
	unsigned int i;

	if (!have_check_pte(self->fd))
		SKIP(return, "no IOMMU_TEST_OP_MD_CHECK_PTE (a series extension)");
	for (i = 0; i != ARRAY_SIZE(perms); i++) {
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB,
				      &iova,
				      perms[i] | IOMMU_IOAS_MAP_FIXED_IOVA));
		ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova,
				       self->buf, MB));
		EXPECT_EQ(0, check_pte(self->fd, self->hwpt_id, iova, MB,
				       MOCK_PAGE_SIZE, perms[i]));
		EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id, iova,
					       MB, MOCK_PAGE_SIZE, wrong[i]));
		EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id, iova,
					       MB, MOCK_PAGE_SIZE, 0));
		/* One page past the mapping is not mapped at all */
		EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id, iova,
					       MB + MOCK_PAGE_SIZE,
					       MOCK_PAGE_SIZE, perms[i]));
		iova += MB;
	}

	/* The check's own bad input */
	EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id,
				       MOCK_APERTURE_START, 0, MOCK_PAGE_SIZE,
				       IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id,
				       MOCK_APERTURE_START + 1, MB,
				       MOCK_PAGE_SIZE, IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERRNO(EINVAL, check_pte(self->fd, self->hwpt_id,
				       MOCK_APERTURE_START, MB, PAGE_SIZE * 2,
				       IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERRNO(EOVERFLOW, check_pte(self->fd, self->hwpt_id,
					  -(__u64)MB, 2 * MB, MOCK_PAGE_SIZE,
					  IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERRNO(EOPNOTSUPP, check_pte(self->fd, self->hwpt_id,
					   MOCK_APERTURE_START, MB,
					   MOCK_PAGE_SIZE,
					   IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_ERRNO(ENOENT, check_pte(self->fd, self->ioas_id,
				       MOCK_APERTURE_START, MB, MOCK_PAGE_SIZE,
				       IOMMU_IOAS_MAP_READABLE));
	cmd.check_pte.iova = MOCK_APERTURE_START;
	cmd.check_pte.length = MB;
	cmd.check_pte.page_size = MOCK_PAGE_SIZE;
	cmd.check_pte.perm = IOMMU_IOAS_MAP_READABLE;
	cmd.check_pte.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
}

/* An attach that the IOAS cannot take fails and changes nothing. */
TEST_F(mock, attach_refused)
{
	struct iommu_iova_range r[2];
	__u32 ioas_id, num = 2;
	__u64 alignment;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	/* A mapping outside the aperture */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->buf, PAGE_SIZE,
				    PAGE_SIZE));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas_id, NULL, NULL,
					     NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas_id, PAGE_SIZE, PAGE_SIZE,
				NULL));
	/* A mapping smaller than the domain's page */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->buf, 1024,
				    MOCK_APERTURE_START));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas_id, NULL, NULL,
					     NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas_id, 0, UINT64_MAX, NULL));
	/* A promised range outside the aperture */
	r[0].start = 0;
	r[0].last = MOCK_APERTURE_START;
	ASSERT_EQ(0, allow_iovas(self->fd, ioas_id, r, 1));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas_id, NULL, NULL,
					     NULL));

	ASSERT_EQ(0, iova_ranges(self->fd, ioas_id, r, &num, &alignment));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(1, alignment);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

TEST_F(mock, destroy_order)
{
	__u64 iova = 0;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	/* Everything in use refuses to go. */
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->idev_id));
	/* An ID of the wrong type is no mock page table. */
	EXPECT_ERRNO(ENOENT, check_map(self->fd, self->ioas_id, iova,
				       self->buf, MB));

	/* The device goes, then its page table with it, then the IOAS. */
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev_id));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, self->idev_id));
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * IOMMU_HWPT_ALLOC: a page table of the user's, mirroring its IOAS before
 * and after it is made, sharing the IOAS's pins; devices attach to it by
 * its ID; it outlives its devices and keeps its IOAS until destroyed.
 */
TEST_F(mock, hwpt_alloc)
{
	__u64 iova = MOCK_APERTURE_START, iova2 = MOCK_APERTURE_START + 4 * MB;
	__u32 hwpt_id, pt_id, stdev2, hwpt2;
	long vmpin;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    MB / 2, iova));
	vmpin = proc_status_kb("VmPin");
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				&hwpt_id));
	EXPECT_NE(self->hwpt_id, hwpt_id);
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, iova, self->buf, MB / 2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + MB / 2, MB / 2, iova2));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, iova2, self->buf + MB / 2,
			       MB / 2));
	/* Both page tables share the pins. */
	EXPECT_EQ(vmpin + MB / 2 / 1024, proc_status_kb("VmPin"));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, MB, 1));

	/* The device moves to it; the kernel's page table goes. */
	pt_id = hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	/* Another device attaches to it by its ID. */
	ASSERT_EQ(0, mock_domain(self->fd, hwpt_id, &stdev2, &hwpt2, NULL));
	EXPECT_EQ(hwpt_id, hwpt2);

	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, hwpt_id));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->ioas_id));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev2));
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev_id));
	/* Without devices it stays, mapping, until it is destroyed. */
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, iova, self->buf, MB / 2));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->ioas_id));
	ASSERT_EQ(0, obj_destroy(self->fd, hwpt_id));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));
}

/* Whether the mock driver makes nesting parents (mainline's does). */
static bool nesting_supported(int fd, __u32 idev_id, __u32 ioas_id)
{
	__u32 hwpt_id;

	if (hwpt_alloc_full(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev_id,
			    ioas_id, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id))
		return false;
	obj_destroy(fd, hwpt_id);
	return true;
}

/*
 * The data length, not the pointer, says whether there is data: with no
 * data type, a pointer with a length of 0 is not looked at, and a length
 * is refused.
 */
TEST_F(mock, hwpt_alloc_data_length_decides)
{
	__u32 data = 0, hwpt_id;

	ASSERT_EQ(0, hwpt_alloc_full(self->fd, 0, self->idev_id,
				     self->ioas_id, IOMMU_HWPT_DATA_NONE,
				     &data, 0, &hwpt_id));
	ASSERT_EQ(0, obj_destroy(self->fd, hwpt_id));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_full(self->fd, 0, self->idev_id,
					     self->ioas_id,
					     IOMMU_HWPT_DATA_NONE, &data,
					     sizeof(data), &hwpt_id));
}

/*
 * IOMMU_HWPT_ALLOC refused: each call fails with its errno and leaves no
 * object behind (the next object takes the ID a probe object had).
 */
TEST_F(mock, hwpt_alloc_bad_input)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
		.pt_id = self->ioas_id,
	};
	__u32 probe, id, hwpt_id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &probe));
	ASSERT_EQ(0, obj_destroy(self->fd, probe));

	/* Unknown flags, reserved fields */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_full(self->fd, 1 << 3,
						 self->idev_id, self->ioas_id,
						 IOMMU_HWPT_DATA_NONE, NULL,
						 0, &hwpt_id));
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.__reserved = 0;
	/* IDs naming nothing, or the wrong kind of object */
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, self->ioas_id,
					self->ioas_id, &hwpt_id));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, probe + 100, self->ioas_id,
					&hwpt_id));
	/* As mainline: a page table's ID naming nothing is EINVAL. */
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, self->idev_id, probe + 100,
					&hwpt_id));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, self->idev_id,
					self->idev_id, &hwpt_id));
	/*
	 * A page table as the parent: a nested one needs the driver's data,
	 * and a driver that nests (EOPNOTSUPP) and a parent made as a
	 * nesting parent (EINVAL), which the parent here is not.
	 */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, self->idev_id,
					    self->hwpt_id, &hwpt_id));
	EXPECT_ERRNO(nesting_supported(self->fd, self->idev_id,
				       self->ioas_id) ? EINVAL : EOPNOTSUPP,
		     hwpt_alloc_full(self->fd, 0, self->idev_id, self->hwpt_id,
				     IOMMU_HWPT_DATA_SELFTEST, &data,
				     sizeof(data), &hwpt_id));
	/* A data type without data: its length decides */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_full(self->fd, 0, self->idev_id,
					     self->ioas_id,
					     IOMMU_HWPT_DATA_SELFTEST, NULL, 0,
					     &hwpt_id));
	EXPECT_ERRNO(EINVAL, hwpt_alloc_full(self->fd, 0, self->idev_id,
					     self->ioas_id,
					     IOMMU_HWPT_DATA_SELFTEST, &data, 0,
					     &hwpt_id));
	/* Driver data for a page table of an IOAS, which takes none */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc_full(self->fd, 0, self->idev_id,
						 self->ioas_id,
						 IOMMU_HWPT_DATA_SELFTEST,
						 &data, sizeof(data),
						 &hwpt_id));

	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_EQ(probe, id);
	ASSERT_EQ(0, obj_destroy(self->fd, id));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * What this series does not offer: nesting parents and fault queues are
 * refused with EOPNOTSUPP.  Mainline's mock driver offers them: there the
 * test skips.
 */
TEST_F(mock, hwpt_alloc_unsupported_flags)
{
	__u32 hwpt_id, probe, id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &probe));
	ASSERT_EQ(0, obj_destroy(self->fd, probe));
	if (!hwpt_alloc_full(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
			     self->idev_id, self->ioas_id,
			     IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id)) {
		ASSERT_EQ(0, obj_destroy(self->fd, hwpt_id));
		SKIP(return, "nesting parents are supported (mainline)");
	}
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_full(self->fd, IOMMU_HWPT_FAULT_ID_VALID,
				     self->idev_id, self->ioas_id,
				     IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt_id));
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_EQ(probe, id);
}

/*
 * IOMMU_GET_HW_INFO of a mock device: the report iommufd_test.h defines,
 * copied up to the buffer's length, the rest of a longer buffer zeroed,
 * and the whole report's length returned.
 */
TEST_F(mock, get_hw_info)
{
	const size_t full = sizeof(struct iommu_test_hw_info);
	struct iommu_test_hw_info *info;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
	};
	__u32 len, type, stdev, idev;
	unsigned char buf[64];
	size_t i;
	__u64 caps;

	/* Exactly the report */
	memset(buf, 0xaa, sizeof(buf));
	len = full;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, buf, &len, &type,
				 &caps));
	EXPECT_EQ(full, len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	info = (struct iommu_test_hw_info *)buf;
	EXPECT_EQ(0, info->flags);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info->test_reg);
	EXPECT_EQ(0xaa, buf[full]);

	/* A longer buffer: the rest is zeroed. */
	memset(buf, 0xaa, sizeof(buf));
	len = sizeof(buf) - 8;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, buf, &len, NULL,
				 NULL));
	EXPECT_EQ(full, len);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info->test_reg);
	for (i = full; i < sizeof(buf) - 8; i++)
		ASSERT_EQ(0, buf[i]) TH_LOG("byte %zu", i);
	EXPECT_EQ(0xaa, buf[sizeof(buf) - 8]);

	/* A shorter one: the start of the report, and its whole length */
	memset(buf, 0xaa, sizeof(buf));
	len = 4;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, buf, &len, NULL,
				 NULL));
	EXPECT_EQ(full, len);
	EXPECT_EQ(0, info->flags);
	EXPECT_EQ(0xaa, buf[4]);
	/* None: only the length */
	len = 0;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, NULL, &len, &type,
				 NULL));
	EXPECT_EQ(full, len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);

	/* A device that cannot track dirty pages says so. */
	ASSERT_EQ(0, mock_domain_flags_idev(self->fd, self->ioas_id,
					    MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev,
					    NULL, &idev));
	len = 0;
	ASSERT_EQ(0, get_hw_info(self->fd, idev, NULL, &len, NULL, &caps));
	EXPECT_EQ(0, caps & IOMMU_HW_CAP_DIRTY_TRACKING);
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));

	/* Refused */
	cmd.data_len = full;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.data_uptr = (uintptr_t)buf;
	cmd.flags = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 0;
	cmd.__reserved[2] = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.__reserved[2] = 0;
	cmd.dev_id = self->ioas_id;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.dev_id = idev;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));

	/* The first version of the structure has no out_capabilities. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.size = offsetof(struct iommu_hw_info, out_capabilities);
	cmd.dev_id = self->idev_id;
	cmd.out_capabilities = 0x5a5a;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
	EXPECT_EQ(full, cmd.data_len);
	EXPECT_EQ(0x5a5a, cmd.out_capabilities);
}

/*
 * Two domains on one IOAS, the second one for a MOCK_FLAGS_DEVICE_HUGE_IOVA
 * device: map, copy and unmap keep both in step, and each page is pinned
 * once.
 */
TEST_F(mock, two_domains)
{
	__u64 iova = MOCK_APERTURE_START + 2 * MB, copied = MOCK_APERTURE_START,
	      unmapped;
	__u32 huge_stdev, huge_hwpt, own_hwpt, ioas2;
	void *buf2 = alloc_buffer(4 * MB, 2 * MB);

	ASSERT_NE(NULL, buf2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, mock_domain_own(self->fd, self->ioas_id,
				     MOCK_FLAGS_DEVICE_HUGE_IOVA, &huge_stdev,
				     &huge_hwpt, &own_hwpt));
	EXPECT_NE(self->hwpt_id, huge_hwpt);
	/* The existing mapping went into the new domain. */
	ASSERT_EQ(0, check_map(self->fd, huge_hwpt, iova, self->buf, MB));

	/* 4 MiB, 2 MiB aligned (mock.iommu_page_size checks page sizes) */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, 4 * MB,
				    MOCK_APERTURE_START + 16 * MB));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id,
			       MOCK_APERTURE_START + 16 * MB, buf2, 4 * MB));
	ASSERT_EQ(0, check_map(self->fd, huge_hwpt,
			       MOCK_APERTURE_START + 16 * MB, buf2, 4 * MB));
	EXPECT_EQ(self->vmpin + 5 * MB / 1024, proc_status_kb("VmPin"));

	/* A copy in from another IOAS reaches both, pinning nothing more. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, MB, iova));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, ioas2, iova, MB,
			       &copied, MAP_FIXED_RW));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, copied, self->buf,
			       MB));
	ASSERT_EQ(0, check_map(self->fd, huge_hwpt, copied, self->buf, MB));
	/* The second IOAS's own mapping pinned its megabyte, the copy none. */
	EXPECT_EQ(self->vmpin + 6 * MB / 1024, proc_status_kb("VmPin"));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(6 * MB, unmapped);
	EXPECT_ERRNO(EINVAL, check_map(self->fd, self->hwpt_id, iova,
				       self->buf, MOCK_PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, check_map(self->fd, huge_hwpt,
				       MOCK_APERTURE_START + 16 * MB, buf2,
				       MOCK_PAGE_SIZE));
	ASSERT_EQ(0, obj_destroy(self->fd, ioas2));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	munmap(buf2, 4 * MB);

	ASSERT_EQ(0, mock_domain_own_destroy(self->fd, huge_stdev, own_hwpt));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, huge_hwpt));
	/* Unknown device flags */
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, self->ioas_id, 1 << 2,
					       NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, self->ioas_id,
					       1U << 31, NULL, NULL));
}

/*
 * This series' mock puts MOCK_FLAGS_DEVICE_HUGE_IOVA devices behind a mock
 * IOMMU of their own, whose domains plain devices cannot use: two kinds of
 * automatic domain on one IOAS, each shared by the devices of its kind and
 * gone with the last of them.  An extension: on mainline both kinds share
 * the plain domain, and the test skips.
 */
TEST_F(mock, kinds_of_domain)
{
	__u32 huge_stdev, huge_stdev2, huge_hwpt, other;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    MOCK_APERTURE_START));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA,
				       &huge_stdev, &huge_hwpt));
	if (huge_hwpt == self->hwpt_id)
		SKIP(return, "one mock IOMMU for every device (mainline)");
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA,
				       &huge_stdev2, &other));
	EXPECT_EQ(huge_hwpt, other);
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY, NULL,
				       &other));
	EXPECT_EQ(self->hwpt_id, other);

	/* A plain device cannot move onto the huge domain; nothing moves. */
	other = huge_hwpt;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, self->stdev_id,
						 &other));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, MOCK_APERTURE_START,
			       self->buf, MB));

	/* Destroying the huge devices takes their domain with them. */
	ASSERT_EQ(0, obj_destroy(self->fd, huge_stdev));
	ASSERT_EQ(0, check_map(self->fd, huge_hwpt, MOCK_APERTURE_START,
			       self->buf, MB));
	ASSERT_EQ(0, obj_destroy(self->fd, huge_stdev2));
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, huge_hwpt));
}

/*
 * A device whose IOMMU cannot enforce cache coherency never shares a
 * domain with one that can, whichever attaches first.
 */
TEST_F(mock, noncoherent_separate_domain)
{
	__u32 nc_hwpt, ioas2, nc2_hwpt, c2_hwpt, other;
	__u64 iova = MOCK_APERTURE_START;

	if (access(MOCK_NONCOHERENT, W_OK))
		SKIP(return, "no %s (debugfs not mounted?)", MOCK_NONCOHERENT);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));

	/* The coherent device's domain enforces: the other gets its own. */
	ASSERT_EQ(0, set_mock_noncoherent(true));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, &nc_hwpt,
				 NULL));
	EXPECT_NE(self->hwpt_id, nc_hwpt);
	ASSERT_EQ(0, check_map(self->fd, nc_hwpt, iova, self->buf, MB));
	/* Nor can it attach to it by the page table's ID. */
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, self->hwpt_id, NULL, NULL,
					 NULL));

	/* The other order: the domain cannot be made to enforce any more. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &nc2_hwpt, NULL));
	ASSERT_EQ(0, set_mock_noncoherent(false));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &c2_hwpt, NULL));
	EXPECT_NE(nc2_hwpt, c2_hwpt);
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, nc2_hwpt, NULL, NULL,
					 NULL));
	/* Devices of one kind still share. */
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &other, NULL));
	EXPECT_EQ(c2_hwpt, other);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, MB, iova));
	ASSERT_EQ(0, check_map(self->fd, nc2_hwpt, iova, self->buf, MB));
	ASSERT_EQ(0, check_map(self->fd, c2_hwpt, iova, self->buf, MB));
	/* Two mappings of one buffer in two IOASes: two pins per page. */
	EXPECT_EQ(self->vmpin + 2 * MB / 1024, proc_status_kb("VmPin"));
}

/*
 * A driver that sets a domain up only at its first attach, as several of
 * this kernel do: an attach to an IOAS with mappings attaches the device
 * first and fills the domain after.  A replace must fill a new domain
 * before the group moves to it, which such a domain refuses: nothing
 * moves then.
 */
TEST_F(mock, late_domain_setup)
{
	__u64 iova = MOCK_APERTURE_START, outside = MOCK_APERTURE_LAST + 1ULL;
	__u32 ioas2, ioas3, stdev, hwpt, pt_id, num = 2;
	__u64 alignment, unmapped;
	struct iommu_iova_range r[2];

	if (access(MOCK_LATE_SETUP, W_OK))
		SKIP(return, "no %s (debugfs not mounted?)", MOCK_LATE_SETUP);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, MB, iova));
	ASSERT_EQ(0, set_mock_knob(MOCK_LATE_SETUP, true));

	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev, &hwpt, NULL));
	ASSERT_EQ(0, check_map(self->fd, hwpt, iova, self->buf, MB));
	/* The aperture, known since the attach, shapes the IOAS. */
	ASSERT_EQ(0, iova_ranges(self->fd, ioas2, r, &num, &alignment));
	ASSERT_EQ(1, num);
	EXPECT_EQ(MOCK_APERTURE_START, r[0].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, r[0].last);
	/* Later maps reach the domain as well. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf + MB / 2,
				    MB / 2, iova + MB));
	ASSERT_EQ(0, check_map(self->fd, hwpt, iova + MB, self->buf + MB / 2,
			       MB / 2));

	/*
	 * A mapping outside the aperture: the fill fails after the attach,
	 * which is undone; the IOAS keeps its mapping and nothing holds it.
	 */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas3, self->buf, MB, outside));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas3, NULL, NULL,
					     NULL));
	num = 2;
	ASSERT_EQ(0, iova_ranges(self->fd, ioas3, r, &num, &alignment));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);

	/* A replace to a new domain of that kind fails, and moves nothing. */
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas3, outside, MB, &unmapped));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas3, self->buf, MB, iova));
	pt_id = ioas3;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, stdev, &pt_id));
	EXPECT_EQ(ioas3, pt_id);
	ASSERT_EQ(0, check_map(self->fd, hwpt, iova, self->buf, MB));
	pt_id = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt_id));
	EXPECT_EQ(hwpt, pt_id);
	/* To a domain set up already, it moves. */
	ASSERT_EQ(0, set_mock_knob(MOCK_LATE_SETUP, false));
	pt_id = ioas3;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt_id));
	EXPECT_NE(hwpt, pt_id);
	ASSERT_EQ(0, check_map(self->fd, pt_id, iova, self->buf, MB));

	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	EXPECT_EQ(0, obj_destroy(self->fd, ioas3));
	EXPECT_EQ(0, obj_destroy(self->fd, ioas2));
}

/* A device moves between IOASes with no detach between. */
TEST_F(mock, replace)
{
	__u64 iova = MOCK_APERTURE_START, iova2 = MOCK_APERTURE_START + 8 * MB;
	__u32 ioas2, pt_id, hwpt2;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf + MB / 2,
				    MB / 2, iova2));

	/* To the same IOAS: nothing changes. */
	pt_id = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(self->hwpt_id, pt_id);

	pt_id = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	hwpt2 = pt_id;
	EXPECT_NE(self->hwpt_id, hwpt2);
	ASSERT_EQ(0, check_map(self->fd, hwpt2, iova2, self->buf + MB / 2,
			       MB / 2));
	/* The page table the kernel made for the old IOAS went with it. */
	EXPECT_ERRNO(ENOENT, obj_destroy(self->fd, self->hwpt_id));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, ioas2));
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));

	/* Refused moves leave the device where it was. */
	pt_id = ioas2 + 100;
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, self->stdev_id,
						 &pt_id));
	ASSERT_EQ(0, ioas_alloc(self->fd, &pt_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, pt_id, self->buf, PAGE_SIZE,
				    PAGE_SIZE));
	EXPECT_ERRNO(EADDRINUSE, mock_domain_replace(self->fd, self->stdev_id,
						     &pt_id));
	pt_id = self->idev_id;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, self->stdev_id,
						 &pt_id));
	ASSERT_EQ(0, check_map(self->fd, hwpt2, iova2, self->buf + MB / 2,
			       MB / 2));
	pt_id = ioas2;
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, self->idev_id,
						 &pt_id));
}

/*
 * One pin per page, however many mappings, copies, page tables and
 * accesses use it; none once the last mapping goes.
 */
TEST_F(mock, one_pin_per_page)
{
	__u64 iova = MOCK_APERTURE_START, dst;
	int access_fd;
	__u32 ioas2;

	ASSERT_EQ(0, check_refs(self->fd, self->buf, MB, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, MB, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	/* Inside the mock aperture, so that a mock device can attach. */
	dst = MOCK_APERTURE_START + 4 * MB;
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, self->ioas_id, iova, MB, &dst,
			       MAP_FIXED_RW));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL, NULL));
	ASSERT_EQ(0, create_access(self->fd, ioas2, &access_fd));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, dst, MB, self->buf, 0,
				  NULL));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, MB, 1));
	EXPECT_ERRNO(EIO, check_refs(self->fd, self->buf, MB, 2));

	/* The pin stays while a copy maps the pages. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, MB, NULL));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, MB, 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, MB, 0));
	ASSERT_EQ(0, close(access_fd));

	EXPECT_ERRNO(EINVAL, check_refs(self->fd, self->buf + 1, PAGE_SIZE,
					0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 0, 0));
}

/* Pinning in many small batches gives the same mappings and pins. */
TEST_F(mock, small_pin_batches)
{
	__u64 iova = MOCK_APERTURE_START + 3 * PAGE_SIZE;

	/* Less than 12 pages a call is refused, as on mainline. */
	EXPECT_ERRNO(EINVAL, set_pin_batch(self->fd, 0));
	EXPECT_ERRNO(EINVAL, set_pin_batch(self->fd, PIN_BATCH_MIN - 1));
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_MIN));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + PAGE_SIZE / 2, 64 * PAGE_SIZE,
				    iova + PAGE_SIZE / 2));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova + PAGE_SIZE / 2,
			       self->buf + PAGE_SIZE / 2, 64 * PAGE_SIZE));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, 65 * PAGE_SIZE, 1));
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_NONE));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				NULL));
	ASSERT_EQ(0, check_refs(self->fd, self->buf, 65 * PAGE_SIZE, 0));
}

/*
 * Unpinning memory that an access holds every other page of, when the
 * page table goes: what is not held is unpinned, what is held stays, in
 * steps of a pin batch of pages between two reschedules (not a step per
 * huge page: the pages held cost a call each), which a test kernel checks
 * with a warning.  A huge page, whose pins are counted for the whole
 * folio, then small pages, whose pins are counted one by one.
 */
TEST_F(mock, detach_unpins_around_access_pins)
{
	__u64 iova = MOCK_APERTURE_START + 2 * MB;
	size_t npages = MB / PAGE_SIZE, i;
	__u32 stdev_id = self->stdev_id;
	int access_fd, round;
	char *thp, *buf;

	thp = alloc_buffer_thp(2 * MB);
	ASSERT_NE(NULL, thp) TH_LOG("no transparent huge pages");
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_MIN));
	for (round = 0; round < 2; round++) {
		buf = round ? self->buf : thp;
		if (round)
			ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id,
						 &stdev_id, NULL, NULL));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf, MB,
					    iova));
		ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
					   &access_fd));
		for (i = 0; i < npages; i += 2)
			ASSERT_EQ(0, access_pages(self->fd, access_fd,
						  iova + i * PAGE_SIZE,
						  PAGE_SIZE,
						  buf + i * PAGE_SIZE, 0,
						  NULL));
		/* A huge page counts the pins of all its pages */
		ASSERT_EQ(0, check_refs(self->fd, buf, MB,
					round ? 1 : npages));

		ASSERT_EQ(0, obj_destroy(self->fd, stdev_id));
		EXPECT_EQ(self->vmpin + 512, proc_status_kb("VmPin"));
		if (!round)
			ASSERT_EQ(0, check_refs(self->fd, buf, MB,
						npages / 2));
		for (i = 0; round && i < npages; i++)
			ASSERT_EQ(0, check_refs(self->fd, buf + i * PAGE_SIZE,
						PAGE_SIZE, i % 2 ? 0 : 1))
				TH_LOG("page %zu", i);

		ASSERT_EQ(0, close(access_fd));
		ASSERT_EQ(0, check_refs(self->fd, buf, MB, 0));
		EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0,
					UINT64_MAX, NULL));
	}
	EXPECT_EQ(0, check_unpinned(thp, 2 * MB));
	munmap(thp, 2 * MB);
}

/*
 * Memory whose pages are not physically contiguous: 4K pages touched last
 * first come from the allocator in the opposite order, so the pinned
 * memory is many runs, and small pin batches make the runs grow batch by
 * batch.  Every page must still map, be found by an access, fill a domain
 * of another kind, be copied, and be unpinned once.
 */
TEST_F(mock, fragmented_memory)
{
	size_t npages = 64, len = npages * PAGE_SIZE, i;
	__u64 iova = MOCK_APERTURE_START, dst = MOCK_APERTURE_START + MB;
	__u32 item_id, huge_hwpt, ioas2, hwpt2;
	unsigned char *buf, *tmp;
	int access_fd;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, madvise(buf, len, MADV_NOHUGEPAGE));
	for (i = npages; i-- > 0;)
		memset(buf + i * PAGE_SIZE, i, PAGE_SIZE);

	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_MIN));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf, len, iova));
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_NONE));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova, buf, len));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 1));

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &access_fd));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, iova + 7 * PAGE_SIZE,
				  50 * PAGE_SIZE, buf + 7 * PAGE_SIZE, 0,
				  &item_id));
	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item_id));
	tmp = malloc(len);
	ASSERT_NE(NULL, tmp);
	ASSERT_EQ(0, access_rw(self->fd, access_fd, iova + 100, tmp,
			       len - 200, 0));
	EXPECT_EQ(0, memcmp(buf + 100, tmp, len - 200));
	free(tmp);

	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL,
				       &huge_hwpt));
	ASSERT_EQ(0, check_map(self->fd, huge_hwpt, iova, buf, len));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &hwpt2, NULL));
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, self->ioas_id, iova, len, &dst,
			       MAP_FIXED_RW));
	ASSERT_EQ(0, check_map(self->fd, hwpt2, dst, buf, len));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 1));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, len, NULL));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst, len, NULL));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 0));
	ASSERT_EQ(0, close(access_fd));
	ASSERT_EQ(0, munmap(buf, len));
}

/*
 * The pages of @buf that follow a physically contiguous page across a
 * section of the kernel's memory map (128 MiB on x86-64), read from
 * /proc/self/pagemap: 0 where that cannot be known.
 */
static unsigned long section_crossings(void *buf, size_t len)
{
#ifdef __x86_64__
	const uint64_t pfn_mask = (1ULL << 55) - 1, section_pages = 1 << 15;
	uint64_t *ent, prev = 0;
	size_t i, n = len / PAGE_SIZE;
	unsigned long crossings = 0;
	int fd;

	ent = calloc(n, sizeof(*ent));
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (!ent || fd < 0 ||
	    pread(fd, ent, n * sizeof(*ent),
		  (uintptr_t)buf / PAGE_SIZE * sizeof(*ent)) !=
		    (ssize_t)(n * sizeof(*ent)))
		n = 0;
	for (i = 0; i < n; i++) {
		uint64_t pfn = ent[i] & pfn_mask;

		if (i && pfn && pfn == prev + 1 && !(pfn % section_pages))
			crossings++;
		prev = pfn;
	}
	if (fd >= 0)
		close(fd);
	free(ent);
	return crossings;
#else
	return 0;
#endif
}

/*
 * 256 MiB of 4K pages, mostly physically contiguous in a fresh machine:
 * runs that span hundreds of pin batches and, where the memory is
 * contiguous across one, a section boundary of the memory map, past which
 * the struct page of the next pfn need not be the next struct page.
 * Every page must map to its own memory and be unpinned once.
 */
TEST_F(mock, large_memory)
{
	size_t len = 256 * MB, i;
	__u64 iova = MOCK_APERTURE_START;
	char *buf;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, madvise(buf, len, MADV_NOHUGEPAGE));
	for (i = 0; i < len; i += PAGE_SIZE)
		buf[i] = 1;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf, len, iova));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova, buf, len));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 1));
	TH_LOG("contiguous across a memory map section: %lu times",
	       section_crossings(buf, len));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, len, NULL));
	ASSERT_EQ(0, check_refs(self->fd, buf, len, 0));
	ASSERT_EQ(0, munmap(buf, len));
}

/*
 * The pins the kernel holds now, from /proc/vmstat; -1 when unknown.  The
 * counters are summed from per-CPU deltas now and then, so a read may be
 * behind by a few dozen; @exact folds the deltas in first (vm.stat_refresh,
 * too slow for a polling loop).
 */
static long pins_held(bool exact)
{
	long acquired = -1, released = -1, v;
	char line[128];
	FILE *f;

	if (exact) {
		int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

		if (fd < 0 || write(fd, "1", 1) != 1) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %ld", &v) == 1)
			acquired = v;
		else if (sscanf(line, "nr_foll_pin_released %ld", &v) == 1)
			released = v;
	}
	fclose(f);
	return acquired < 0 || released < 0 ? -1 : acquired - released;
}

/*
 * A fatal signal ends a long pin: a child that shares the iommufd maps 512
 * MiB of its own memory, 12 pages per pinning call, and is killed once
 * pinning has begun (the kernel's count of pins, or the child's VmPin,
 * shows it).  The map must give up and unpin: the IOAS, still open in the
 * parent, holds no mapping, and the kernel holds no more pins than before.
 * A map that went on to the end would leave both.  The memory is the
 * child's own, faulted in, private: GUP's fast path pins it without ever
 * looking at signals, so only iommufd's own check can stop the loop.
 * Mainline has no such check: the map runs to its end there, and the test
 * skips.
 */
TEST_F(mock, fatal_signal_ends_a_long_pin)
{
	size_t len = 512 * MB;
	long pins = pins_held(true), now;
	int status, polls = 0;
	bool reaped = false;
	pid_t pid;

	ASSERT_LE(0, pins);
	/* The smallest batch mainline's test op takes */
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_MIN));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mem != MAP_FAILED) {
			memset(mem, 0x5a, len);
			ioas_map_fixed(self->fd, self->ioas_id, mem, len,
				       MOCK_APERTURE_START);
		}
		_exit(0);
	}
	/* At most 20 s, within the harness's time limit */
	while (proc_pid_status_kb(pid, "VmPin") <= 0 &&
	       pins_held(false) <= pins &&
	       polls++ < 200000) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
			break;
		}
		usleep(100);
	}
	if (!reaped) {
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	}
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the map ended before the signal: status %#x", status);
	/* The IOVA range is free: nothing of the map was left. */
	if (ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
			   MOCK_APERTURE_START) && errno == EEXIST) {
		ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_NONE));
		SKIP(return, "the map ran to its end (mainline)");
	}
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, MOCK_APERTURE_START,
				MB, NULL));
	/*
	 * Every page pinned was unpinned again: no more pins than before
	 * (the count is the whole kernel's, and another pin may have gone
	 * meanwhile; the map would have left up to 131072).
	 */
	now = pins_held(true);
	ASSERT_LE(0, now);
	EXPECT_GE(pins, now);
	ASSERT_EQ(0, set_pin_batch(self->fd, PIN_BATCH_NONE));
}

/*
 * A read-only mapping of private memory that the process writes later:
 * the device must go on seeing the page the process sees.  Pinned for
 * reading, a page of a private file mapping not written yet is the file's
 * page, and an anonymous page never touched the shared zero page; the
 * process's first write gives it a page of its own, and a pin that kept
 * the old one leaves the device on memory the process no longer sees.
 */
TEST_F(mock, read_only_private_follows_writes)
{
	__u64 iova = MOCK_APERTURE_START;
	char *file, *anon, *ro, c;
	int memfd;

	memfd = memfd_create("ro_private", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, PAGE_SIZE));
	ASSERT_EQ(4, pwrite(memfd, "file", 4, 0));
	file = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    memfd, 0);
	ASSERT_NE(MAP_FAILED, file);
	ASSERT_EQ('f', file[0]);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, file, PAGE_SIZE, &iova,
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_FIXED_IOVA));
	file[0] = 'p';
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, iova, file,
			       PAGE_SIZE))
		TH_LOG("the device kept the file's page");

	anon = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_EQ(0, anon[0]);
	iova += MB;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, anon, PAGE_SIZE, &iova,
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_FIXED_IOVA));
	anon[0] = 1;
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, iova, anon,
			       PAGE_SIZE))
		TH_LOG("the device kept the zero page");

	/* Read-only in the process too, until it makes it writable */
	ro = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE, memfd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ('f', ro[0]);
	iova += MB;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, PAGE_SIZE, &iova,
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_FIXED_IOVA));
	ASSERT_EQ(0, mprotect(ro, PAGE_SIZE, PROT_READ | PROT_WRITE));
	ro[0] = 'q';
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, iova, ro, PAGE_SIZE))
		TH_LOG("the device kept the file's page (read-only mapping)");
	/* The file itself was never written. */
	ASSERT_EQ(1, pread(memfd, &c, 1, 0));
	EXPECT_EQ('f', c);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	munmap(ro, PAGE_SIZE);
	munmap(anon, PAGE_SIZE);
	munmap(file, PAGE_SIZE);
	close(memfd);
}

/* Closing with a device attached and memory mapped releases it all. */
TEST_F(mock, close_all_live)
{
	__u64 iova = 0;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, MB, &iova,
			      MAP_RW));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_EQ(0, close(self->fd));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	self->fd = open("/dev/iommu", O_RDWR);
}

/* An in-kernel access on an IOAS, as an emulated device has. */
FIXTURE(kaccess) {
	int fd;
	__u32 ioas_id;
	int access_fd;
	unsigned char *buf;
	long vmpin;
};

FIXTURE_SETUP(kaccess)
{
	void *buf;

	setup_ioas(_metadata, &self->fd, &self->ioas_id, &buf, &self->vmpin);
	self->buf = buf;
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &self->access_fd));
	ASSERT_LE(0, self->access_fd);
}

FIXTURE_TEARDOWN(kaccess)
{
	close(self->access_fd);
	close(self->fd);
	EXPECT_EQ(0, check_unpinned(self->buf, MB));
}

TEST_F(kaccess, rw)
{
	__u64 iova = 0x100000;
	unsigned char tmp[3 * PAGE_SIZE];
	unsigned int i;

	/* Two mappings side by side: a copy may span both. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				    iova + 4 * PAGE_SIZE));
	for (i = 0; i < sizeof(tmp); i++)
		tmp[i] = i * 13;
	ASSERT_EQ(0, access_rw(self->fd, self->access_fd,
			       iova + 3 * PAGE_SIZE - 100, tmp, sizeof(tmp),
			       MOCK_ACCESS_RW_WRITE));
	ASSERT_EQ(0, memcmp(self->buf + 3 * PAGE_SIZE - 100, tmp,
			    sizeof(tmp)));
	memset(self->buf + 5, 0x77, 33);
	ASSERT_EQ(0, access_rw(self->fd, self->access_fd, iova + 5, tmp, 33,
			       0));
	for (i = 0; i < 33; i++)
		ASSERT_EQ(0x77, tmp[i]);

	/* Not mapped, partly or at all */
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, self->access_fd,
				       iova + 8 * PAGE_SIZE - 1, tmp, 2, 0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, self->access_fd, 0, tmp, 1,
				       0));
	EXPECT_ERRNO(EINVAL, access_rw(self->fd, self->access_fd, iova, tmp, 0,
				       0));
	EXPECT_ERRNO(EOVERFLOW, access_rw(self->fd, self->access_fd,
					  UINT64_MAX, tmp, 2, 0));
	EXPECT_ERRNO(EOPNOTSUPP, access_rw(self->fd, self->access_fd, iova,
					   tmp, 1, 1 << 5));
	EXPECT_ERRNO(EBADFD, access_rw(self->fd, self->fd, iova, tmp, 1, 0));
}

TEST_F(kaccess, rw_read_only)
{
	__u64 iova = 0x100000;
	unsigned char tmp[16] = { 1 };
	unsigned int i;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, PAGE_SIZE,
			      &iova, IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_FIXED_IOVA));
	EXPECT_ERRNO(EPERM, access_rw(self->fd, self->access_fd, iova, tmp,
				      sizeof(tmp), MOCK_ACCESS_RW_WRITE));
	for (i = 0; i < sizeof(tmp); i++)
		EXPECT_EQ(buf_byte(i), self->buf[i]);
	EXPECT_ERRNO(EPERM, access_pages(self->fd, self->access_fd, iova,
					 PAGE_SIZE, self->buf,
					 MOCK_FLAGS_ACCESS_WRITE, NULL));
	EXPECT_EQ(0, access_pages(self->fd, self->access_fd, iova, PAGE_SIZE,
				  self->buf, 0, NULL));
}

/*
 * Pinned pages are the user's; an unmap tells the access, which unpins,
 * then the unmap completes.
 */
TEST_F(kaccess, pages_and_unmap)
{
	__u64 iova = 0x100000, unmapped;
	__u32 item, item2;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PAGE_SIZE, iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PAGE_SIZE, 8 * PAGE_SIZE,
				    iova + 8 * PAGE_SIZE));
	/* Across the two mappings */
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd,
				  iova + 6 * PAGE_SIZE, 4 * PAGE_SIZE,
				  self->buf + 6 * PAGE_SIZE,
				  MOCK_FLAGS_ACCESS_WRITE, &item));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, iova, PAGE_SIZE,
				  self->buf, 0, &item2));
	EXPECT_NE(item, item2);
	/* The wrong user buffer is not what the access sees. */
	EXPECT_ERRNO(EBADE, access_pages(self->fd, self->access_fd, iova,
					 PAGE_SIZE, self->buf + PAGE_SIZE, 0,
					 NULL));
	ASSERT_EQ(0, access_pages_destroy(self->fd, self->access_fd, item2));
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item2));

	/* Bad ranges */
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, self->access_fd, iova + 1,
					  PAGE_SIZE, NULL, 0, NULL));
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, self->access_fd, iova, 0,
					  NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, self->access_fd,
					  iova + 15 * PAGE_SIZE,
					  2 * PAGE_SIZE, NULL, 0, NULL));
	EXPECT_ERRNO(EOVERFLOW, access_pages(self->fd, self->access_fd,
					     -PAGE_SIZE, 2 * PAGE_SIZE, NULL,
					     0, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, access_pages(self->fd, self->access_fd, iova,
					      PAGE_SIZE, NULL, 1 << 5, NULL));
	/* A length too large for the page array, not a warning. */
	EXPECT_ERRNO(ENOMEM, access_pages(self->fd, self->access_fd, iova,
					  1UL << 62, NULL, 0, NULL));

	/* The unmap calls the access back, which unpins: it completes. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova,
				8 * PAGE_SIZE, &unmapped));
	EXPECT_EQ(8 * PAGE_SIZE, unmapped);
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * iommufd_access_unpin_pages() of a range the access did not pin, as a
 * broken driver would call it: refused with one kernel warning each, and
 * nothing unpinned (the pins of the access, and of nobody else, stay).
 * An unpin names one earlier pin call exactly: the part of a pin that
 * spans two mappings, or two pins side by side in two mappings, is no
 * pin (both were taken before, and the rest of the pin leaked).  The test
 * op that makes the call is an extension of this series.
 */
TEST_F(kaccess, unpin_of_what_was_not_pinned)
{
	static const struct {
		__u64 iova, length;
	} bad[] = {
		{ 0x100000 + 4 * PAGE_SIZE, PAGE_SIZE },	/* never pinned */
		{ 0x100000 + PAGE_SIZE, PAGE_SIZE },	/* part of a pin */
		{ 0x100000, 4 * PAGE_SIZE },		/* more than a pin */
		{ 0x100000, 0 },
		{ 0x100000 + 1, PAGE_SIZE },
		{ 0x40000000, PAGE_SIZE },		/* not mapped */
		{ -PAGE_SIZE, 2 * PAGE_SIZE },		/* wraps */
		/* A pin over both mappings: its part in each */
		{ 0x100000 + 6 * PAGE_SIZE, 2 * PAGE_SIZE },
		{ 0x100000 + 8 * PAGE_SIZE, 2 * PAGE_SIZE },
		/* Two pins, one in each mapping, as one */
		{ 0x100000 + 7 * PAGE_SIZE, 2 * PAGE_SIZE },
	};
	__u32 item, span, left, right;
	__u64 iova = 0x100000;
	int access2, log;
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PAGE_SIZE, iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PAGE_SIZE, 4 * PAGE_SIZE,
				    iova + 8 * PAGE_SIZE));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, iova,
				  2 * PAGE_SIZE, self->buf, 0, &item));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd,
				  iova + 6 * PAGE_SIZE, 4 * PAGE_SIZE,
				  self->buf + 6 * PAGE_SIZE, 0, &span));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd,
				  iova + 7 * PAGE_SIZE, PAGE_SIZE,
				  self->buf + 7 * PAGE_SIZE, 0, &left));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd,
				  iova + 8 * PAGE_SIZE, PAGE_SIZE,
				  self->buf + 8 * PAGE_SIZE, 0, &right));
	/* Another access's pin of the same pages is no pin of this one. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &access2));
	ASSERT_EQ(0, access_pages(self->fd, access2, iova + 4 * PAGE_SIZE,
				  PAGE_SIZE, self->buf + 4 * PAGE_SIZE, 0,
				  NULL));
	/* Probed with no access: EBADF here, EOPNOTSUPP where unknown */
	if (access_unpin(self->fd, -1, 0, 0) != -1 || errno != EBADF)
		SKIP(return, "no IOMMU_TEST_OP_ACCESS_UNPIN (a series extension)");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		log = expect_warn_begin("iommufd_access_unpin_pages");
		ASSERT_LE(0, log);
		EXPECT_EQ(0, access_unpin(self->fd, self->access_fd,
					  bad[i].iova, bad[i].length));
		EXPECT_EQ(1, expect_warn_end(log,
					     "iommufd_access_unpin_pages"));
	}
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 2 * PAGE_SIZE, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 2 * PAGE_SIZE,
				2 * PAGE_SIZE, 0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 4 * PAGE_SIZE,
				PAGE_SIZE, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 5 * PAGE_SIZE,
				PAGE_SIZE, 0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 6 * PAGE_SIZE,
				4 * PAGE_SIZE, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 10 * PAGE_SIZE,
				2 * PAGE_SIZE, 0));
	/* The pins are whole: their owners drop them as usual. */
	EXPECT_EQ(0, access_pages_destroy(self->fd, self->access_fd, item));
	EXPECT_EQ(0, access_pages_destroy(self->fd, self->access_fd, span));
	EXPECT_EQ(0, access_pages_destroy(self->fd, self->access_fd, left));
	EXPECT_EQ(0, access_pages_destroy(self->fd, self->access_fd, right));
	close(access2);
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 12 * PAGE_SIZE, 0));
	/* Nothing left pinned: both mappings go. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova,
				12 * PAGE_SIZE, NULL));
}

/* Destroy in every order, with pages pinned. */
TEST_F(kaccess, destroy_orders)
{
	__u64 iova = 0x100000;
	int access2;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, iova, MB,
				  self->buf, 0, NULL));
	/* The IOAS is in use by the access. */
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, self->ioas_id));
	/* The access goes first, with its pins. */
	ASSERT_EQ(0, close(self->access_fd));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, MB, NULL));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));

	/* The iommufd first: the access keeps it until it goes too. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &access2));
	ASSERT_EQ(0, access_pages(self->fd, access2, iova, MB, self->buf, 0,
				  NULL));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
				   &self->access_fd));
	ASSERT_EQ(0, close(self->fd));
	EXPECT_EQ(self->vmpin + MB / 1024, proc_status_kb("VmPin"));
	ASSERT_EQ(0, close(access2));
	ASSERT_EQ(0, close(self->access_fd));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	self->fd = open("/dev/iommu", O_RDWR);
	self->access_fd = open("/dev/null", O_RDONLY);
}

/* An access moves between IOASes; it must have nothing pinned. */
TEST_F(kaccess, replace_ioas)
{
	unsigned char tmp[8];
	__u32 ioas2, item;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, PAGE_SIZE,
				    0x200000));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, self->access_fd, 0x200000,
				       tmp, sizeof(tmp), 0));
	/*
	 * Pages pinned in the old IOAS are taken from the access first,
	 * through its unmap callback (which destroys the item), as mainline
	 * does; a wrong IOAS takes nothing.
	 */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, 0x100000));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, 0x100000,
				  PAGE_SIZE, self->buf, 0, &item));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, PAGE_SIZE, 1));
	EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, self->access_fd,
						 ioas2 + 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, PAGE_SIZE, 1));
	ASSERT_EQ(0, access_replace_ioas(self->fd, self->access_fd, ioas2));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, PAGE_SIZE, 0));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item));
	ASSERT_EQ(0, access_rw(self->fd, self->access_fd, 0x200000, tmp,
			       sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(tmp, self->buf, sizeof(tmp)));
	/* The old IOAS is free to go, the new one is in use. */
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(EBUSY, obj_destroy(self->fd, ioas2));
	EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, self->access_fd,
						 self->ioas_id));
	ASSERT_EQ(0, access_rw(self->fd, self->access_fd, 0x200000, tmp,
			       sizeof(tmp), 0));
}

TEST_F(kaccess, create_bad_input)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = self->ioas_id,
		.create_access = { .flags = 1 << 3 },
	};
	int access_fd;

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_TEST_CMD, &cmd));
	EXPECT_ERRNO(ENOENT, create_access(self->fd, self->ioas_id + 100,
					   &access_fd));
}

/* An access made without NEEDS_PIN_PAGES reads and writes, never pins. */
TEST_F(kaccess, rw_only)
{
	__u64 iova = 0x100000;
	unsigned char tmp[8];
	int access_fd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, iova));
	ASSERT_EQ(0, create_access_flags(self->fd, self->ioas_id, 0,
					 &access_fd));
	EXPECT_ERRNO(EOPNOTSUPP, access_pages(self->fd, access_fd, iova,
					      PAGE_SIZE, self->buf, 0, NULL));
	memset(self->buf, 0x5a, sizeof(tmp));
	ASSERT_EQ(0, access_rw(self->fd, access_fd, iova, tmp, sizeof(tmp),
			       0));
	EXPECT_EQ(0, memcmp(tmp, self->buf, sizeof(tmp)));
	ASSERT_EQ(0, close(access_fd));
}

/*
 * Threads map, unmap, copy, read through an access, attach and detach
 * mock devices on one IOAS for a bounded time.  Every call must succeed or
 * fail with an errno the races explain; nothing may stay pinned.
 */
struct io_race {
	int fd;
	__u32 ioas_id;
	__u32 ioas2;
	int access_fd;
	unsigned char *buf;
	atomic_bool stop;
	atomic_int bad_errno;
	atomic_int bad_line;	/* of the call that failed with it */
	atomic_long calls;
};

static void __io_race_check(struct io_race *r, int rc, int ok1, int ok2,
			    int line)
{
	atomic_fetch_add(&r->calls, 1);
	if (rc && errno != ok1 && errno != ok2) {
		atomic_store(&r->bad_line, line);
		atomic_store(&r->bad_errno, errno);
	}
}

#define io_race_check(r, rc, ok1, ok2) \
	__io_race_check(r, rc, ok1, ok2, __LINE__)

/* Each mapper owns its own slot of IOVA and of the buffer. */
static void *io_race_mapper(struct io_race *r, unsigned int slot)
{
	__u64 iova = MOCK_APERTURE_START + slot * MB, dst;

	while (!atomic_load(&r->stop)) {
		io_race_check(r, ioas_map_fixed(r->fd, r->ioas_id,
						r->buf + slot * 64 * PAGE_SIZE,
						64 * PAGE_SIZE, iova), 0, 0);
		dst = 0;
		io_race_check(r, ioas_copy(r->fd, r->ioas2, r->ioas_id, iova,
					   64 * PAGE_SIZE, &dst, MAP_RW),
			      ENOSPC, 0);
		io_race_check(r, ioas_unmap(r->fd, r->ioas_id, iova,
					    64 * PAGE_SIZE, NULL), 0, 0);
		/*
		 * Racing the other mapper's copy into ioas2: mainline answers
		 * EBUSY for an area it is still making (seen once in runs).
		 */
		if (!(slot & 1))
			io_race_check(r, ioas_unmap(r->fd, r->ioas2, 0,
						    UINT64_MAX, NULL), EBUSY, 0);
	}
	return NULL;
}

static void *io_race_mapper0(void *arg)
{
	return io_race_mapper(arg, 0);
}

static void *io_race_mapper1(void *arg)
{
	return io_race_mapper(arg, 1);
}

static void *io_race_user(void *arg)
{
	struct io_race *r = arg;
	unsigned char tmp[256];
	__u32 stdev, item;
	__u64 iova;

	while (!atomic_load(&r->stop)) {
		iova = MOCK_APERTURE_START + (r->calls & 1) * MB;
		/*
		 * The mapping may come and go under the access; mainline
		 * answers EINVAL while it is being unmapped.
		 */
		io_race_check(r, access_rw(r->fd, r->access_fd, iova + 10, tmp,
					   sizeof(tmp), 0), ENOENT, EINVAL);
		/* Mainline answers EINVAL for a range it is unmapping. */
		if (!access_pages(r->fd, r->access_fd, iova, 4 * PAGE_SIZE,
				  NULL, 0, &item))
			access_pages_destroy(r->fd, r->access_fd, item);
		else
			io_race_check(r, -1, ENOENT, EINVAL);
		if (!mock_domain(r->fd, r->ioas_id, &stdev, NULL, NULL))
			io_race_check(r, obj_destroy(r->fd, stdev), 0, 0);
		else
			io_race_check(r, -1, 0, 0);
	}
	return NULL;
}

TEST_F(mock, race_io)
{
	struct io_race r = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.buf = self->buf,
	};
	void *(*fns[])(void *) = {
		io_race_mapper0, io_race_mapper1, io_race_user,
	};
	pthread_t threads[3];
	int i;

	ASSERT_EQ(0, ioas_alloc(self->fd, &r.ioas2));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &r.access_fd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fns[i], &r));
	sleep(3);
	atomic_store(&r.stop, true);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	TH_LOG("%ld calls", atomic_load(&r.calls));
	EXPECT_EQ(0, atomic_load(&r.bad_errno))
		TH_LOG("the call at line %d", atomic_load(&r.bad_line));
	EXPECT_LT(100, atomic_load(&r.calls));

	ASSERT_EQ(0, close(r.access_fd));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, r.ioas2, 0, UINT64_MAX, NULL));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * Regressions of bug classes fuzzing found in mainline: lengths and
 * addresses at the top of the address space, where ALIGN() and end
 * computations overflow.
 */
TEST_F(mapping, top_of_iova_space)
{
	unsigned long top_pages = 4;
	__u64 iova, top = UINT64_MAX - top_pages * PAGE_SIZE + 1;

	/* The last pages of the IOVA space map and unmap. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, UINT64_MAX - PAGE_SIZE + 1));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PAGE_SIZE,
					    UINT64_MAX - PAGE_SIZE + 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id,
				UINT64_MAX - PAGE_SIZE + 1, PAGE_SIZE, NULL));

	/*
	 * Only the top pages free: the search for a free range runs into
	 * the end of the space, where aligning up overflows.
	 */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, 0, top));
	iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
			      2 * PAGE_SIZE, &iova, MAP_RW));
	EXPECT_EQ(top, iova);
	iova = 0;
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, PAGE_SIZE,
			      &iova, MAP_RW));
	EXPECT_EQ(top + 2 * PAGE_SIZE, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id, self->buf,
				      2 * PAGE_SIZE, &iova, MAP_RW));
	/* The kernel never chooses the last page, as mainline... */
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id, self->buf,
				      PAGE_SIZE, &iova, MAP_RW));
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id, self->buf, 1,
				      &iova, MAP_RW));
	/* ...but the user may. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, UINT64_MAX - PAGE_SIZE + 1));
}

/* Nor IOVA 0, where the space is free. */
TEST_F(mapping, chosen_iova_is_never_0)
{
	__u64 iova = 0xdead;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, PAGE_SIZE,
			      &iova, MAP_RW));
	EXPECT_NE(0, iova);
	EXPECT_EQ(0, iova % PAGE_SIZE);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    PAGE_SIZE, 0));
}

/*
 * An access moved to another IOAS leaves the old one under the index it
 * had there, not under the one it got in the new IOAS: the old IOAS must
 * forget it, and keep every other access it has.  Regression: the old
 * IOAS kept the moved access (used after it was freed by the next unmap)
 * and erased the entry of another live access, which was then never told
 * to unpin.
 */
TEST_F(kaccess, replace_leaves_the_right_entry)
{
	__u64 iova = 0x100000, unmapped;
	int other, third;
	__u32 ioas2, item;

	/* The fixture's access is entry 0 of the first IOAS, @other 1. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &other));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	/* Entry 0 of the second IOAS: the moved access gets entry 1 there. */
	ASSERT_EQ(0, create_access(self->fd, ioas2, &third));
	ASSERT_EQ(0, access_replace_ioas(self->fd, self->access_fd, ioas2));
	ASSERT_EQ(0, close(self->access_fd));

	/* @other still hears of unmaps in the first IOAS, and unpins. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, iova));
	ASSERT_EQ(0, access_pages(self->fd, other, iova, 2 * PAGE_SIZE,
				  self->buf, 0, &item));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 4 * PAGE_SIZE,
				&unmapped));
	EXPECT_EQ(4 * PAGE_SIZE, unmapped);
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, other, item));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));

	/* Both IOASes let their accesses go, and then go themselves. */
	ASSERT_EQ(0, close(other));
	ASSERT_EQ(0, close(third));
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));
	ASSERT_EQ(0, obj_destroy(self->fd, ioas2));
	self->access_fd = open("/dev/null", O_RDONLY);
}

/*
 * A pin of the last page of the IOVA space, where the end of the range is
 * the last IOVA.  Regression: the page loop wrapped to IOVA 0, wrote past
 * the page array for every page mapped from 0 on, and dereferenced NULL at
 * the first IOVA not mapped.
 */
TEST_F(kaccess, pin_last_page)
{
	__u64 top = UINT64_MAX - PAGE_SIZE + 1, unmapped;
	unsigned char tmp[16];
	__u32 item;

	/* Memory at IOVA 0 too: what a wrapped loop would walk into. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PAGE_SIZE, PAGE_SIZE, top));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, top, PAGE_SIZE,
				  self->buf + 4 * PAGE_SIZE,
				  MOCK_FLAGS_ACCESS_WRITE, &item));
	memset(self->buf + 5 * PAGE_SIZE - sizeof(tmp), 0x3c, sizeof(tmp));
	ASSERT_EQ(0, access_rw(self->fd, self->access_fd,
			       UINT64_MAX - sizeof(tmp) + 1, tmp, sizeof(tmp),
			       0));
	EXPECT_EQ(0x3c, tmp[sizeof(tmp) - 1]);
	ASSERT_EQ(0, access_pages_destroy(self->fd, self->access_fd, item));

	/* Pinned again, then taken back by the unmap of the last page. */
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, top, PAGE_SIZE,
				  self->buf + 4 * PAGE_SIZE, 0, &item));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, top, PAGE_SIZE,
				&unmapped));
	EXPECT_EQ(PAGE_SIZE, unmapped);
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item));

	/* And by the close of the access. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PAGE_SIZE, PAGE_SIZE, top));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, top, PAGE_SIZE,
				  self->buf + 4 * PAGE_SIZE, 0, &item));
	ASSERT_EQ(0, close(self->access_fd));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(5 * PAGE_SIZE, unmapped);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	self->access_fd = open("/dev/null", O_RDONLY);
}

/*
 * Unmapping everything (IOVA 0, length UINT64_MAX) with pages pinned: the
 * access is told of each mapping with its own range.  The test access,
 * like mdma, i915 and vfio-ap, does nothing for a length of 0.
 * Regression: the callback got the length of the whole space, which wraps
 * to 0; the pins stayed, and the unmap warned and failed with EBUSY.
 */
TEST_F(kaccess, unmap_all_with_pins)
{
	__u64 top = UINT64_MAX - PAGE_SIZE + 1, unmapped;
	__u32 item, item2;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PAGE_SIZE, 0x100000));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PAGE_SIZE, PAGE_SIZE, top));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, 0x101000,
				  2 * PAGE_SIZE, self->buf + PAGE_SIZE, 0,
				  &item));
	ASSERT_EQ(0, access_pages(self->fd, self->access_fd, top, PAGE_SIZE,
				  self->buf + 4 * PAGE_SIZE, 0, &item2));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(5 * PAGE_SIZE, unmapped);
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item));
	EXPECT_ERRNO(ENOENT, access_pages_destroy(self->fd, self->access_fd,
						  item2));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

struct pin_while_unmapping {
	int fd;
	int access_fd;
	__u64 iova;
	atomic_bool stop;
	atomic_int bad_errno;
	atomic_long pinned;
};

static void *pin_while_unmapping_thread(void *arg)
{
	struct pin_while_unmapping *p = arg;
	__u32 item;

	while (!atomic_load(&p->stop)) {
		if (!access_pages(p->fd, p->access_fd, p->iova, 2 * PAGE_SIZE,
				  NULL, 0, &item)) {
			atomic_fetch_add(&p->pinned, 1);
			/* ENOENT when an unmap took the pins meanwhile */
			if (access_pages_destroy(p->fd, p->access_fd, item) &&
			    errno != ENOENT)
				atomic_store(&p->bad_errno, errno);
		} else if (errno != ENOENT && errno != EINVAL) {
			atomic_store(&p->bad_errno, errno);
		}
	}
	return NULL;
}

/*
 * An unmap of two mappings tells the access of the first while a thread
 * pins in the second, again and again: the pins taken in the second
 * meanwhile are given back when the unmap reaches it.  Every unmap
 * removes both mappings (never EBUSY, nor a warning), and nothing is left
 * pinned.
 */
TEST_F(kaccess, pin_while_unmapping_another_area)
{
	struct pin_while_unmapping p = {
		.fd = self->fd,
		.access_fd = self->access_fd,
		.iova = 0x104000,
	};
	__u64 iova = 0x100000, unmapped;
	unsigned int round;
	pthread_t thread;

	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_while_unmapping_thread,
				    &p));
	for (round = 0; round < 2000; round++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    4 * PAGE_SIZE, iova));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 4 * PAGE_SIZE,
					    4 * PAGE_SIZE, iova + 4 * PAGE_SIZE));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova,
					8 * PAGE_SIZE, &unmapped))
			TH_LOG("round %u: %s", round, strerror(errno));
		ASSERT_EQ(8 * PAGE_SIZE, unmapped);
	}
	atomic_store(&p.stop, true);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%ld pins in 2000 rounds", atomic_load(&p.pinned));
	EXPECT_EQ(0, atomic_load(&p.bad_errno));
	EXPECT_LT(0, atomic_load(&p.pinned));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 8 * PAGE_SIZE, 0));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

#define DETACH_RACERS	4

struct detach_race {
	int fd;
	__u32 stdev_id;
	pthread_barrier_t *barrier;
	int rc;
};

static void *detach_race_thread(void *arg)
{
	struct detach_race *d = arg;

	pthread_barrier_wait(d->barrier);
	d->rc = obj_destroy(d->fd, d->stdev_id);
	return NULL;
}

/*
 * Devices leave the page table the kernel made for them at the same
 * moment: exactly one of them destroys it, every time.  Regression: the
 * last two both saw the other's use and backed off, leaving the page table
 * behind with no device, and the IOAS busy (EBUSY) until the iommufd was
 * closed.  Its 500 rounds once went past the harness's default 30 s on a
 * KASAN kernel.
 */
TEST_F_TIMEOUT(mock, concurrent_detach_frees_shared_domain, 180)
{
	struct detach_race d[DETACH_RACERS] = {};
	pthread_barrier_t barrier;
	__u32 hwpt[DETACH_RACERS];
	pthread_t t[DETACH_RACERS];
	int round, i;

	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev_id));
	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, DETACH_RACERS));
	for (round = 0; round < 500; round++) {
		for (i = 0; i < DETACH_RACERS; i++) {
			ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id,
						 &d[i].stdev_id, &hwpt[i],
						 NULL));
			ASSERT_EQ(hwpt[0], hwpt[i]);
			d[i].fd = self->fd;
			d[i].barrier = &barrier;
		}
		for (i = 0; i < DETACH_RACERS; i++)
			ASSERT_EQ(0, pthread_create(&t[i], NULL,
						    detach_race_thread, &d[i]));
		for (i = 0; i < DETACH_RACERS; i++) {
			ASSERT_EQ(0, pthread_join(t[i], NULL));
			ASSERT_EQ(0, d[i].rc);
		}
		/* Gone with its devices: its ID names nothing. */
		errno = 0;
		ASSERT_EQ(-1, obj_destroy(self->fd, hwpt[0]))
			TH_LOG("round %d: page table left behind", round);
		ASSERT_EQ(ENOENT, errno);
	}
	pthread_barrier_destroy(&barrier);
	ASSERT_EQ(0, obj_destroy(self->fd, self->ioas_id));
}

struct blocked_attach {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	int rc;
	atomic_bool done;
};

static void *blocked_attach_thread(void *arg)
{
	struct blocked_attach *a = arg;

	a->rc = mock_domain(a->fd, a->ioas_id, &a->stdev_id, NULL, NULL);
	atomic_store(&a->done, true);
	return NULL;
}

/*
 * IOMMU_DESTROY of an IOAS that another system call is using answers
 * EBUSY at once, as mainline does, rather than waiting for that call:
 * here the attach of the first page table, which faults in and pins the
 * 1 GiB mapped before.  (A userfaultfd cannot hold it: 6.1's long-term
 * pinning does not wait for userfaults.)  Regression: the destroy slept,
 * uninterruptibly, until the other call ended, and then destroyed the
 * IOAS.
 */
TEST_F(mapping, destroy_while_in_use)
{
	struct blocked_attach attach = { .fd = self->fd,
					 .ioas_id = self->ioas_id };
	size_t length = 1UL << 30;
	bool attach_was_running;
	pthread_t t;
	void *buf;
	long rss;
	int rc, err;

	buf = mmap(NULL, length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	/* 4K pages, each faulted in by the attach: it takes a while. */
	ASSERT_EQ(0, madvise(buf, length, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf, length,
				    0x40000000));
	rss = proc_status_kb("VmRSS");
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_attach_thread,
				    &attach));
	/* Inside the attach once the buffer starts to be faulted in */
	while (proc_status_kb("VmRSS") < rss + 16 * 1024 &&
	       !atomic_load(&attach.done))
		usleep(1000);
	rc = obj_destroy(self->fd, self->ioas_id);
	err = errno;
	attach_was_running = !atomic_load(&attach.done);
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* An attach that ended first would prove nothing either way. */
	ASSERT_TRUE(attach_was_running)
		TH_LOG("the destroy did not answer before the attach ended");
	EXPECT_EQ(-1, rc);
	EXPECT_EQ(EBUSY, err);

	/* The IOAS lived on: the attach succeeded and all can go now. */
	ASSERT_EQ(0, attach.rc);
	EXPECT_EQ(0, obj_destroy(self->fd, attach.stdev_id));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x40000000, length,
				NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, self->ioas_id));
	munmap(buf, length);
}

/*
 * The reserved regions a device reports, as type1 and mainline treat
 * them: a software-managed MSI window is reserved and its domain gets an
 * MSI cookie before the device is attached (else its MSIs fault on an
 * SMMU with a GICv3 ITS); a relaxable direct-mapped region is not
 * reserved, so the user may map over it (USB and IGD assignment).
 * Regressions: no cookie was set (the mock device refuses such a domain),
 * and the map of guest RAM over a relaxable region failed.
 */
TEST_F(mock, msi_window_and_relaxable_region)
{
	struct iommu_iova_range r[4];
	__u32 stdev, hwpt, ioas2, pt_id, num = 4;
	__u64 iova;

	if (access(MOCK_RESV_REGIONS, W_OK))
		SKIP(return, "no %s (mainline?)", MOCK_RESV_REGIONS);
	ASSERT_EQ(0, set_mock_knob(MOCK_RESV_REGIONS, true));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL))
		TH_LOG("mock device with an MSI window: %s", strerror(errno));
	ASSERT_EQ(0, set_mock_knob(MOCK_RESV_REGIONS, false));

	/* Only the MSI window is a hole in the usable IOVA space. */
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	ASSERT_EQ(2, num);
	EXPECT_EQ(MOCK_APERTURE_START, r[0].start);
	EXPECT_EQ(MOCK_SW_MSI_START - 1, r[0].last);
	EXPECT_EQ(MOCK_SW_MSI_START + MB, r[1].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, r[1].last);
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PAGE_SIZE,
					    MOCK_SW_MSI_START));
	iova = MOCK_RELAXABLE_START;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, check_map(self->fd, hwpt, iova, self->buf, MB));

	/* The fixture's device shares the domain, which got the cookie. */
	ASSERT_EQ(self->hwpt_id, hwpt);

	/* A replace gives the new domain a cookie before the move. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, MB, iova));
	pt_id = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt_id));
	EXPECT_NE(hwpt, pt_id);
	ASSERT_EQ(0, check_map(self->fd, pt_id, iova, self->buf, MB));
	/*
	 * The device with the MSI window left the first domain, which the
	 * fixture's device keeps, cookie and all: the window stays reserved
	 * there.  Regression: it went with the device, and a map could land
	 * where the cookie maps MSI doorbells.
	 */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PAGE_SIZE,
					    MOCK_SW_MSI_START));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
}

/*
 * Every mapping is IOMMU_CACHE, as type1's are (the mock domain refuses a
 * map without it): a device whose IOMMU cannot make DMA cache coherent is
 * refused at bind, with EINVAL as in mainline, and nothing is left behind.
 * Regression: mappings lacked IOMMU_CACHE (io-pgtable-arm then makes them
 * non-cacheable) and such a device was bound.
 */
TEST_F(mock, cache_coherent_mappings_only)
{
	__u64 iova = MOCK_APERTURE_START;
	__u32 stdev;

	if (access(MOCK_INCOHERENT_DMA, W_OK))
		SKIP(return, "no %s (mainline?)", MOCK_INCOHERENT_DMA);
	/* The fixture's mock domain took the mapping: it had IOMMU_CACHE. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, MB,
				    iova));
	ASSERT_EQ(0, check_map(self->fd, self->hwpt_id, iova, self->buf, MB));

	ASSERT_EQ(0, set_mock_knob(MOCK_INCOHERENT_DMA, true));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, self->ioas_id, &stdev,
					 NULL, NULL));
	ASSERT_EQ(0, set_mock_knob(MOCK_INCOHERENT_DMA, false));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL,
				 NULL));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
}

/*
 * A reply that cannot be copied back (the command in read-only memory):
 * the call fails with EFAULT.  An object it allocated is freed (its ID is
 * the next one's); a mapping or copy it made stays, as on mainline, and
 * the caller can find it where it asked for it.
 */
TEST_F(mapping, unwritable_reply)
{
	struct iommu_ioas_alloc *alloc;
	struct iommu_ioas_copy *copy;
	struct iommu_ioas_map *map;
	__u32 id, next;
	void *page;

	page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	alloc = page;
	alloc->size = sizeof(*alloc);
	map = page + 64;
	map->size = sizeof(*map);
	map->flags = MAP_FIXED_RW;
	map->ioas_id = self->ioas_id;
	map->user_va = (uintptr_t)self->buf;
	map->length = 16 * PAGE_SIZE;
	map->iova = 0x100000;
	ASSERT_EQ(0, mprotect(page, PAGE_SIZE, PROT_READ));

	/* The ID the failed alloc took is free again: the next one gets it. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(0, obj_destroy(self->fd, id));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, alloc));
	ASSERT_EQ(0, ioas_alloc(self->fd, &next));
	EXPECT_EQ(id, next);

	/* As on mainline, the call fails but the mapping is made. */
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_MAP, map));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    16 * PAGE_SIZE, 0x100000));

	/* So is the copy. */
	copy = page + 256;
	ASSERT_EQ(0, mprotect(page, PAGE_SIZE, PROT_READ | PROT_WRITE));
	copy->size = sizeof(*copy);
	copy->flags = MAP_FIXED_RW;
	copy->dst_ioas_id = self->ioas_id;
	copy->src_ioas_id = self->ioas_id;
	copy->length = 16 * PAGE_SIZE;
	copy->dst_iova = 0x200000;
	copy->src_iova = 0x100000;
	ASSERT_EQ(0, mprotect(page, PAGE_SIZE, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_COPY, copy));
	EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    PAGE_SIZE, 0x200000));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x200000,
				16 * PAGE_SIZE, NULL));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0x100000,
				16 * PAGE_SIZE, NULL));
	munmap(page, PAGE_SIZE);
}

/*
 * Dirty tracking on a mock page table made with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING, for each page size of the bitmap and
 * each size of mapping; the huge variants map with the mock's large pages,
 * whose dirty state is the whole large page's.
 */
FIXTURE(dirty) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 hwpt_id;
	void *buf;
	__u64 *bitmap;		/* the report, on two pages */
	size_t nbits;
};

FIXTURE_VARIANT(dirty) {
	unsigned long buffer_size;
	unsigned long page_size;
	bool huge;
};

FIXTURE_VARIANT_ADD(dirty, mock_page_128k) {
	.buffer_size = 128 * 1024,
	.page_size = MOCK_PAGE_SIZE,
};

FIXTURE_VARIANT_ADD(dirty, page_1m) {
	.buffer_size = MB,
	.page_size = PAGE_SIZE,
};

FIXTURE_VARIANT_ADD(dirty, page_8m) {
	.buffer_size = 8 * MB,
	.page_size = PAGE_SIZE,
};

FIXTURE_VARIANT_ADD(dirty, large_bit_4m) {
	.buffer_size = 4 * MB,
	.page_size = 64 * 1024,
};

FIXTURE_VARIANT_ADD(dirty, huge_mock_pages_4m) {
	.buffer_size = 4 * MB,
	.page_size = PAGE_SIZE,
	.huge = true,
};

FIXTURE_SETUP(dirty)
{
	__u32 pt_id;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	/* Large mock pages map memory that is physically contiguous. */
	self->buf = variant->huge ? alloc_buffer_thp(variant->buffer_size) :
				    alloc_buffer(variant->buffer_size, 2 * MB);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, mock_domain_flags_idev(self->fd, self->ioas_id,
					    variant->huge ?
						MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
					    &self->stdev_id, NULL,
					    &self->idev_id));
	ASSERT_EQ(0, hwpt_alloc_full(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				     self->idev_id, self->ioas_id,
				     IOMMU_HWPT_DATA_NONE, NULL, 0,
				     &self->hwpt_id));
	pt_id = self->hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    variant->buffer_size, MOCK_APERTURE_START));
	self->nbits = variant->buffer_size / variant->page_size;
	self->bitmap = mmap(NULL, 2 * PAGE_SIZE + self->nbits / 8,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->bitmap);
}

FIXTURE_TEARDOWN(dirty)
{
	close(self->fd);
	munmap(self->bitmap, 2 * PAGE_SIZE + self->nbits / 8);
}

/* Bit @n of @bits */
static bool bit_set(const __u64 *bits, size_t n)
{
	return bits[n / 64] & (1ULL << (n % 64));
}

/*
 * Bit @n of a report with a bit for @per_bit mock pages, after the mock
 * pages of the bits of @set (one a mock page) were made dirty: whether one
 * of its mock pages was, or with large mock pages (@huge), one of the
 * large page's.
 */
static bool dirty_expected(const __u64 *set, size_t n, size_t per_bit,
			   bool huge)
{
	const size_t per_large = MOCK_HUGE_PAGE_SIZE / MOCK_PAGE_SIZE;
	size_t first = n * per_bit, count = per_bit, i;

	if (huge) {
		first -= first % per_large;
		if (count < per_large)
			count = per_large;
	}
	for (i = first; i < first + count; i++)
		if (bit_set(set, i))
			return true;
	return false;
}

/*
 * Pages made dirty are reported, with NO_CLEAR again, then cleared; the
 * report is the same wherever the bitmap lies (at an offset in a page,
 * across two pages).
 */
TEST_F(dirty, read_and_clear)
{
	size_t nmock = variant->buffer_size / MOCK_PAGE_SIZE, i, want = 0;
	size_t per_bit = variant->page_size / MOCK_PAGE_SIZE;
	size_t words = (self->nbits + 63) / 64;
	__u64 *set = calloc(nmock / 64 + 1, sizeof(__u64)), nr;
	__u64 *out = calloc(words, sizeof(__u64));
	__u64 *at_offset, *across;

	ASSERT_NE(NULL, set);
	ASSERT_NE(NULL, out);
	/* Mock pages made dirty, as mainline's tests do: one a bit */
	for (i = 0; i < nmock; i += 7 + (i / 7) % 300)
		set[i / 64] |= 1ULL << (i % 64);
	for (i = 0; i < nmock; i++)
		want += bit_set(set, i);

	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, MOCK_APERTURE_START,
				variant->buffer_size, MOCK_PAGE_SIZE, set,
				&nr));
	if (!variant->huge)
		EXPECT_EQ(want, nr);

	/* Read without clearing, from a bitmap at an offset in its page */
	at_offset = self->bitmap + 1;
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START,
				      variant->buffer_size, variant->page_size,
				      at_offset,
				      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	for (i = 0; i < self->nbits; i++)
		ASSERT_EQ(dirty_expected(set, i, per_bit, variant->huge),
			  bit_set(at_offset, i)) TH_LOG("bit %zu", i);

	/* Again, clearing, into a bitmap that crosses a page boundary */
	across = (__u64 *)((char *)self->bitmap + PAGE_SIZE) - 1;
	memset(self->bitmap, 0, 2 * PAGE_SIZE + self->nbits / 8);
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START,
				      variant->buffer_size, variant->page_size,
				      across, 0));
	for (i = 0; i < self->nbits; i++)
		ASSERT_EQ(dirty_expected(set, i, per_bit, variant->huge),
			  bit_set(across, i)) TH_LOG("bit %zu", i);

	/* Cleared: nothing more to report */
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START,
				      variant->buffer_size, variant->page_size,
				      out, 0));
	for (i = 0; i < words; i++)
		ASSERT_EQ(0, out[i]) TH_LOG("word %zu", i);
	free(set);
	free(out);
}

/*
 * Only part of the range: the bits of its pages, from bit 0; starting
 * tracking forgets what was dirty before; with tracking off a report is
 * still made.
 */
TEST_F(dirty, part_and_restart)
{
	unsigned long half = variant->buffer_size / 2;
	__u64 all[2] = { ~0ULL, ~0ULL }, nr;
	__u64 one[2] = { 1, 0 };

	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id,
				MOCK_APERTURE_START + half, MOCK_PAGE_SIZE,
				MOCK_PAGE_SIZE, one, &nr));
	EXPECT_EQ(1, nr);
	memset(self->bitmap, 0, PAGE_SIZE);
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START + half, half,
				      variant->page_size, self->bitmap, 0));
	EXPECT_TRUE(bit_set(self->bitmap, 0));

	/* Dirty, then tracking restarted: nothing to report */
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, MOCK_APERTURE_START,
				2 * MOCK_PAGE_SIZE, MOCK_PAGE_SIZE, all, &nr));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, false));
	EXPECT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START, half,
				      variant->page_size, self->bitmap,
				      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	memset(self->bitmap, 0, PAGE_SIZE);
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id,
				      MOCK_APERTURE_START, half,
				      variant->page_size, self->bitmap, 0));
	EXPECT_EQ(0, self->bitmap[0]);
}

/* Refused calls, each with its errno, changing nothing */
TEST_F(dirty, bad_input)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.hwpt_id = self->hwpt_id,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = self->hwpt_id,
		.iova = MOCK_APERTURE_START,
		.length = variant->buffer_size,
		.page_size = variant->page_size,
		.data = (uintptr_t)self->bitmap,
	};
	__u32 len = 0, stdev2, idev2, hwpt2, plain;
	__u64 caps;

	set.flags = 2;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				       &set));
	/* As mainline, its reserved field is not looked at. */
	set.flags = 0;
	set.__reserved = 1;
	EXPECT_EQ(0, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	set.__reserved = 0;
	EXPECT_ERRNO(ENOENT, set_dirty_tracking(self->fd, self->ioas_id,
						true));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));

	get.flags = 2;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	get.flags = 0;
	get.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	get.__reserved = 0;
	get.hwpt_id = self->ioas_id;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				   &get));
	get.hwpt_id = self->hwpt_id;
	get.length = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				   &get));
	get.length = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				      &get));
	get.length = variant->buffer_size;
	get.iova = MOCK_APERTURE_START + 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				   &get));
	get.iova = MOCK_APERTURE_START;
	/* Bits larger than the range, which overflowed iova_bitmap's sums */
	get.page_size = 1ULL << 62;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				   &get));
	get.page_size = variant->page_size;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));

	/* The device reports the capability; one that cannot track does not */
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, NULL, &len, NULL,
				 &caps));
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	ASSERT_EQ(0, mock_domain_flags_idev(self->fd, self->ioas_id,
					    MOCK_FLAGS_DEVICE_NO_DIRTY |
					    (variant->huge ?
					     MOCK_FLAGS_DEVICE_HUGE_IOVA : 0),
					    &stdev2, &plain, &idev2));
	len = 0;
	ASSERT_EQ(0, get_hw_info(self->fd, idev2, NULL, &len, NULL, &caps));
	EXPECT_EQ(0, caps);
	/* ... cannot have such a page table, nor attach to one */
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_full(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				     idev2, self->ioas_id, IOMMU_HWPT_DATA_NONE,
				     NULL, 0, &hwpt2));
	hwpt2 = self->hwpt_id;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, stdev2, &hwpt2));
	/* A page table made without dirty tracking has none */
	EXPECT_ERRNO(EOPNOTSUPP, set_dirty_tracking(self->fd, plain, true));
	get.hwpt_id = plain;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
}

/*
 * What this series refuses and mainline 6.12 takes: a page size that is
 * not a power of two (mainline reads it as its lowest bit), and a bitmap
 * that cannot be written while there are dirty bits to write (mainline
 * returns 0, the bits lost).  Skipped there.
 */
TEST_F(dirty, refused_here)
{
	void *ro = mmap(NULL, PAGE_SIZE, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 one = 1;

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	if (!get_dirty_bitmap(self->fd, self->hwpt_id, MOCK_APERTURE_START,
			      variant->buffer_size, 3, self->bitmap, 0))
		SKIP(return, "a page size of 3 is taken (mainline)");
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, MOCK_APERTURE_START,
				MOCK_PAGE_SIZE, MOCK_PAGE_SIZE, &one, NULL));
	EXPECT_ERRNO(EFAULT, get_dirty_bitmap(self->fd, self->hwpt_id,
					      MOCK_APERTURE_START,
					      variant->buffer_size,
					      variant->page_size, ro, 0));
	munmap(ro, PAGE_SIZE);
	/* The test op only within the mock aperture (it looped for ages) */
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, 0, 1ULL << 62,
					1ULL << 62, &one, NULL));
}

/*
 * A report larger than one window of the bitmap (what iova_bitmap pins at
 * once: 2 MiB of bitmap, 16 Mi bits), the bitmap at an offset in its
 * page: dirty pages on both sides of a window's end are all reported
 * once, and cleared.  A domain of large mock pages maps with a large page
 * wherever the buffer happens to be physically contiguous, and reports a
 * large page whole, as an IOMMU does with a dirty large IOPTE: there the
 * report may reach the ends of the large pages around the dirty ones.
 */
TEST_F(dirty, across_bitmap_windows)
{
	const size_t length = 32 * MB, bytes = length / 8 + PAGE_SIZE;
	const __u64 iova = MOCK_APERTURE_START + 64 * MB;
	const size_t first = 16 * MB - 8 * MOCK_PAGE_SIZE;
	const size_t end = 16 * MB + 8 * MOCK_PAGE_SIZE;
	const size_t gran = variant->huge ? MOCK_HUGE_PAGE_SIZE : MOCK_PAGE_SIZE;
	/* The large pages holding the first and the last dirty byte */
	const size_t lo = (iova + first) / gran * gran - iova;
	const size_t hi = (iova + end + gran - 1) / gran * gran - iova;
	__u64 ones[2] = { ~0ULL, ~0ULL };
	bool left, right;
	void *buf = alloc_buffer(length, 2 * MB);
	size_t i, set = 0;
	__u64 *bits;
	char *map;

	ASSERT_NE(NULL, buf);
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	bits = (__u64 *)(map + 8);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf, length,
				    iova));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	/* 16 mock pages, 8 each side of 16 MiB, a byte a bit */
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id,
				iova + 16 * MB - 8 * MOCK_PAGE_SIZE,
				16 * MOCK_PAGE_SIZE, MOCK_PAGE_SIZE, ones,
				NULL));
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id, iova, length,
				      1, bits, 0));
	for (i = 0; i < length; i += 64) {
		if (!bits[i / 64])
			continue;
		set += __builtin_popcountll(bits[i / 64]);
		ASSERT_GE(i, lo);
		ASSERT_LT(i, hi);
	}
	for (i = first; i < end; i++)
		ASSERT_TRUE(bit_set(bits, i)) TH_LOG("byte %zu", i);
	/* Around them a large page is reported whole, or not at all */
	left = bit_set(bits, lo);
	for (i = lo; i < first; i++)
		ASSERT_EQ(left, bit_set(bits, i)) TH_LOG("byte %zu", i);
	right = bit_set(bits, end);
	for (i = end; i < hi; i++)
		ASSERT_EQ(right, bit_set(bits, i)) TH_LOG("byte %zu", i);
	EXPECT_EQ(end - first + (left ? first - lo : 0) + (right ? hi - end : 0),
		  set);
	memset(map, 0, bytes);
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id, iova, length,
				      1, bits, 0));
	for (i = 0; i < length / 64; i++)
		ASSERT_EQ(0, bits[i]) TH_LOG("word %zu", i);
	munmap(map, bytes);
}

TEST_HARNESS_MAIN
