// SPDX-License-Identifier: GPL-2.0
/*
 * Group viability on the device-centric path.  The edu and the e1000
 * behind the PCIe-to-PCI bridge share an IOMMU group; each device is bound
 * to an iommufd through its own cdev.  The iommu core refuses the edu while
 * the e1000 is bound to its kernel driver, and says which device and
 * driver are in the way; keeps the e1000 driver from probing while the edu
 * is bound; lets both devices be bound to one iommufd, never to two.  The
 * devices of the group share one page table: moving one moves both.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define IOVA		0x10000000ULL
#define BUF_SIZE	(2 * 4096UL)
#define LEN		4000

FIXTURE(bridge_cdev) {
	char edu[BDF_LEN];
	char e1000[BDF_LEN];
	char edu_driver[64];
	char e1000_driver[64];
	int iommufd;
	int edu_dev;
	int e1000_dev;
};

FIXTURE_SETUP(bridge_cdev)
{
	self->iommufd = -1;
	self->edu_dev = -1;
	self->e1000_dev = -1;
	if (!need(_metadata, !edu_find_grouped(self->edu, self->e1000),
		  "edu sharing a group with an e1000"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->edu, self->edu_driver,
				   sizeof(self->edu_driver)));
	ASSERT_EQ(0, pci_driver_of(self->e1000, self->e1000_driver,
				   sizeof(self->e1000_driver)));
	ASSERT_STREQ("e1000", self->e1000_driver);
	ASSERT_EQ(0, pci_bind(self->edu, "vfio-pci"));
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	self->edu_dev = vfio_cdev_open(self->edu);
	ASSERT_LE(0, self->edu_dev);
}

FIXTURE_TEARDOWN(bridge_cdev)
{
	if (!self->edu[0])
		return;
	if (self->e1000_dev >= 0)
		close(self->e1000_dev);
	if (self->edu_dev >= 0)
		close(self->edu_dev);
	if (self->iommufd >= 0)
		close(self->iommufd);
	pci_bind(self->edu, self->edu_driver[0] ? self->edu_driver : NULL);
	pci_bind(self->e1000, self->e1000_driver);
}

/* Give the device @bdf to vfio-pci and open its cdev into *@fd. */
static int to_vfio_cdev(const char *bdf, int *fd)
{
	if (pci_bind(bdf, "vfio-pci"))
		return -1;
	*fd = vfio_cdev_open(bdf);
	return *fd < 0 ? -1 : 0;
}

TEST_F(bridge_cdev, driver_bound_blocks_bind)
{
	struct kmsg_mark mark;
	char line[2048], drv[64];

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, kmsg_mark(&mark));
	EXPECT_EQ(-EBUSY, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));
	/* The log names the device and the driver in the way. */
	ASSERT_TRUE(kmsg_find(&mark, self->e1000, line, sizeof(line)));
	kmsg_close(&mark);
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "bound to driver e1000"));
	EXPECT_NE(NULL, strstr(line, self->edu));

	/* Nothing was left behind: once the e1000 goes, the bind works. */
	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));

	/* While the edu is bound the e1000 driver cannot probe. */
	pci_probe(self->e1000);
	ASSERT_EQ(0, pci_driver_of(self->e1000, drv, sizeof(drv)));
	ASSERT_STREQ("", drv);

	/* Closing the edu gives the group back to the kernel. */
	close(self->edu_dev);
	self->edu_dev = -1;
	ASSERT_EQ(0, pci_probe(self->e1000));
	ASSERT_EQ(0, pci_driver_of(self->e1000, drv, sizeof(drv)));
	ASSERT_STREQ("e1000", drv);
}

/* Both devices of the group in one iommufd: allowed, in two: refused. */
TEST_F(bridge_cdev, one_iommufd_per_group)
{
	int other;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, to_vfio_cdev(self->e1000, &self->e1000_dev));
	ASSERT_EQ(0, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));

	other = iommufd_open();
	ASSERT_LE(0, other);
	EXPECT_EQ(-EBUSY, vfio_cdev_bind(self->e1000_dev, other, NULL));
	close(other);

	ASSERT_EQ(0, vfio_cdev_bind(self->e1000_dev, self->iommufd, NULL));
}

/*
 * The devices of a group share its page table: attaching the e1000
 * elsewhere moves the edu too, with its DMA following it.
 */
TEST_F(bridge_cdev, group_moves_together)
{
	uint32_t ioas1, ioas2, hwpt_edu, hwpt_e1000, hwpt2;
	uint8_t *buf1, *buf2;
	struct edu edu;
	int i;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, to_vfio_cdev(self->e1000, &self->e1000_dev));
	ASSERT_EQ(0, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));
	ASSERT_EQ(0, vfio_cdev_bind(self->e1000_dev, self->iommufd, NULL));
	buf1 = mmap(NULL, 2 * BUF_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf1);
	buf2 = buf1 + BUF_SIZE;
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &ioas1));
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &ioas2));
	ASSERT_EQ(0, iommufd_map(self->iommufd, ioas1, buf1, IOVA, BUF_SIZE));
	ASSERT_EQ(0, iommufd_map(self->iommufd, ioas2, buf2, IOVA, BUF_SIZE));

	ASSERT_EQ(0, vfio_cdev_attach(self->edu_dev, ioas1, &hwpt_edu));
	ASSERT_EQ(0, vfio_cdev_attach(self->e1000_dev, ioas1, &hwpt_e1000));
	EXPECT_EQ(hwpt_edu, hwpt_e1000);
	/*
	 * Detached, the e1000 cannot attach to another page table while the
	 * edu keeps the group's.
	 */
	ASSERT_EQ(0, vfio_cdev_detach(self->e1000_dev));
	EXPECT_EQ(-EINVAL, vfio_cdev_attach(self->e1000_dev, ioas2, NULL));

	ASSERT_EQ(0, edu_open(&edu, self->edu_dev, self->edu));
	memset(buf1, 0x11, BUF_SIZE);
	memset(buf2, 0x22, BUF_SIZE);
	ASSERT_EQ(0, edu_dma_from_ram(&edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&edu, IOVA + 4096, 0, LEN));
	for (i = 0; i < LEN; i++)
		ASSERT_EQ(0x11, buf1[4096 + i]);

	/* Move the e1000 (attached again first): the edu moves with it. */
	ASSERT_EQ(0, vfio_cdev_attach(self->e1000_dev, ioas1, NULL));
	ASSERT_EQ(0, vfio_cdev_attach(self->e1000_dev, ioas2, &hwpt2));
	EXPECT_NE(hwpt_edu, hwpt2);
	ASSERT_EQ(0, edu_dma_from_ram(&edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&edu, IOVA + 4096, 0, LEN));
	for (i = 0; i < LEN; i++) {
		ASSERT_EQ(0x22, buf2[4096 + i]);
		ASSERT_EQ(0x11, buf1[4096 + i]);
	}
	edu_close(&edu);
	munmap(buf1, 2 * BUF_SIZE);
}

TEST_HARNESS_MAIN
