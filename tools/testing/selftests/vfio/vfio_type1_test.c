// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy VFIO path: the root-bus edu bound to vfio-pci, driven through
 * its group and a VFIO_TYPE1v2_IOMMU container, /dev/vfio/vfio: VFIO's
 * own type1, or with CONFIG_IOMMUFD_VFIO_CONTAINER an iommufd answering
 * type1's ioctls.  The edu does DMA in both directions through the IOMMU;
 * once the IOVA is unmapped the IOMMU blocks it, logs a fault, and memory
 * stays as it was.  What the container pins is charged to the process.
 * Type1 v1 on /dev/iommu's container ioctls unmaps part of a mapping.
 *
 * The iommufd paths are compared with this one.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define IOVA		0x10000000ULL
#define BUF_SIZE	(2 * 4096UL)
#define LEN		4000
#define MB_(n)		((n) * 1024UL * 1024UL)

FIXTURE(type1) {
	char bdf[BDF_LEN];
	char old_driver[64];
	struct vfio_type1 v;
	struct edu edu;
	uint8_t *buf;
};

FIXTURE_SETUP(type1)
{
	self->v.container = -1;
	self->v.group = -1;
	self->v.device = -1;
	if (!need_config(_metadata, !access("/dev/vfio/vfio", F_OK),
			 "a VFIO container (/dev/vfio/vfio)"))
		return;
	if (!need(_metadata, !edu_find_alone(self->bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->bdf, self->old_driver,
				   sizeof(self->old_driver)));
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, vfio_type1_open(&self->v, self->bdf));
	ASSERT_EQ(0, edu_open(&self->edu, self->v.device, self->bdf));
}

FIXTURE_TEARDOWN(type1)
{
	if (!self->bdf[0])
		return;
	edu_close(&self->edu);
	vfio_type1_close(&self->v);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	pci_bind(self->bdf, self->old_driver[0] ? self->old_driver : NULL);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* RAM -> device -> RAM through the IOMMU, and the data survives. */
TEST_F(type1, dma_roundtrip)
{
	uint8_t *src = self->buf, *dst = self->buf + 4096;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(&self->v, self->buf, IOVA, BUF_SIZE));
	fill(src, LEN, 0x31);
	memset(dst, 0, LEN);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + 4096, 0, LEN));
	ASSERT_EQ(0, memcmp(src, dst, LEN));

	/* Again with other data: the first result was no leftover. */
	fill(src, LEN, 0xc4);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + 4096, 0, LEN));
	ASSERT_EQ(0, memcmp(src, dst, LEN));
}

/* Once the IOVA is unmapped the device cannot reach the pages. */
TEST_F(type1, unmapped_dma_blocked)
{
	uint8_t *dst = self->buf + 4096, pattern[LEN];
	uint64_t unmapped = 0;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vfio_type1_map(&self->v, self->buf, IOVA, BUF_SIZE));
	fill(self->buf, LEN, 0x5e);
	memcpy(pattern, self->buf, LEN);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA, 0, LEN));
	memset(dst, 0, LEN);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + 4096, 0, LEN));
	ASSERT_EQ(0, memcmp(pattern, dst, LEN));

	ASSERT_EQ(0, vfio_type1_unmap(&self->v, IOVA, BUF_SIZE, &unmapped));
	ASSERT_EQ(BUF_SIZE, unmapped);

	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA + 4096, dst, LEN));

	/* Unmapping what is no longer mapped unmaps nothing. */
	ASSERT_EQ(0, vfio_type1_unmap(&self->v, IOVA, BUF_SIZE, &unmapped));
	ASSERT_EQ(0, unmapped);
}

/*
 * Type1 v1 (VFIO_TYPE1_IOMMU, which DPDK selects) on the container ioctls
 * of /dev/iommu: an unmap takes a page out of the middle of a mapping of
 * huge pages (VFIO's own type1 would refuse to cut it), which iommufd maps
 * with large IOMMU pages where the IOMMU can split them (VT-d) and splits
 * where the unmap cuts.  The device still reaches the memory on both
 * sides of the hole, in the large page that was split and in the others,
 * and the hole blocks it.
 */
TEST_F(type1, v1_unmap_cuts_a_hole_in_huge_pages)
{
	size_t len = MB_(4), hole = MB_(2) + 5 * 4096;
	const size_t offs[] = { 0, MB_(1), hole - 4096, hole + 4096,
				MB_(3) + 4096 };
	uint8_t *mem, *buf, pattern[LEN];
	uint64_t unmapped = 0;
	unsigned int i;

	if (_metadata->skip)
		return;
	edu_close(&self->edu);
	vfio_type1_close(&self->v);
	mem = mmap(NULL, len + MB_(2), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	buf = (uint8_t *)(((uintptr_t)mem + MB_(2) - 1) & ~(MB_(2) - 1));
	ASSERT_EQ(0, madvise(buf, len, MADV_HUGEPAGE));
	memset(buf, 0, len);
	ASSERT_LE(len / 1024, proc_file_kb("/proc/self/smaps_rollup",
					   "AnonHugePages"))
		TH_LOG("no transparent huge pages");

	ASSERT_EQ(0, vfio_container_open(&self->v, self->bdf, "/dev/iommu",
					 VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, edu_open(&self->edu, self->v.device, self->bdf));
	ASSERT_EQ(0, vfio_type1_map(&self->v, buf, IOVA, len));
	ASSERT_EQ(0, vfio_type1_unmap(&self->v, IOVA + hole, 4096, &unmapped));
	ASSERT_EQ(4096, unmapped);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		fill(buf + offs[i], LEN, 0x10 + i);
		memcpy(pattern, buf + offs[i], LEN);
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA + offs[i], 0,
					      LEN));
		memset(buf + offs[i], 0, LEN);
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + offs[i], 0,
					    LEN));
		ASSERT_EQ(0, memcmp(pattern, buf + offs[i], LEN))
			TH_LOG("at offset %#zx", offs[i]);
	}
	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA + hole,
					   buf + hole, LEN));
	ASSERT_EQ(0, vfio_type1_unmap(&self->v, IOVA, len, &unmapped));
	ASSERT_EQ(len - 4096, unmapped);
	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA + MB_(1),
					   buf + MB_(1), LEN));
	munmap(mem, len + MB_(2));
}

/* Take CAP_IPC_LOCK, which lifts RLIMIT_MEMLOCK, from this process. */
static int drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[0].effective &= ~(1U << CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* In a child: the line of the first check that failed, or 0. */
static int charged_to_the_process(struct vfio_type1 *v)
{
	struct rlimit lim = { .rlim_cur = MB_(1), .rlim_max = MB_(1) };
	size_t small = 256 * 1024, big = MB_(2);
	long before = -1, kb = small / 1024;
	uint64_t unmapped = 0;
	void *buf;

	if (drop_cap_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &lim))
		return __LINE__;
	buf = mmap(NULL, big, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return __LINE__;
	memset(buf, 1, big);
	before = proc_status_kb("VmLck");
	if (before < 0 || vfio_type1_map(v, buf, IOVA, small))
		return __LINE__;
	if (proc_status_kb("VmLck") != before + kb)
		return __LINE__;
	/* Beyond this process's limit, whatever the user has elsewhere */
	if (vfio_type1_map(v, buf, IOVA + big, big) != -ENOMEM ||
	    proc_status_kb("VmLck") != before + kb)
		return __LINE__;
	if (vfio_type1_unmap(v, IOVA, small, &unmapped) || unmapped != small ||
	    proc_status_kb("VmLck") != before)
		return __LINE__;
	return 0;
}

/*
 * What the container pins is charged to the process that mapped it, in
 * its VmLck and against its own RLIMIT_MEMLOCK, as type1 does and as
 * iommufd does for a /dev/vfio/vfio it serves (not to the user's total,
 * as it charges /dev/iommu).  In a child without CAP_IPC_LOCK.
 */
TEST_F(type1, pins_charged_to_the_process)
{
	int status;
	pid_t pid;

	if (_metadata->skip)
		return;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(charged_to_the_process(&self->v));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check at vfio_type1_test.c:%d failed",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
