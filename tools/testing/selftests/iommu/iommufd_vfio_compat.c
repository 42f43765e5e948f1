// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO type1 container ioctls answered by an iommufd, on the mock
 * IOMMU: what a program written for VFIO's container sees when it is
 * given an iommufd in its place.
 * The errnos were checked on mainline 6.12 with these tests.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "iommufd_utils.h"

#define BUF_SIZE	(2 * MB)

static int vfio_dma_map(int fd, __u64 iova, void *vaddr, __u64 size,
			__u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

#define MAP_RW_DMA	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* VFIO_IOMMU_UNMAP_DMA; *@size returns what was unmapped on success. */
static int vfio_dma_unmap(int fd, __u64 iova, __u64 *size, __u32 flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int rc;

	rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (!rc)
		*size = unmap.size;
	return rc;
}

static __u64 huge_pages(int fd, __u32 ioas_id)
{
	__u64 val = 99;

	if (option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas_id,
		   &val))
		return 99;
	return val;
}

/* Without an IOAS for VFIO, or before one is chosen */
TEST(no_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	__u64 size = PAGE_SIZE;
	int fd, e;
	void *buf;

	buf = alloc_buffer(PAGE_SIZE, PAGE_SIZE);
	ASSERT_NE(NULL, buf);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(fd, VFIO_GET_API_VERSION));
	/* What is offered does not depend on an IOAS ... */
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	for (e = 0; e <= 12; e++) {
		if (e == VFIO_TYPE1_IOMMU || e == VFIO_TYPE1v2_IOMMU ||
		    e == VFIO_UNMAP_ALL || e == VFIO_DMA_CC_IOMMU)
			continue;
		EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, e))
			TH_LOG("extension %d", e);
	}
	/* ... coherency does. */
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_CHECK_EXTENSION,
				   VFIO_DMA_CC_IOMMU));
	/* A type is checked before the IOAS */
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_SET_IOMMU, 0));
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_ERRNO(ENODEV, vfio_dma_map(fd, PAGE_SIZE, buf, PAGE_SIZE,
					  MAP_RW_DMA));
	EXPECT_ERRNO(ENODEV, vfio_dma_unmap(fd, PAGE_SIZE, &size, 0));
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	/* SET_IOMMU made none. */
	EXPECT_ERRNO(ENODEV, vfio_ioas(fd, IOMMU_VFIO_IOAS_GET,
				       &(__u32){ 0 }));
	/* The container ioctls type1 does not have, or not here */
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_ENABLE));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_DISABLE));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, buf));
	close(fd);
	munmap(buf, PAGE_SIZE);
}

/*
 * An iommufd with an IOAS chosen for VFIO (IOMMU_VFIO_IOAS), as a group
 * given the iommufd makes one, with 0, 1 or 2 mock page tables.
 */
FIXTURE(compat) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_ids[2];
	__u32 idev_id;
	void *buf;
	long vmpin;
	__u64 base;
};

FIXTURE_VARIANT(compat) {
	unsigned int domains;
};

FIXTURE_VARIANT_ADD(compat, no_domain) {
	.domains = 0,
};

FIXTURE_VARIANT_ADD(compat, one_domain) {
	.domains = 1,
};

FIXTURE_VARIANT_ADD(compat, two_domains) {
	.domains = 2,
};

FIXTURE_SETUP(compat)
{
	__u32 stdev_ids[2];
	unsigned int i;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET,
			       &(__u32){ self->ioas_id }));
	self->buf = alloc_buffer(BUF_SIZE, BUF_SIZE);
	ASSERT_NE(NULL, self->buf);
	self->vmpin = proc_status_kb("VmPin");
	for (i = 0; i < variant->domains; i++)
		ASSERT_EQ(0, mock_domain_flags_idev(self->fd, self->ioas_id,
						    i ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
						    &stdev_ids[i],
						    &self->hwpt_ids[i],
						    &self->idev_id));
	/* Where both kinds share a page table (mainline), make a second. */
	if (variant->domains == 2 && self->hwpt_ids[0] == self->hwpt_ids[1]) {
		ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id,
					self->ioas_id, &self->hwpt_ids[1]));
		ASSERT_EQ(0, mock_domain_replace(self->fd, stdev_ids[1],
						 &self->hwpt_ids[1]));
	}
	self->base = MOCK_APERTURE_START;
}

FIXTURE_TEARDOWN(compat)
{
	close(self->fd);
	EXPECT_EQ(0, check_unpinned(self->buf, BUF_SIZE));
	munmap(self->buf, BUF_SIZE);
}

/* Each page table maps [iova, iova + len) to @buf, or none maps it. */
static bool mapped_in(struct __test_metadata *_metadata, int fd,
		      const __u32 *hwpt_ids, unsigned int domains, __u64 iova,
		      void *buf, __u64 len, bool mapped)
{
	unsigned int i;

	for (i = 0; i < domains; i++) {
		if (!check_map(fd, hwpt_ids[i], iova, buf, len) != mapped) {
			TH_LOG("page table %u: %#llx+%#llx %s", i,
			       (unsigned long long)iova,
			       (unsigned long long)len,
			       mapped ? "not mapped" : "still mapped");
			return false;
		}
	}
	return true;
}

/*
 * VFIO_IOMMU_GET_INFO: page sizes, then the DMA mappings left and the
 * IOVA ranges as capabilities, which the argsz protocol hands out.
 */
TEST_F(compat, get_info)
{
	struct iommu_iova_range ranges[8];
	struct vfio_iommu_type1_info_cap_iova_range *range_cap;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	__u32 nranges = 8, need, i;
	unsigned char *raw;

	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, ranges, &nranges,
				 NULL));
	need = sizeof(*info) + 16 + sizeof(*range_cap) +
	       nranges * sizeof(range_cap->iova_ranges[0]);
	raw = malloc(4096);
	ASSERT_NE(NULL, raw);
	info = (void *)raw;

	/* Shorter than the page sizes: refused, nothing written */
	memset(raw, 0xaa, 4096);
	info->argsz = 15;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(15, info->argsz);
	EXPECT_EQ(0xaaaaaaaa, info->flags);

	/* Up to the page sizes: those, and the size needed */
	memset(raw, 0xaa, 4096);
	info->argsz = 16;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	/* Every size from a page on; the mock's half pages count as pages. */
	EXPECT_EQ(variant->domains ? PAGE_SIZE : ~(PAGE_SIZE - 1),
		  info->iova_pgsizes);
	EXPECT_EQ(0xaaaaaaaa, info->cap_offset);

	/* The whole structure, no room for the capabilities */
	memset(raw, 0xaa, 4096);
	info->argsz = sizeof(*info);
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(need, info->argsz);
	EXPECT_EQ(0, info->cap_offset);
	EXPECT_EQ(0, *(__u32 *)(raw + 20));	/* the padding */
	EXPECT_EQ(0xaa, raw[sizeof(*info)]);

	/*
	 * Room for some: each capability that fits is copied, with a link
	 * to the next when that starts inside argsz, but cap_offset stays 0
	 * until all fit (mainline's answer).
	 */
	memset(raw, 0xaa, 4096);
	info->argsz = sizeof(*info) + 11;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(0xaa, raw[sizeof(*info)]);
	memset(raw, 0xaa, 4096);
	info->argsz = sizeof(*info) + 12;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(0, info->cap_offset);
	hdr = (void *)(raw + sizeof(*info));
	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, hdr->id);
	EXPECT_EQ(0, hdr->next);
	EXPECT_EQ(0xaa, raw[sizeof(*info) + 12]);
	memset(raw, 0xaa, 4096);
	info->argsz = need - 1;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(0, info->cap_offset);
	EXPECT_EQ(sizeof(*info) + 16, hdr->next);
	EXPECT_EQ(0xaa, raw[sizeof(*info) + 16]);

	/* Room: the capabilities, in a chain, and nothing after them */
	memset(raw, 0xaa, 4096);
	info->argsz = 4096;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(need, info->argsz);
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	for (i = need; i < 4096; i++)
		ASSERT_EQ(0xaa, raw[i]) TH_LOG("byte %u written", i);

	hdr = (void *)(raw + info->cap_offset);
	ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, hdr->id);
	EXPECT_EQ(1, hdr->version);
	avail = (void *)hdr;
	EXPECT_EQ(UINT32_MAX, avail->avail);
	/* The alignment after it is left alone. */
	EXPECT_EQ(0xaaaaaaaa, *(__u32 *)(raw + info->cap_offset + 12));
	ASSERT_EQ(sizeof(*info) + 16, hdr->next);

	hdr = (void *)(raw + hdr->next);
	ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, hdr->id);
	EXPECT_EQ(1, hdr->version);
	EXPECT_EQ(0, hdr->next);
	range_cap = (void *)hdr;
	ASSERT_EQ(nranges, range_cap->nr_iovas);
	EXPECT_EQ(0, range_cap->reserved);
	/* The ranges of IOMMU_IOAS_IOVA_RANGES */
	for (i = 0; i < nranges; i++) {
		EXPECT_EQ(ranges[i].start, range_cap->iova_ranges[i].start);
		EXPECT_EQ(ranges[i].last, range_cap->iova_ranges[i].end);
	}
	if (variant->domains) {
		EXPECT_EQ(MOCK_APERTURE_START, range_cap->iova_ranges[0].start);
	} else {
		EXPECT_EQ(0, range_cap->iova_ranges[0].start);
		EXPECT_EQ(UINT64_MAX, range_cap->iova_ranges[0].end);
	}

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, VFIO_IOMMU_GET_INFO, NULL));
	free(raw);
}

TEST_F(compat, set_iommu)
{
	__u64 size;

	/* v2 changes nothing; v1 turns large pages off, for good. */
	EXPECT_EQ(1, huge_pages(self->fd, self->ioas_id));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_SET_IOMMU,
				   VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_SET_IOMMU,
				   VFIO_NOIOMMU_IOMMU));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, huge_pages(self->fd, self->ioas_id));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, huge_pages(self->fd, self->ioas_id));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, huge_pages(self->fd, self->ioas_id));

	/*
	 * v1 once page tables map something: refused, as large pages may be
	 * in them.
	 */
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas_id,
			    &(__u64){ 1 }));
	ASSERT_EQ(0, vfio_dma_map(self->fd, self->base, self->buf, PAGE_SIZE,
				  MAP_RW_DMA));
	if (variant->domains)
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_SET_IOMMU,
					   VFIO_TYPE1_IOMMU));
	else
		EXPECT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU,
				   VFIO_TYPE1_IOMMU));
	EXPECT_EQ(variant->domains ? 1 : 0,
		  huge_pages(self->fd, self->ioas_id));
	size = PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, self->base, &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
}

/* A map is one of the IOAS at a fixed IOVA; bad input changes nothing. */
TEST_F(compat, map)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = offsetof(struct vfio_iommu_type1_dma_map, size) + 8,
		.flags = MAP_RW_DMA,
		.vaddr = (uintptr_t)self->buf,
		.iova = self->base,
		.size = PAGE_SIZE,
	};
	__u64 size = UINT64_MAX;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	map.argsz--;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.argsz++;
	map.flags |= VFIO_DMA_MAP_FLAG_VADDR;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = MAP_RW_DMA | 1 << 3;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = MAP_RW_DMA;
	map.size = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.size = 2 * PAGE_SIZE;
	map.iova = -PAGE_SIZE;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.iova = self->base;
	map.vaddr = -PAGE_SIZE;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, NULL));
	/* None of that mapped anything. */
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size, 0));
	EXPECT_EQ(0, size);

	/* A longer structure is fine. */
	map.vaddr = (uintptr_t)self->buf;
	map.argsz = sizeof(map) + 8;
	ASSERT_EQ(0, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      self->base, self->buf, 2 * PAGE_SIZE,
				      true));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 2 * PAGE_SIZE,
				variant->domains ? 1 : 0));
	EXPECT_ERRNO(EEXIST, vfio_dma_map(self->fd, self->base + PAGE_SIZE,
					  self->buf, PAGE_SIZE, MAP_RW_DMA));
	/* Read-only, and with neither permission, as type1 takes it */
	EXPECT_EQ(0, vfio_dma_map(self->fd, self->base + 4 * PAGE_SIZE,
				  self->buf, PAGE_SIZE,
				VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(0, vfio_dma_map(self->fd, self->base + 8 * PAGE_SIZE,
				  self->buf, PAGE_SIZE, 0));
	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(4 * PAGE_SIZE, size);
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 2 * PAGE_SIZE, 0));
}

/*
 * v2 unmap: whole mappings only; a range that cuts one is refused
 * (ENOENT) and changes nothing, a range with nothing mapped succeeds with
 * a size of 0.
 */
TEST_F(compat, unmap_v2)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = self->base,
		.size = PAGE_SIZE,
	};
	__u64 base = self->base, size;
	char *buf = self->buf;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 4 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base + 4 * PAGE_SIZE,
				  buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				MAP_RW_DMA));

	unmap.argsz--;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.argsz++;
	unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = 1 << 3;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, NULL));
	size = 0;
	EXPECT_ERRNO(EINVAL, vfio_dma_unmap(self->fd, base, &size, 0));
	size = 2 * PAGE_SIZE;
	EXPECT_ERRNO(EOVERFLOW, vfio_dma_unmap(self->fd, -PAGE_SIZE, &size, 0));
	/* Part of a mapping, or of two */
	size = PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, vfio_dma_unmap(self->fd, base + PAGE_SIZE, &size,
					    0));
	size = 2 * PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, vfio_dma_unmap(self->fd, base - PAGE_SIZE, &size,
					    0));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base, buf, 8 * PAGE_SIZE, true));

	/* Nothing there: success, nothing unmapped */
	size = PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, base + 16 * PAGE_SIZE, &size, 0));
	EXPECT_EQ(0, size);
	/* Not aligned, inside a mapping: a cut too */
	size = PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, vfio_dma_unmap(self->fd, base + 0x100, &size, 0));

	/* Whole mappings, and what lies around them */
	size = 6 * PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, base - 2 * PAGE_SIZE, &size, 0));
	EXPECT_EQ(4 * PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base, buf, 4 * PAGE_SIZE, false));
	EXPECT_EQ(0, check_refs(self->fd, buf, 4 * PAGE_SIZE, 0));

	/* All of the IOVA space, with the flag or without it */
	size = UINT64_MAX;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size, 0));
	EXPECT_EQ(4 * PAGE_SIZE, size);
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 8 * PAGE_SIZE,
				  MAP_RW_DMA));
	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(8 * PAGE_SIZE, size);
	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(0, size);
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * A v2 unmap of whole mappings and part of another is refused and changes
 * nothing.  Mainline unmaps the whole ones before it finds the cut one,
 * then fails: this checks the series' answer, and skips there.
 */
TEST_F(compat, unmap_v2_refused_cut_changes_nothing)
{
	__u64 base = self->base, size;
	char *buf = self->buf;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 4 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base + 4 * PAGE_SIZE,
				  buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				  MAP_RW_DMA));
	size = 5 * PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, vfio_dma_unmap(self->fd, base, &size, 0));
	size = PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + 16 * PAGE_SIZE, &size,
				    0));
	size = 4 * PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base, &size, 0));
	if (!size)
		SKIP(return, "the mappings before the cut went (mainline)");
	EXPECT_EQ(4 * PAGE_SIZE, size);
	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(4 * PAGE_SIZE, size);
}

/*
 * v1: an unmap may take part of a mapping; what is left stays mapped, and
 * only the pages unmapped are unpinned.
 */
TEST_F(compat, unmap_v1_part_of_a_mapping)
{
	unsigned int pins = variant->domains ? 1 : 0;
	__u64 base = self->base, size;
	struct iommu_ioas_unmap native = {
		.size = sizeof(native),
		.ioas_id = self->ioas_id,
	};
	char *buf = self->buf;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	/* Whole pages now, even with no page table or a half-page one */
	EXPECT_ERRNO(EINVAL, vfio_dma_map(self->fd, base + PAGE_SIZE / 2, buf,
					  PAGE_SIZE, MAP_RW_DMA));
	EXPECT_ERRNO(EINVAL, vfio_dma_map(self->fd, base, buf, 100,
					  MAP_RW_DMA));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 8 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base + 8 * PAGE_SIZE,
				  buf + 8 * PAGE_SIZE, 8 * PAGE_SIZE,
				MAP_RW_DMA));

	/* A page in the middle of the first */
	size = PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + PAGE_SIZE, &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base + PAGE_SIZE, buf + PAGE_SIZE,
				      PAGE_SIZE, false));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base, buf, PAGE_SIZE, true));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base + 2 * PAGE_SIZE,
				      buf + 2 * PAGE_SIZE, 14 * PAGE_SIZE,
				      true));
	EXPECT_EQ(0, check_refs(self->fd, buf, PAGE_SIZE, pins));
	EXPECT_EQ(0, check_refs(self->fd, buf + PAGE_SIZE, PAGE_SIZE, 0));
	EXPECT_EQ(0, check_refs(self->fd, buf + 2 * PAGE_SIZE,
				14 * PAGE_SIZE, pins));

	/* Not whole pages: refused */
	size = PAGE_SIZE / 2;
	EXPECT_ERRNO(EINVAL, vfio_dma_unmap(self->fd, base + 2 * PAGE_SIZE,
					    &size, 0));
	size = PAGE_SIZE;
	EXPECT_ERRNO(EINVAL, vfio_dma_unmap(self->fd, base + 0x123, &size, 0));
	/* Unmapped already: nothing */
	size = PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, base + PAGE_SIZE, &size, 0));
	EXPECT_EQ(0, size);
	/* The end of one mapping and the start of the next */
	size = 2 * PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + 7 * PAGE_SIZE, &size, 0));
	EXPECT_EQ(2 * PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base + 2 * PAGE_SIZE,
				      buf + 2 * PAGE_SIZE, 5 * PAGE_SIZE,
				      true));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base + 9 * PAGE_SIZE,
				      buf + 9 * PAGE_SIZE, 7 * PAGE_SIZE,
				      true));
	/* From before the first page into a mapping */
	size = 4 * PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base - PAGE_SIZE, &size, 0));
	EXPECT_EQ(2 * PAGE_SIZE, size);

	/* IOMMU_IOAS_UNMAP never cuts, v1 or not. */
	native.iova = base + 10 * PAGE_SIZE;
	native.length = PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_UNMAP, &native));

	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(11 * PAGE_SIZE, size);
	EXPECT_EQ(0, check_refs(self->fd, buf, 16 * PAGE_SIZE, 0));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * v1 keeps the large IOMMU pages of a page table that can split them (the
 * huge mock page table of two_domains; the plain one has small pages
 * only), though IOMMU_OPTION_HUGE_PAGES reads 0 as on mainline: an unmap
 * of part of a mapping splits the large pages holding its ends, no other,
 * and changes no translation of what stays mapped.
 */
TEST_F(compat, unmap_v1_splits_large_pages)
{
	unsigned int pins = variant->domains ? 1 : 0;
	__u64 base = self->base, huge = MOCK_HUGE_PAGE_SIZE, size;
	bool ptes = variant->domains == 2 && have_check_pte(self->fd);
	__u32 hwpt = self->hwpt_ids[1];
	char *thp;

	thp = alloc_buffer_thp(4 * MB);
	ASSERT_NE(NULL, thp) TH_LOG("no transparent huge pages");
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, huge_pages(self->fd, self->ioas_id));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, thp, 4 * MB, MAP_RW_DMA));
	if (ptes)
		EXPECT_EQ(0, check_pte(self->fd, hwpt, base, 4 * MB, huge,
				       MAP_RW));
	/* Neither v1 again nor large pages turned off again stop splits */
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas_id,
			    &(__u64){ 0 }));

	/* A page inside the second large page: only that one splits */
	size = PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + huge + 5 * PAGE_SIZE,
				    &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base, thp,
			      huge + 5 * PAGE_SIZE, true));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + huge + 5 * PAGE_SIZE,
			      thp + huge + 5 * PAGE_SIZE, PAGE_SIZE, false));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + huge + 6 * PAGE_SIZE,
			      thp + huge + 6 * PAGE_SIZE,
			      4 * MB - huge - 6 * PAGE_SIZE, true));
	if (ptes) {
		EXPECT_EQ(0, check_pte(self->fd, hwpt, base, huge, huge,
				       MAP_RW));
		EXPECT_EQ(0, check_pte(self->fd, hwpt, base + huge,
				       5 * PAGE_SIZE, MOCK_PAGE_SIZE, MAP_RW));
		EXPECT_EQ(0, check_pte(self->fd, hwpt,
				       base + huge + 6 * PAGE_SIZE,
				       huge - 6 * PAGE_SIZE, MOCK_PAGE_SIZE,
				       MAP_RW));
		EXPECT_EQ(0, check_pte(self->fd, hwpt, base + 2 * huge,
				       4 * MB - 2 * huge, huge, MAP_RW));
	}

	/* Cut where a large page ends: nothing to split */
	size = huge;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + 2 * huge, &size, 0));
	EXPECT_EQ(huge, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + 3 * huge,
			      thp + 3 * huge, 4 * MB - 3 * huge, true));
	if (ptes)
		EXPECT_EQ(0, check_pte(self->fd, hwpt, base + 3 * huge,
				       4 * MB - 3 * huge, huge, MAP_RW));
	/* Pinned once while mapped: a huge page counts all its pages' pins */
	EXPECT_EQ(0, check_refs(self->fd, thp, 2 * MB,
				pins * (2 * MB / PAGE_SIZE - 1)));
	EXPECT_EQ(0, check_refs(self->fd, thp + 2 * MB, 2 * MB,
				pins * (MB / PAGE_SIZE)));

	size = 0;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(4 * MB - huge - PAGE_SIZE, size);
	EXPECT_EQ(0, check_unpinned(thp, 4 * MB));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	munmap(thp, 4 * MB);
}

/*
 * A mapping copied whole into another IOAS with a page table shares its
 * pinned pages with the copy; a v1 cut of the original leaves the copy
 * whole, mapped and pinned.
 */
TEST_F(compat, unmap_v1_cut_leaves_a_copy_whole)
{
	__u64 base = self->base, size, dst_iova = base;
	__u32 ioas2, hwpt2;
	char *buf = self->buf;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain_flags_idev(self->fd, ioas2, 0, NULL, &hwpt2,
					    NULL));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 8 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, self->ioas_id, base,
			       8 * PAGE_SIZE, &dst_iova, MAP_FIXED_RW));
	EXPECT_EQ(0, check_refs(self->fd, buf, 8 * PAGE_SIZE, 1));

	/* Cut a page out of the original, twice, the second time again */
	size = PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + PAGE_SIZE, &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
	size = PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base + 5 * PAGE_SIZE, &size,
				    0));
	EXPECT_EQ(PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base, buf, PAGE_SIZE, true));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + PAGE_SIZE,
			      buf + PAGE_SIZE, PAGE_SIZE, false));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + 2 * PAGE_SIZE,
			      buf + 2 * PAGE_SIZE, 3 * PAGE_SIZE, true));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, base + 6 * PAGE_SIZE,
			      buf + 6 * PAGE_SIZE, 2 * PAGE_SIZE, true));
	/* The copy: whole, and every page still pinned once */
	EXPECT_TRUE(mapped_in(_metadata, self->fd, &hwpt2, 1, base, buf,
			      8 * PAGE_SIZE, true));
	EXPECT_EQ(0, check_refs(self->fd, buf, 8 * PAGE_SIZE, 1));

	/* The original goes: the copy keeps every page */
	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(6 * PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, &hwpt2, 1, base, buf,
			      8 * PAGE_SIZE, true));
	EXPECT_EQ(0, check_refs(self->fd, buf, 8 * PAGE_SIZE, 1));
	EXPECT_EQ(0, ioas_unmap(self->fd, ioas2, base, 8 * PAGE_SIZE, NULL));
	EXPECT_EQ(0, check_refs(self->fd, buf, 8 * PAGE_SIZE, 0));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * A copy in the same IOAS shares the original's pins too: the same page
 * cut out of both, then each part unmapped in turn, unpins each page when
 * neither maps it any more.
 */
TEST_F(compat, unmap_v1_cuts_both_sides_of_a_copy)
{
	unsigned int pins = variant->domains ? 1 : 0;
	__u64 base = self->base, dst = base + 16 * PAGE_SIZE, size;
	unsigned int side;
	char *buf = self->buf;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, buf, 8 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, self->ioas_id, base,
			       8 * PAGE_SIZE, &dst, MAP_FIXED_RW));

	/* Page 3 out of the copy, then out of the original */
	for (side = 0; side < 2; side++) {
		size = PAGE_SIZE;
		ASSERT_EQ(0, vfio_dma_unmap(self->fd, (side ? base : dst) +
					    3 * PAGE_SIZE, &size, 0));
		EXPECT_EQ(PAGE_SIZE, size);
	}
	for (side = 0; side < 2; side++) {
		__u64 iova = side ? base : dst;

		EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
				      variant->domains, iova, buf,
				      3 * PAGE_SIZE, true));
		EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
				      variant->domains, iova + 3 * PAGE_SIZE,
				      buf + 3 * PAGE_SIZE, PAGE_SIZE, false));
		EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
				      variant->domains, iova + 4 * PAGE_SIZE,
				      buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				      true));
	}
	EXPECT_EQ(0, check_refs(self->fd, buf, 3 * PAGE_SIZE, pins));
	EXPECT_EQ(0, check_refs(self->fd, buf + 3 * PAGE_SIZE, PAGE_SIZE, 0));
	EXPECT_EQ(0, check_refs(self->fd, buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				pins));

	/* The original's first part goes: the copy's still holds its pages */
	size = 3 * PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, base, &size, 0));
	EXPECT_EQ(3 * PAGE_SIZE, size);
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids,
			      variant->domains, dst, buf, 3 * PAGE_SIZE, true));
	EXPECT_EQ(0, check_refs(self->fd, buf, 3 * PAGE_SIZE, pins));
	size = 3 * PAGE_SIZE;
	ASSERT_EQ(0, vfio_dma_unmap(self->fd, dst, &size, 0));
	EXPECT_EQ(3 * PAGE_SIZE, size);
	EXPECT_EQ(0, check_refs(self->fd, buf, 3 * PAGE_SIZE, 0));
	EXPECT_EQ(0, check_refs(self->fd, buf + 4 * PAGE_SIZE, 4 * PAGE_SIZE,
				pins));

	size = 0;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size,
				    VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(8 * PAGE_SIZE, size);
	EXPECT_EQ(0, check_refs(self->fd, buf, 8 * PAGE_SIZE, 0));
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/*
 * The cut follows large pages being off, however they were turned off;
 * with them on, even after v1, an unmap takes whole mappings only.
 */
TEST_F(compat, unmap_cuts_while_large_pages_are_off)
{
	__u64 base = self->base, size;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas_id,
			    &(__u64){ 0 }));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, self->buf, 4 * PAGE_SIZE,
				  MAP_RW_DMA));
	size = PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, base + PAGE_SIZE, &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas_id,
			    &(__u64){ 1 }));
	size = PAGE_SIZE;
	EXPECT_ERRNO(ENOENT, vfio_dma_unmap(self->fd, base + 2 * PAGE_SIZE,
					    &size, 0));
	size = UINT64_MAX;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, 0, &size, 0));
	EXPECT_EQ(3 * PAGE_SIZE, size);
}

/*
 * A mapping an access holds pins in is not cut, wherever the pins are;
 * once they are gone it is.
 */
TEST_F(compat, unmap_v1_refused_across_access_pins)
{
	__u64 base = self->base, size;
	int access_fd;
	__u32 item;

	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, vfio_dma_map(self->fd, base, self->buf, 8 * PAGE_SIZE,
				  MAP_RW_DMA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &access_fd));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, base + 6 * PAGE_SIZE,
				  PAGE_SIZE, (char *)self->buf + 6 * PAGE_SIZE,
				  0, &item));
	size = PAGE_SIZE;
	EXPECT_ERRNO(EINVAL, vfio_dma_unmap(self->fd, base + 2 * PAGE_SIZE,
					    &size, 0));
	EXPECT_TRUE(mapped_in(_metadata, self->fd, self->hwpt_ids, variant->domains,
			      base, self->buf, 8 * PAGE_SIZE, true));
	ASSERT_EQ(0, access_pages_destroy(self->fd, access_fd, item));
	size = PAGE_SIZE;
	EXPECT_EQ(0, vfio_dma_unmap(self->fd, base + 2 * PAGE_SIZE, &size, 0));
	EXPECT_EQ(PAGE_SIZE, size);
	close(access_fd);
}

/* Cache coherency: every page table the IOAS has enforces it. */
TEST_F(compat, dma_cc_iommu)
{
	int fd, rc;

	rc = ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
	if (!variant->domains) {
		EXPECT_EQ(1, rc);
		return;
	}
	/*
	 * The mock domains enforce it where the series' switch for
	 * non-coherent mock devices exists; mainline's do not.
	 */
	fd = open("/sys/kernel/debug/iommufd/mock_dev_noncoherent", O_RDWR);
	if (fd < 0) {
		EXPECT_EQ(0, rc);
		SKIP(return, "no mock_dev_noncoherent switch (mainline)");
	}
	EXPECT_EQ(1, rc);
	ASSERT_EQ(1, write(fd, "1", 1));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_EQ(1, pwrite(fd, "0", 1, 0));
	close(fd);
	EXPECT_EQ(0, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
}

TEST_HARNESS_MAIN
