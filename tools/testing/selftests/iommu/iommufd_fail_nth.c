// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection sweep over iommufd: for each flow of ioctls, fail the
 * 1st, 2nd, ... allocation or iommufd injection site (failslab,
 * fail_page_alloc and fail_iommufd, through /proc/self/task/TID/fail-nth)
 * until a run hits none.  Every run must unwind cleanly: no kernel warning
 * (panic_on_warn is set, so one would stop the machine), nothing left
 * pinned once the iommufd is closed (VmPin, and each page's pin count).
 * A call that succeeds although a fault was armed must have done all of
 * its work: its result is checked, with the fault held back meanwhile.
 * A second sweep fails iommufd's own injection points alone, one at a
 * time (fail_iommufd's "space"), which a flow that pins memory must meet.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <sys/types.h>

#include <linux/vfio.h>
#include "../kselftest_harness.h"
#include "iommufd_utils.h"

#define DEBUGFS	"/sys/kernel/debug"

static int write_file(const char *path, const char *val)
{
	int fd, rc = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		rc = -1;
	close(fd);
	return rc;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Make the three kinds of faults count for fail-nth, silently. */
static bool setup_fault_injection(void)
{
	static const char * const dirs[] = {
		"failslab", "fail_page_alloc", "fail_iommufd",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), DEBUGFS "/%s/verbose", dirs[i]);
		if (write_file(path, "0"))
			return false;
	}
	/*
	 * iommufd's own points fail in this process only: a program killed
	 * with a fault armed (at its time limit) must not leave the next
	 * one's calls failing.
	 */
	return !write_file(DEBUGFS "/failslab/ignore-gfp-wait", "N") &&
	       !write_file(DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N") &&
	       !write_file(DEBUGFS "/fail_page_alloc/min-order", "0") &&
	       !write_file(DEBUGFS "/fail_iommufd/task-filter", "Y") &&
	       !write_file("/proc/self/make-it-fail", "1");
}

/*
 * This thread's fail-nth, opened before any fault is armed: opening it to
 * disarm would itself allocate, and take the fault meant for the flow.
 */
static int fail_nth_fd = -1;

static int arm_fail_nth(unsigned int nth)
{
	char val[16];
	int len;

	len = snprintf(val, sizeof(val), "%u", nth);
	return pwrite(fail_nth_fd, val, len, 0) == len ? 0 : -1;
}

/* Returns true when the armed fault was hit (the count ran out). */
static bool disarm_fail_nth(void)
{
	char val[16] = "";

	if (pread(fail_nth_fd, val, sizeof(val) - 1, 0) < 0)
		val[0] = 0;
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		return false;
	return atoi(val) == 0;
}

/*
 * The second sweep fails iommufd's own injection points one at a time,
 * through fail_iommufd's attributes rather than fail-nth: "space" lets
 * that many calls pass before the one that fails, "times" 1 fails only
 * that one.  Slab and page allocations do not count there, so the sweep
 * does not depend on how many of those a run makes (that number varies
 * from run to run, and a fail-nth sweep can step over a point of ours).
 */
#define FAIL_IOMMUFD	DEBUGFS "/fail_iommufd/"
static bool own_sweep;

static long read_long(const char *path)
{
	char val[32];

	if (read_file(path, val, sizeof(val)))
		return -1;
	return atol(val);
}

static int write_long(const char *path, long v)
{
	char val[32];

	snprintf(val, sizeof(val), "%ld", v);
	return write_file(path, val);
}

/* Fail iommufd's own injection point number @nth (from 1) and no other. */
static int arm_own(unsigned int nth)
{
	if (write_long(FAIL_IOMMUFD "times", 1) ||
	    write_long(FAIL_IOMMUFD "space", nth) ||
	    write_long(FAIL_IOMMUFD "interval", 1))
		return -1;
	return write_long(FAIL_IOMMUFD "probability", 100);
}

/* Returns true when the armed point was reached. */
static bool disarm_own(void)
{
	bool hit = read_long(FAIL_IOMMUFD "times") == 0;

	write_long(FAIL_IOMMUFD "probability", 0);
	write_long(FAIL_IOMMUFD "space", 0);
	return hit;
}

/*
 * Hold the armed fault back while a result is checked, so that the check's
 * own calls do not take it; returns what resume_fault() re-arms.
 */
static unsigned int pause_fault(void)
{
	char val[16] = "";

	if (own_sweep) {
		write_long(FAIL_IOMMUFD "probability", 0);
		return 1;
	}
	if (pread(fail_nth_fd, val, sizeof(val) - 1, 0) < 0)
		return 0;
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		return 0;
	return atoi(val);
}

static void resume_fault(unsigned int left)
{
	if (own_sweep)
		write_long(FAIL_IOMMUFD "probability", 100);
	else if (left)
		arm_fail_nth(left);
}

static void *buf;
#define BUF_SIZE	(256 * 1024UL)
/*
 * Memory faulted in from its last page to its first, so that each page is
 * a physically contiguous run of its own: more runs than one pinning batch
 * (a page of page pointers) holds, and than the run array starts with.
 */
static unsigned char *frag;
#define FRAG_PAGES	530UL
#define FRAG_SIZE	(FRAG_PAGES * PAGE_SIZE)
/* Transparent huge pages, for the mock's large IOMMU pages */
static void *thp;
/* Whether IOMMU_TEST_OP_MD_CHECK_PTE exists, or -1 before it is known */
static int pte_checks = -1;
#define THP_SIZE	(4 * MB)

/*
 * Without a fault armed every call of a flow must succeed: count the
 * failures then, so that a flow that stopped working is noticed.
 */
static bool fault_armed;
static unsigned int unarmed_failures;
static int unarmed_failure_line, unarmed_failure_errno;

static int check_at(int rc, int line)
{
	if (rc && !fault_armed && !unarmed_failures++) {
		unarmed_failure_line = line;
		unarmed_failure_errno = errno;
	}
	return rc;
}

#define check(rc)	check_at(rc, __LINE__)

/* Successful calls whose result was wrong, armed or not */
static unsigned int wrong_results;
static int wrong_result_line;

#define verify(ok)							\
	do {								\
		unsigned int __left = pause_fault();			\
									\
		if (!(ok) && !wrong_results++)				\
			wrong_result_line = __LINE__;			\
		resume_fault(__left);					\
	} while (0)

/* Does a new access on @ioas read @len bytes at @iova equal to @want? */
static bool reads_back(int fd, __u32 ioas, __u64 iova, const void *want,
		       size_t len)
{
	static unsigned char tmp[FRAG_SIZE];
	int access_fd;
	bool ok;

	if (len > sizeof(tmp) || create_access(fd, ioas, &access_fd))
		return false;
	ok = !access_rw(fd, access_fd, iova, tmp, len, 0) &&
	     !memcmp(tmp, want, len);
	close(access_fd);
	return ok;
}

/* Open an iommufd with one IOAS; on failure nothing is left open. */
static int open_ioas(int *fd, __u32 *ioas)
{
	*fd = open("/dev/iommu", O_RDWR);
	if (check(*fd < 0 ? -1 : 0))
		return -1;
	if (check(ioas_alloc(*fd, ioas))) {
		close(*fd);
		return -1;
	}
	return 0;
}

/*
 * The flows: each opens /dev/iommu, does its calls whatever fails, and
 * closes it, which must release everything.
 */
static void flow_ioas(void)
{
	struct iommu_iova_range r[4];
	__u64 iova = 0, dst = 0;
	__u32 ioas, ioas2, num = 4;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	if (check(fd < 0 ? -1 : 0))
		return;
	/* Small batches: faults land between pinning calls too. */
	if (check(set_pin_batch(fd, PIN_BATCH_MIN)) ||
	    check(ioas_alloc(fd, &ioas)) ||
	    check(ioas_alloc(fd, &ioas2)))
		goto out;
	if (!check(ioas_map(fd, ioas, buf, BUF_SIZE, &iova, MAP_RW)))
		verify(reads_back(fd, ioas, iova, buf, BUF_SIZE));
	if (!check(ioas_copy(fd, ioas2, ioas, iova, BUF_SIZE, &dst, MAP_RW)))
		verify(reads_back(fd, ioas2, dst, buf, BUF_SIZE));
	if (!check(iova_ranges(fd, ioas, r, &num, NULL)))
		verify(num == 1 && r[0].start == 0 && r[0].last == UINT64_MAX);
	check(ioas_unmap(fd, ioas, 0, UINT64_MAX, NULL));
	check(obj_destroy(fd, ioas));
out:
	close(fd);
}

static void flow_ranges(void)
{
	struct iommu_iova_range r[2] = {
		{ .start = MOCK_APERTURE_START, .last = MOCK_APERTURE_LAST },
	};
	__u64 iova = 0;
	__u32 ioas, hwpt;
	bool allowed, mapped;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	allowed = !check(allow_iovas(fd, ioas, r, 1));
	check(add_reserved(fd, ioas, 0, PAGE_SIZE));
	mapped = !check(ioas_map(fd, ioas, buf, BUF_SIZE, &iova, MAP_RW));
	if (mapped && allowed)
		verify(iova >= MOCK_APERTURE_START &&
		       iova + BUF_SIZE - 1 <= MOCK_APERTURE_LAST);
	if (!check(mock_domain(fd, ioas, NULL, &hwpt, NULL)) && mapped)
		verify(!check_map(fd, hwpt, iova, buf, BUF_SIZE));
	close(fd);
}

/* Is [x, x + len) clear of [start, start + len2)? */
static bool clear_of(__u64 x, __u64 len, __u64 start, __u64 len2)
{
	return x >= start + len2 || x + len <= start;
}

static void __flow_mock_domain(bool huge_pages)
{
	__u32 ioas, ioas2, stdev, hwpt, pt_id;
	__u64 iova, dst = 0, dst2 = 0, off = 0;
	bool first, second, mapped, copied;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	if (!huge_pages)
		check(option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			     ioas, &off));
	/*
	 * Inside the mock aperture, so that the attach can take it: two
	 * areas, so that a fault while filling the domain unwinds one.
	 */
	iova = MOCK_APERTURE_START;
	first = !check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE / 2, iova));
	second = !check(ioas_map_fixed(fd, ioas, buf + BUF_SIZE / 2,
				       BUF_SIZE / 2, iova + BUF_SIZE / 2));
	if (check(mock_domain(fd, ioas, &stdev, &hwpt, NULL)))
		goto out;
	if (first)
		verify(!check_map(fd, hwpt, iova, buf, BUF_SIZE / 2));
	if (second)
		verify(!check_map(fd, hwpt, iova + BUF_SIZE / 2,
				  buf + BUF_SIZE / 2, BUF_SIZE / 2));
	mapped = !check(ioas_map(fd, ioas, buf, BUF_SIZE, &dst, MAP_RW));
	if (mapped)
		verify(!check_map(fd, hwpt, dst, buf, BUF_SIZE));
	copied = !check(ioas_copy(fd, ioas, ioas, iova, BUF_SIZE / 2, &dst2,
				  MAP_RW));
	if (copied)
		verify(!check_map(fd, hwpt, dst2, buf, BUF_SIZE / 2));
	/*
	 * A second device shares the domain, or, when a fault stopped that
	 * (mainline then makes another), has one that maps the same.
	 */
	if (!check(mock_domain(fd, ioas, NULL, &pt_id, NULL)))
		verify(pt_id == hwpt ||
		       ((!first || !check_map(fd, pt_id, iova, buf,
					      BUF_SIZE / 2)) &&
			(!mapped || !check_map(fd, pt_id, dst, buf,
					       BUF_SIZE))));
	if (!check(ioas_unmap(fd, ioas, iova, BUF_SIZE, NULL))) {
		verify(check_map(fd, hwpt, iova, buf, MOCK_PAGE_SIZE) &&
		       errno == EINVAL);
		/* What the kernel placed there went with it. */
		mapped = mapped && clear_of(dst, BUF_SIZE, iova, BUF_SIZE);
		copied = copied && clear_of(dst2, BUF_SIZE / 2, iova, BUF_SIZE);
	}
	/* Move the device to another IOAS and back. */
	if (!check(ioas_alloc(fd, &ioas2))) {
		first = !check(ioas_map_fixed(fd, ioas2, buf, BUF_SIZE,
					      MOCK_APERTURE_START));
		pt_id = ioas2;
		if (!check(mock_domain_replace(fd, stdev, &pt_id)) && first)
			verify(pt_id != hwpt &&
			       !check_map(fd, pt_id, MOCK_APERTURE_START, buf,
					  BUF_SIZE));
		pt_id = ioas;
		if (!check(mock_domain_replace(fd, stdev, &pt_id))) {
			if (mapped)
				verify(!check_map(fd, pt_id, dst, buf,
						  BUF_SIZE));
			if (copied)
				verify(!check_map(fd, pt_id, dst2, buf,
						  BUF_SIZE / 2));
		}
	}
	check(obj_destroy(fd, stdev));
out:
	close(fd);
}

static void flow_mock_domain(void)
{
	__flow_mock_domain(true);
}

/* IOMMU_OPTION_HUGE_PAGES off: the page-by-page map path */
static void flow_mock_domain_small_pages(void)
{
	__flow_mock_domain(false);
}

static void flow_access(void)
{
	__u64 iova = 0x100000;
	unsigned char tmp[64];
	int fd, access_fd;
	__u32 ioas;

	if (open_ioas(&fd, &ioas))
		return;
	/*
	 * Pinned in several batches: iommufd's own injection points are
	 * then several, and a sweep cannot miss them all when the order of
	 * the other points shifts from one run to the next (it did once,
	 * with one batch: "0 of them iommufd's own").
	 */
	check(set_pin_batch(fd, PIN_BATCH_MIN));
	check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE, iova));
	if (check(create_access(fd, ioas, &access_fd)))
		goto out;
	/* It checks itself that the pages it pinned are those of buf. */
	check(access_pages(fd, access_fd, iova, BUF_SIZE, buf, 0, NULL));
	memset(tmp, 0, sizeof(tmp));
	if (!check(access_rw(fd, access_fd, iova + 100, tmp, sizeof(tmp), 0)))
		verify(!memcmp(tmp, (unsigned char *)buf + 100, sizeof(tmp)));
	tmp[0] ^= 0xff;
	if (!check(access_rw(fd, access_fd, iova + 100, tmp, sizeof(tmp),
			     MOCK_ACCESS_RW_WRITE)))
		verify(!memcmp(tmp, (unsigned char *)buf + 100, sizeof(tmp)));
	/* The unmap calls the access back to unpin. */
	check(ioas_unmap(fd, ioas, 0, UINT64_MAX, NULL));
	close(access_fd);
out:
	close(fd);
}

/*
 * A fragmented mapping: more runs than a pinning batch, and than one
 * scatterlist of the domain fill takes, mapped into a domain at its
 * attach, and read through an access.
 */
static void flow_fragmented(void)
{
	__u64 iova = MOCK_APERTURE_START;
	__u32 ioas, hwpt;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	if (!check(ioas_map_fixed(fd, ioas, frag, FRAG_SIZE, iova)) &&
	    !check(mock_domain(fd, ioas, NULL, &hwpt, NULL))) {
		verify(!check_map(fd, hwpt, iova, frag, FRAG_SIZE));
		verify(reads_back(fd, ioas, iova, frag, FRAG_SIZE));
	}
	close(fd);
}

/*
 * Large IOMMU pages: huge-page memory into a MOCK_FLAGS_DEVICE_HUGE_IOVA
 * domain, at the attach and after it, under every fault; every unmap of a
 * large entry, the unwinds included, is checked to take it whole (the
 * mock WARNs otherwise, and panic_on_warn is set).  Not shown to reach a
 * failure in the middle of a large entry's stores: with the mock's unwind
 * of that case taken out, the sweep still passed.
 */
static void flow_huge(void)
{
	__u64 iova = MOCK_APERTURE_START + 2 * MB;
	__u32 ioas, hwpt;
	bool first;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	first = !check(ioas_map_fixed(fd, ioas, thp, THP_SIZE / 2, iova));
	if (!check(mock_domain_flags(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA,
				     NULL, &hwpt))) {
		if (first)
			verify(!check_map(fd, hwpt, iova, thp, THP_SIZE / 2));
		if (!check(ioas_map_fixed(fd, ioas, (char *)thp + THP_SIZE / 2,
					  THP_SIZE / 2, iova + THP_SIZE / 2)))
			verify(!check_map(fd, hwpt, iova + THP_SIZE / 2,
					  (char *)thp + THP_SIZE / 2,
					  THP_SIZE / 2));
		check(ioas_unmap(fd, ioas, iova, THP_SIZE, NULL));
	}
	close(fd);
}

/*
 * Two page tables on one IOAS (a plain mock domain and one for a
 * MOCK_FLAGS_DEVICE_HUGE_IOVA device): mappings made before and after the
 * second attach, a copy, and the unmap reach both.
 */
static void flow_two_domains(void)
{
	__u64 iova = MOCK_APERTURE_START, dst = 0;
	__u32 ioas, hwpt, hwpt2;
	bool first, second, copied;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	first = !check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE, iova));
	if (check(mock_domain(fd, ioas, NULL, &hwpt, NULL)) ||
	    check(mock_domain_flags(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA,
				    NULL, &hwpt2)))
		goto out;
	if (first)
		verify(!check_map(fd, hwpt, iova, buf, BUF_SIZE) &&
		       !check_map(fd, hwpt2, iova, buf, BUF_SIZE));
	second = !check(ioas_map_fixed(fd, ioas, thp, THP_SIZE / 2,
				       iova + 2 * MB));
	if (second)
		verify(!check_map(fd, hwpt, iova + 2 * MB, thp, THP_SIZE / 2) &&
		       !check_map(fd, hwpt2, iova + 2 * MB, thp,
				  THP_SIZE / 2));
	copied = first && !check(ioas_copy(fd, ioas, ioas, iova, BUF_SIZE,
					   &dst, MAP_RW));
	if (copied)
		verify(!check_map(fd, hwpt, dst, buf, BUF_SIZE) &&
		       !check_map(fd, hwpt2, dst, buf, BUF_SIZE));
	if (!check(ioas_unmap(fd, ioas, 0, UINT64_MAX, NULL)))
		verify(check_map(fd, hwpt2, iova, buf, MOCK_PAGE_SIZE) &&
		       errno == EINVAL);
out:
	close(fd);
}

/*
 * An access that pins where a page table holds the memory already: its
 * pins are taken from the page table's, and given back at the unmap.
 */
static void flow_access_domain(void)
{
	__u64 iova = MOCK_APERTURE_START;
	unsigned char tmp[64];
	int fd, access_fd;
	__u32 ioas, hwpt;

	if (open_ioas(&fd, &ioas))
		return;
	check(set_pin_batch(fd, PIN_BATCH_MIN));
	if (check(mock_domain(fd, ioas, NULL, &hwpt, NULL)))
		goto out;
	check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE, iova));
	if (check(create_access(fd, ioas, &access_fd)))
		goto out;
	check(access_pages(fd, access_fd, iova + PAGE_SIZE, 8 * PAGE_SIZE,
			   (char *)buf + PAGE_SIZE, MOCK_FLAGS_ACCESS_WRITE,
			   NULL));
	if (!check(access_rw(fd, access_fd, iova + 100, tmp, sizeof(tmp), 0)))
		verify(!memcmp(tmp, (unsigned char *)buf + 100, sizeof(tmp)));
	/* The unmap calls the access back to unpin. */
	check(ioas_unmap(fd, ioas, 0, UINT64_MAX, NULL));
	close(access_fd);
out:
	close(fd);
}

/*
 * A page table the user makes (IOMMU_HWPT_ALLOC) over a mapped IOAS, the
 * device moved onto it and back, the IOMMU's report read on the way.
 */
static void flow_hwpt(void)
{
	__u64 iova = MOCK_APERTURE_START, caps;
	__u32 ioas, stdev, idev, hwpt, pt_id, len, type;
	struct iommu_test_hw_info info;
	bool mapped;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	mapped = !check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE, iova));
	if (check(mock_domain(fd, ioas, &stdev, NULL, &idev)))
		goto out;
	len = sizeof(info);
	if (!check(get_hw_info(fd, idev, &info, &len, &type, &caps)))
		verify(len == sizeof(info) &&
		       type == IOMMU_HW_INFO_TYPE_SELFTEST &&
		       info.test_reg == IOMMU_HW_INFO_SELFTEST_REGVAL);
	if (check(hwpt_alloc(fd, idev, ioas, &hwpt)))
		goto out;
	if (mapped)
		verify(!check_map(fd, hwpt, iova, buf, BUF_SIZE));
	pt_id = hwpt;
	if (!check(mock_domain_replace(fd, stdev, &pt_id)) && mapped)
		verify(pt_id == hwpt &&
		       !check_map(fd, hwpt, iova, buf, BUF_SIZE));
	pt_id = ioas;
	check(mock_domain_replace(fd, stdev, &pt_id));
	check(obj_destroy(fd, hwpt));
out:
	close(fd);
}

/*
 * Dirty tracking: a page table made for it, the device moved onto it,
 * tracking on, pages made dirty, the report read and checked, tracking
 * off.
 */
static void flow_dirty(void)
{
	__u64 iova = MOCK_APERTURE_START, set[2] = { 0x5, 0 }, got[2], nr;
	__u32 ioas, stdev, idev, hwpt, pt_id;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	if (check(ioas_map_fixed(fd, ioas, buf, BUF_SIZE, iova)) ||
	    check(mock_domain(fd, ioas, &stdev, NULL, &idev)) ||
	    check(hwpt_alloc_full(fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev,
				  ioas, IOMMU_HWPT_DATA_NONE, NULL, 0, &hwpt)))
		goto out;
	pt_id = hwpt;
	if (check(mock_domain_replace(fd, stdev, &pt_id)) ||
	    check(set_dirty_tracking(fd, hwpt, true)) ||
	    check(mock_dirty(fd, hwpt, iova, 64 * PAGE_SIZE, MOCK_PAGE_SIZE,
			     set, &nr)))
		goto out;
	memset(got, 0, sizeof(got));
	if (!check(get_dirty_bitmap(fd, hwpt, iova, 64 * PAGE_SIZE,
				    MOCK_PAGE_SIZE, got, 0)))
		verify(nr == 2 && got[0] == set[0] && !got[1]);
	check(set_dirty_tracking(fd, hwpt, false));
out:
	close(fd);
}

/*
 * An iommufd whose IOAS serves the VFIO type1 ioctls, in v1, with a mock
 * page table; on failure nothing is left open.
 */
static int open_compat_v1(int *fd, __u32 *ioas, __u32 *hwpt)
{
	if (open_ioas(fd, ioas))
		return -1;
	if (check(vfio_ioas(*fd, IOMMU_VFIO_IOAS_SET, ioas)) ||
	    check(ioctl(*fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) ||
	    check(mock_domain(*fd, *ioas, NULL, hwpt, NULL))) {
		close(*fd);
		return -1;
	}
	return 0;
}

/* VFIO_IOMMU_MAP_DMA of @len bytes of @vaddr at @iova, read and write */
static int compat_map(int fd, void *vaddr, __u64 iova, __u64 len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

/*
 * VFIO_IOMMU_UNMAP_DMA of [iova, iova + len), or of everything for a zero
 * @len; *@unmapped is the size it reports.
 */
static int compat_unmap(int fd, __u64 iova, __u64 len, __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = len ? 0 : VFIO_DMA_UNMAP_FLAG_ALL,
		.iova = iova,
		.size = len,
	};
	int rc;

	rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	*unmapped = unmap.size;
	return rc;
}

/*
 * The VFIO type1 ioctls on an iommufd, v1: a fragmented mapping (more runs
 * than a chunk holds) of which a page in the middle is unmapped, which
 * cuts it twice.
 */
static void flow_vfio_compat(void)
{
	__u64 base = MOCK_APERTURE_START, cut = base + 300 * PAGE_SIZE;
	struct vfio_iommu_type1_info *info;
	__u64 info_buf[32] = {}, size;
	__u32 ioas, hwpt;
	bool mapped;
	int fd;

	if (open_compat_v1(&fd, &ioas, &hwpt))
		return;
	mapped = !check(compat_map(fd, frag, base, FRAG_SIZE));
	info = (void *)info_buf;
	info->argsz = sizeof(info_buf);
	if (!check(ioctl(fd, VFIO_IOMMU_GET_INFO, info)))
		verify(info->cap_offset == sizeof(*info) &&
		       info->iova_pgsizes == PAGE_SIZE);
	if (mapped && !check(compat_unmap(fd, cut, PAGE_SIZE, &size)))
		verify(size == PAGE_SIZE &&
		       !check_map(fd, hwpt, base, frag, cut - base) &&
		       !check_map(fd, hwpt, cut + PAGE_SIZE,
				  frag + (cut - base) + PAGE_SIZE,
				  FRAG_SIZE - (cut - base) - PAGE_SIZE) &&
		       !check_refs(fd, frag + (cut - base), PAGE_SIZE, 0));
	check(compat_unmap(fd, 0, 0, &size));
	close(fd);
}

/*
 * A v1 mapping copied whole into a second IOAS with a page table, which
 * shares its fill, then cut: the cut copies the shared fill in two, and
 * the copy stays whole.
 */
static void flow_vfio_compat_copy(void)
{
	__u64 base = MOCK_APERTURE_START, cut = base + 5 * PAGE_SIZE;
	__u64 len = 16 * PAGE_SIZE, dst = base, size;
	__u32 ioas, ioas2, hwpt, hwpt2;
	unsigned char *mem = buf;
	bool copied;
	int fd;

	if (open_compat_v1(&fd, &ioas, &hwpt))
		return;
	if (check(ioas_alloc(fd, &ioas2)) ||
	    check(mock_domain(fd, ioas2, NULL, &hwpt2, NULL)) ||
	    check(compat_map(fd, mem, base, len)))
		goto out;
	copied = !check(ioas_copy(fd, ioas2, ioas, base, len, &dst,
				  MAP_FIXED_RW));
	if (!check(compat_unmap(fd, cut, PAGE_SIZE, &size)))
		verify(size == PAGE_SIZE &&
		       !check_map(fd, hwpt, base, mem, cut - base) &&
		       !check_map(fd, hwpt, cut + PAGE_SIZE,
				  mem + (cut - base) + PAGE_SIZE,
				  len - (cut - base) - PAGE_SIZE) &&
		       !check_refs(fd, mem + (cut - base), PAGE_SIZE,
				   copied ? 1 : 0));
	if (copied)
		verify(!check_map(fd, hwpt2, base, mem, len) &&
		       !check_refs(fd, mem, len, 1));
	check(compat_unmap(fd, 0, 0, &size));
out:
	close(fd);
}

/*
 * v1 with a page table of large pages: a mapping of huge pages keeps them,
 * and a page unmapped in the middle splits the large page holding it (the
 * page sizes are checked where IOMMU_TEST_OP_MD_CHECK_PTE, an extension of
 * this series, exists).  A failed unmap leaves the mapping whole, its
 * translations unchanged.
 */
static void flow_vfio_compat_split(void)
{
	__u64 base = MOCK_APERTURE_START, huge = MOCK_HUGE_PAGE_SIZE;
	__u64 cut = base + huge + 5 * PAGE_SIZE, size;
	unsigned char *mem = thp;
	__u32 ioas, hwpt;
	int fd;

	if (open_ioas(&fd, &ioas))
		return;
	if (check(vfio_ioas(fd, IOMMU_VFIO_IOAS_SET, &ioas)) ||
	    check(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) ||
	    check(mock_domain_flags(fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA,
				    NULL, &hwpt)) ||
	    check(compat_map(fd, mem, base, THP_SIZE)))
		goto out;
	if (!check(compat_unmap(fd, cut, PAGE_SIZE, &size)))
		verify(size == PAGE_SIZE &&
		       !check_map(fd, hwpt, base, mem, cut - base) &&
		       !check_map(fd, hwpt, cut + PAGE_SIZE,
				  mem + (cut - base) + PAGE_SIZE,
				  THP_SIZE - (cut - base) - PAGE_SIZE) &&
		       (!pte_checks ||
			(!check_pte(fd, hwpt, base, huge, huge, MAP_RW) &&
			 !check_pte(fd, hwpt, base + huge, 5 * PAGE_SIZE,
				    MOCK_PAGE_SIZE, MAP_RW) &&
			 !check_pte(fd, hwpt, base + 2 * huge,
				    THP_SIZE - 2 * huge, huge, MAP_RW))));
	else
		verify(!check_map(fd, hwpt, base, mem, THP_SIZE));
	check(compat_unmap(fd, 0, 0, &size));
out:
	close(fd);
}

/*
 * What every run of a flow must leave: nothing charged, nothing pinned,
 * no wrong result.  A failed assertion ends the test from here too.
 */
static void assert_released(struct __test_metadata *_metadata, long vmpin,
			    const char *what, unsigned int nth)
{
	ASSERT_EQ(0, wrong_results)
		TH_LOG("with %s %u, wrong result checked at line %d", what,
		       nth, wrong_result_line);
	ASSERT_EQ(vmpin, proc_status_kb("VmPin"))
		TH_LOG("pins charged still with %s %u", what, nth);
	ASSERT_EQ(0, check_unpinned(buf, BUF_SIZE))
		TH_LOG("pages left pinned with %s %u", what, nth);
	ASSERT_EQ(0, check_unpinned(frag, FRAG_SIZE))
		TH_LOG("pages left pinned with %s %u", what, nth);
	ASSERT_EQ(0, check_unpinned(thp, THP_SIZE))
		TH_LOG("pages left pinned with %s %u", what, nth);
}

static void run_sweep(struct __test_metadata *_metadata, void (*flow)(void),
		      bool pins)
{
	long vmpin = proc_status_kb("VmPin");
	unsigned int nth, own;
	bool hit;

	/* The flow must work with no fault at all. */
	unarmed_failures = 0;
	wrong_results = 0;
	flow();
	ASSERT_EQ(0, unarmed_failures)
		TH_LOG("the call at line %d failed: %s", unarmed_failure_line,
		       strerror(unarmed_failure_errno));
	assert_released(_metadata, vmpin, "no fault", 0);

	/* Every injection point: allocations and iommufd's own */
	for (nth = 1; nth < 100000; nth++) {
		ASSERT_EQ(0, arm_fail_nth(nth));
		fault_armed = true;
		flow();
		fault_armed = false;
		hit = disarm_fail_nth();
		assert_released(_metadata, vmpin, "fault", nth);
		if (!hit)
			break;
	}
	ASSERT_LT(1, nth);

	/* iommufd's own points alone, each of them */
	own_sweep = true;
	for (own = 1; own < 100000; own++) {
		ASSERT_EQ(0, arm_own(own));
		fault_armed = true;
		flow();
		fault_armed = false;
		hit = disarm_own();
		assert_released(_metadata, vmpin, "iommufd fault", own);
		if (!hit)
			break;
	}
	own_sweep = false;
	TH_LOG("%u injection points, %u of them iommufd's own", nth - 1,
	       own - 1);
	/* Pinning and mapping memory goes through iommufd's own points. */
	if (pins)
		ASSERT_LT(1, own);
}

FIXTURE(fail_nth) {
	char panic_on_warn[8];
};

FIXTURE_SETUP(fail_nth)
{
	char path[64];

	if (access(DEBUGFS "/fail_iommufd", F_OK))
		SKIP(return, "no fail_iommufd (CONFIG_IOMMUFD_TEST)");
	ASSERT_TRUE(setup_fault_injection());
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	fail_nth_fd = open(path, O_RDWR);
	ASSERT_LE(0, fail_nth_fd);
	buf = alloc_buffer(BUF_SIZE, 2 * MB);
	ASSERT_NE(NULL, buf);
	/* Fault in every page now: a failure must hit the kernel's calls. */
	memset(buf, 1, BUF_SIZE);
	if (pte_checks < 0) {
		int fd = open("/dev/iommu", O_RDWR);

		ASSERT_LE(0, fd);
		pte_checks = have_check_pte(fd);
		close(fd);
	}
	if (!thp) {
		thp = alloc_buffer_thp(THP_SIZE);
		ASSERT_NE(NULL, thp) TH_LOG("no transparent huge pages");
	}
	if (!frag) {
		size_t i;

		frag = mmap(NULL, FRAG_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, frag);
		ASSERT_EQ(0, madvise(frag, FRAG_SIZE, MADV_NOHUGEPAGE));
		/* Each page starts with its index: no two are alike. */
		for (i = FRAG_PAGES; i-- > 0;) {
			memset(frag + i * PAGE_SIZE, i * 7 + 1, PAGE_SIZE);
			memcpy(frag + i * PAGE_SIZE, &i, sizeof(i));
		}
	}
	ASSERT_EQ(0, read_file("/proc/sys/kernel/panic_on_warn",
			       self->panic_on_warn,
			       sizeof(self->panic_on_warn)));
	ASSERT_EQ(0, write_file("/proc/sys/kernel/panic_on_warn", "1"));
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (fail_nth_fd >= 0)
		close(fail_nth_fd);
	fail_nth_fd = -1;
	if (self->panic_on_warn[0])
		write_file("/proc/sys/kernel/panic_on_warn",
			   self->panic_on_warn);
}

/* One sweep per flow */
FIXTURE_VARIANT(fail_nth) {
	void (*flow)(void);
	bool no_pins;	/* pins no memory: no page table */
};

FIXTURE_VARIANT_ADD(fail_nth, ioas) {
	.flow = flow_ioas,
	.no_pins = true,
};

FIXTURE_VARIANT_ADD(fail_nth, ranges) {
	.flow = flow_ranges,
};

FIXTURE_VARIANT_ADD(fail_nth, mock_domain) {
	.flow = flow_mock_domain,
};

FIXTURE_VARIANT_ADD(fail_nth, mock_domain_small_pages) {
	.flow = flow_mock_domain_small_pages,
};

FIXTURE_VARIANT_ADD(fail_nth, access) {
	.flow = flow_access,
};

FIXTURE_VARIANT_ADD(fail_nth, fragmented) {
	.flow = flow_fragmented,
};

FIXTURE_VARIANT_ADD(fail_nth, huge) {
	.flow = flow_huge,
};

FIXTURE_VARIANT_ADD(fail_nth, two_domains) {
	.flow = flow_two_domains,
};

FIXTURE_VARIANT_ADD(fail_nth, access_domain) {
	.flow = flow_access_domain,
};

FIXTURE_VARIANT_ADD(fail_nth, hwpt) {
	.flow = flow_hwpt,
};

FIXTURE_VARIANT_ADD(fail_nth, dirty) {
	.flow = flow_dirty,
};

FIXTURE_VARIANT_ADD(fail_nth, vfio_compat) {
	.flow = flow_vfio_compat,
};

FIXTURE_VARIANT_ADD(fail_nth, vfio_compat_copy) {
	.flow = flow_vfio_compat_copy,
};

FIXTURE_VARIANT_ADD(fail_nth, vfio_compat_split) {
	.flow = flow_vfio_compat_split,
};

TEST_F_TIMEOUT(fail_nth, sweep, 600)
{
	if (_metadata->skip)
		return;
	run_sweep(_metadata, variant->flow, !variant->no_pins);
}

TEST_HARNESS_MAIN
