// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline of the legacy VFIO path: the root-bus edu bound to vfio-pci,
 * driven through its group and a VFIO_TYPE1v2_IOMMU container.  The edu
 * does DMA in both directions through the IOMMU; once the IOVA is unmapped
 * the IOMMU blocks it, logs a fault, and memory stays as it was.
 *
 * The iommufd paths are compared with this one.
 */
#include <string.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define IOVA		0x10000000ULL
#define BUF_SIZE	(2 * 4096UL)
#define LEN		4000

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
	if (!need_config(_metadata, vfio_containers_configured(),
			 "CONFIG_VFIO_CONTAINER"))
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

TEST_HARNESS_MAIN
