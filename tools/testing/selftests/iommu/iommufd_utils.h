/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the iommufd selftests: thin wrappers of the ioctls and of
 * IOMMU_TEST_CMD, returning what ioctl() returns with errno set.
 */
#ifndef __SELFTEST_IOMMUFD_UTILS_H
#define __SELFTEST_IOMMUFD_UTILS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

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
#define PAGE_SIZE	4096UL
#define MB		(1024UL * 1024UL)
#define MAP_RW	(IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW	(MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define MOCK_PAGE_SIZE	(PAGE_SIZE / 2)

static inline int ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}

static inline int obj_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

static inline int option(int fd, __u32 option_id, __u16 op, __u32 object_id,
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

static inline int vfio_ioas(int fd, __u16 op, __u32 *ioas_id)
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

/* A value of /proc/PID/status in kB, as VmPin or VmLck (0: self). */
static inline long proc_pid_status_kb(pid_t pid, const char *key)
{
	char line[256], path[64];
	long val = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ':') {
			val = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static inline long proc_status_kb(const char *key)
{
	return proc_pid_status_kb(0, key);
}

static inline int ioas_map(int fd, __u32 ioas_id, void *buf, __u64 length,
			   __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)buf,
		.length = length,
		.iova = *iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);
	*iova = cmd.iova;
	return rc;
}

static inline int ioas_map_fixed(int fd, __u32 ioas_id, void *buf, __u64 length,
				 __u64 iova)
{
	return ioas_map(fd, ioas_id, buf, length, &iova, MAP_FIXED_RW);
}

static inline int ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 length,
			     __u64 *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
	if (unmapped)
		*unmapped = cmd.length;
	return rc;
}

static inline int ioas_copy(int fd, __u32 dst, __u32 src, __u64 src_iova,
			    __u64 length, __u64 *dst_iova, __u32 flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_COPY, &cmd);
	*dst_iova = cmd.dst_iova;
	return rc;
}

static inline int iova_ranges(int fd, __u32 ioas_id, struct iommu_iova_range *r,
			      __u32 *num, __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)r,
	};
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	*num = cmd.num_iovas;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return rc;
}

static inline int allow_iovas(int fd, __u32 ioas_id, struct iommu_iova_range *r,
			      __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)r,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static inline int add_reserved(int fd, __u32 ioas_id, __u64 start, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_id,
		.add_reserved = { .start = start, .length = length },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * The byte at offset @off of a test buffer: it depends on the page and on
 * the offset in it, so that a wrong page or offset reads back wrong.
 */
static inline uint8_t buf_byte(size_t off)
{
	return (uint8_t)(off * 31 + (off >> 12) * 7 + 0x5a);
}

static inline void *__alloc_buffer(size_t size, size_t align, int advice)
{
	uint8_t *area, *p;
	size_t i;

	area = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)area + align - 1) & ~(align - 1));
	if (advice && madvise(p, size, advice)) {
		munmap(area, size + align);
		return NULL;
	}
	for (i = 0; i < size; i++)
		p[i] = buf_byte(i);
	return p;
}

static inline void *alloc_buffer(size_t size, size_t align)
{
	return __alloc_buffer(size, align, 0);
}

/* The AnonHugePages of /proc/self/smaps_rollup in kB, or -1 */
static inline long anon_huge_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps_rollup", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Memory of transparent huge pages (the test kernel has THP in madvise
 * mode), 2 MiB aligned: what the mock's large IOMMU pages map.  NULL with
 * errno ENOMEM when the kernel gave small pages instead.
 */
static inline void *alloc_buffer_thp(size_t size)
{
	long before = anon_huge_kb();
	void *p = __alloc_buffer(size, 2 * MB, MADV_HUGEPAGE);

	if (p && anon_huge_kb() - before < (long)(size / 1024)) {
		munmap(p, size);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

static inline int mock_domain(int fd, __u32 pt_id, __u32 *stdev_id,
			      __u32 *hwpt_id, __u32 *idev_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (rc)
		return rc;
	if (stdev_id)
		*stdev_id = cmd.mock_domain.out_stdev_id;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain.out_idev_id;
	return 0;
}

/*
 * A mock device with MOCK_FLAGS_DEVICE_* @dev_flags, attached to @pt_id;
 * @idev_id may be NULL.
 */
static inline int mock_domain_flags_idev(int fd, __u32 pt_id, __u32 dev_flags,
					 __u32 *stdev_id, __u32 *hwpt_id,
					 __u32 *idev_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (rc)
		return rc;
	if (stdev_id)
		*stdev_id = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

static inline int mock_domain_flags(int fd, __u32 pt_id, __u32 dev_flags,
				    __u32 *stdev_id, __u32 *hwpt_id)
{
	return mock_domain_flags_idev(fd, pt_id, dev_flags, stdev_id, hwpt_id,
				      NULL);
}

/* IOMMU_HWPT_ALLOC: a paging page table of @pt_id for device @dev_id */
static inline int hwpt_alloc(int fd, __u32 dev_id, __u32 pt_id,
			     __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.pt_id = pt_id,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/*
 * IOMMU_HWPT_ALLOC with every field given: *@hwpt_id is written only on
 * success.
 */
static inline int hwpt_alloc_full(int fd, __u32 flags, __u32 dev_id,
				  __u32 pt_id, __u32 data_type, void *data,
				  __u32 data_len, __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc;

	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/*
 * IOMMU_GET_HW_INFO of device @dev_id into @data, of *@data_len bytes;
 * *@data_len returns the length of the whole report.  @type and @caps may
 * be NULL.
 */
static inline int get_hw_info(int fd, __u32 dev_id, void *data,
			      __u32 *data_len, __u32 *type, __u64 *caps)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = *data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc;

	rc = ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
	if (rc)
		return rc;
	*data_len = cmd.data_len;
	if (type)
		*type = cmd.out_data_type;
	if (caps)
		*caps = cmd.out_capabilities;
	return 0;
}

static inline int set_dirty_tracking(int fd, __u32 hwpt_id, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
	};

	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static inline int get_dirty_bitmap(int fd, __u32 hwpt_id, __u64 iova,
				   __u64 length, __u64 page_size, void *data,
				   __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)data,
	};

	return ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/*
 * IOMMU_TEST_OP_DIRTY: the pages of the mock page table whose bits are set
 * in @bitmap, a bit for each @page_size bytes from @iova, become dirty;
 * *@nr returns the number of bits set.
 */
static inline int mock_dirty(int fd, __u32 hwpt_id, __u64 iova,
			     __u64 length, __u64 page_size, void *bitmap,
			     __u64 *nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt_id,
		.dirty = {
			.iova = iova,
			.length = length,
			.page_size = page_size,
			.uptr = (uintptr_t)bitmap,
		},
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static inline int check_map(int fd, __u32 hwpt_id, __u64 iova, void *buf,
			    __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)buf,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* The mock's small and large IOMMU pages */
#define MOCK_HUGE_PAGE_SIZE	(512 * MOCK_PAGE_SIZE)

/*
 * IOMMU_TEST_OP_MD_CHECK_PTE: [iova, iova + length) of the mock page table
 * is mapped with exactly @perm (MAP_RW bits) by entries of @page_size.
 */
static inline int check_pte(int fd, __u32 hwpt_id, __u64 iova, __u64 length,
			    __u64 page_size, __u32 perm)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_PTE,
		.id = hwpt_id,
		.check_pte = {
			.iova = iova,
			.length = length,
			.page_size = page_size,
			.perm = perm,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * IOMMU_TEST_OP_MD_CHECK_PTE is an extension of this series: mainline
 * answers EOPNOTSUPP, as for any op it does not know, where the series
 * refuses the zero length with EINVAL.
 */
static inline bool have_check_pte(int fd)
{
	return check_pte(fd, 0, 0, 0, 0, 0) && errno != EOPNOTSUPP;
}

static inline int drop_cap(int cap)
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

static inline int check_refs(int fd, void *buf, __u64 length, __u32 refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = {
			.length = length,
			.uptr = (uintptr_t)buf,
			.refs = refs,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * Once the iommufd that mapped @buf is closed no page of it may stay
 * pinned.  VmPin is the accounting, which cannot show a leaked or a
 * never-taken pin: MD_CHECK_REFS counts each page's pins.  Returns 0 or
 * -1 with errno (EIO: a page is still pinned).
 */
static inline int check_unpinned(void *buf, size_t length)
{
	int fd, rc;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -1;
	rc = check_refs(fd, buf, length, 0);
	close(fd);
	return rc;
}

/*
 * IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: pages per pinning call.  Less than
 * PIN_BATCH_MIN is refused (EINVAL), as on mainline; PIN_BATCH_NONE is
 * more than any pinning call takes, the default.
 */
#define PIN_BATCH_MIN	12U
#define PIN_BATCH_NONE	0x40000000U

static inline int set_pin_batch(int fd, __u32 pages)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = pages },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int create_access_flags(int fd, __u32 ioas_id, __u32 flags,
				      int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id,
		.create_access = { .flags = flags },
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	*access_fd = cmd.create_access.out_access_fd;
	return rc;
}

/* An access that may pin pages (IOMMU_TEST_OP_ACCESS_PAGES) and rw. */
static inline int create_access(int fd, __u32 ioas_id, int *access_fd)
{
	return create_access_flags(fd, ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   access_fd);
}

static inline int access_pages(int fd, int access_fd, __u64 iova,
			       __u64 length, void *uptr, __u32 flags,
			       __u32 *item_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = {
			.flags = flags,
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)uptr,
		},
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	if (item_id)
		*item_id = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline int access_pages_destroy(int fd, int access_fd, __u32 item_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access_fd,
		.destroy_access_pages = { .access_pages_id = item_id },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* IOMMU_TEST_OP_ACCESS_UNPIN, a series extension: EOPNOTSUPP elsewhere */
static inline int access_unpin(int fd, int access_fd, __u64 iova,
			       __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_UNPIN,
		.id = access_fd,
		.access_unpin = { .iova = iova, .length = length },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int access_rw(int fd, int access_fd, __u64 iova, void *buf,
			    __u64 length, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_fd,
		.access_rw = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)buf,
			.flags = flags,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int mock_domain_replace(int fd, __u32 stdev_id, __u32 *pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id,
		.mock_domain_replace = { .pt_id = *pt_id },
	};
	int rc;

	rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	*pt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

static inline int access_replace_ioas(int fd, int access_fd, __u32 ioas_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = access_fd,
		.access_replace_ioas = { .ioas_id = ioas_id },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * A test that makes the kernel warn on purpose brackets the call with
 * these: the rig's log reader (testbed/results.py) takes a WARN*() located
 * in @func for expected there, not a splat, and fails the run when none
 * comes.  expect_warn_begin() returns an fd on the kernel log (or -errno;
 * -EBUSY when panic_on_warn is set); expect_warn_end() closes it and
 * returns the number of such warnings logged in between.
 */
static inline int expect_warn_begin(const char *func)
{
	char buf[16] = "", buf2[128];
	int fd, log;

	fd = open("/proc/sys/kernel/panic_on_warn", O_RDONLY);
	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf) - 1) < 0) {
		close(fd);
		return -EIO;
	}
	close(fd);
	if (atoi(buf))
		return -EBUSY;
	log = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (log < 0)
		return -errno;
	if (lseek(log, 0, SEEK_END) < 0) {
		close(log);
		return -EIO;
	}
	/* One write() per record; dprintf() would first seek, EINVAL here. */
	snprintf(buf2, sizeof(buf2), "testbed: EXPECT WARN %s\n", func);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || write(fd, buf2, strlen(buf2)) < 0) {
		close(log);
		return -EIO;
	}
	close(fd);
	return log;
}

static inline int expect_warn_end(int log, const char *func)
{
	char rec[2048], needle[128];
	int n = 0, fd;
	ssize_t len;

	snprintf(needle, sizeof(needle), " %s+0x", func);
	for (;;) {
		len = read(log, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (len <= 0)
			break;
		rec[len] = 0;
		if (strstr(rec, ";WARNING: CPU: ") && strstr(rec, needle))
			n++;
	}
	close(log);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || write(fd, "testbed: EXPECT END\n", 20) != 20)
		n = -EIO;
	if (fd >= 0)
		close(fd);
	return n;
}

#endif
