// SPDX-License-Identifier: GPL-2.0
/*
 * Group viability on the device-centric path.  The edu and the e1000
 * behind the PCIe-to-PCI bridge share an IOMMU group; each device is bound
 * to an iommufd through its own cdev.  The iommu core refuses the edu while
 * the e1000 is bound to its kernel driver, and says which device and
 * driver are in the way; keeps the e1000 driver from probing while the edu
 * is bound; lets both devices be bound to one iommufd, never to two.  The
 * devices of the group share one page table: moving one moves both.
 *
 * A hot reset of the bridge's secondary bus resets both devices.  A caller
 * open through a cdev proves it owns them through its iommufd, with no
 * group fds: the INFO ioctl reports device IDs and whether all are owned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define IOVA		0x10000000ULL
/* e1000 Receive Descriptor Base Low: read/write, cleared by a reset */
#define E1000_RDBAL	0x2800
#define RDBAL_MARK	0xabcd0000U
#define BUF_SIZE	(2 * 4096UL)
#define LEN		4000

/*
 * Whatever holds a device open (a device file, a BAR mapping) lives here,
 * so that after a failed assertion the teardown releases it before it
 * rebinds the drivers: unbinding vfio-pci waits for the device to be
 * released, and the test's own process would wait forever.
 */
FIXTURE(bridge_cdev) {
	char edu[BDF_LEN];
	char e1000[BDF_LEN];
	char edu_driver[64];
	char e1000_driver[64];
	int iommufd;
	int edu_dev;
	int e1000_dev;
	struct edu edu_bar;
	struct vfio_type1 v;
};

FIXTURE_SETUP(bridge_cdev)
{
	self->iommufd = -1;
	self->edu_dev = -1;
	self->e1000_dev = -1;
	self->v.container = -1;
	self->v.group = -1;
	self->v.device = -1;
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
	edu_close(&self->edu_bar);
	vfio_type1_close(&self->v);
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

/*
 * The log of a refused claim names the device and the driver in the way,
 * so that the operator can see the group.  This series' own: mainline
 * logs nothing, and the test skips there.
 */
TEST_F(bridge_cdev, failed_bind_names_the_blocker)
{
	struct kmsg_mark mark;
	char line[2048];
	bool found;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, kmsg_mark(&mark));
	EXPECT_EQ(-EPERM, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));
	found = kmsg_find(&mark, self->e1000, line, sizeof(line));
	kmsg_close(&mark);
	if (!found)
		SKIP(return, "no log line for a refused claim (mainline)");
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "bound to driver e1000"));
	EXPECT_NE(NULL, strstr(line, self->edu));
}

/* A device whose group has a DMA-API driver bound cannot be bound: EPERM. */
TEST_F(bridge_cdev, driver_bound_blocks_bind)
{
	char drv[64];

	if (_metadata->skip)
		return;
	EXPECT_EQ(-EPERM, vfio_cdev_bind(self->edu_dev, self->iommufd, NULL));

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
	EXPECT_EQ(-EPERM, vfio_cdev_bind(self->e1000_dev, other, NULL));
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
	struct edu *edu = &self->edu_bar;
	uint8_t *buf1, *buf2;
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

	/*
	 * Each DMA copies a position-dependent pattern from the first page
	 * of a buffer to its cleared second page: only a transfer through
	 * the right page table can make it appear there.
	 */
	ASSERT_EQ(0, edu_open(edu, self->edu_dev, self->edu));
	memset(buf1, 0, 2 * BUF_SIZE);
	for (i = 0; i < LEN; i++) {
		buf1[i] = i * 7 + 1;
		buf2[i] = i * 13 + 5;
	}
	ASSERT_EQ(0, edu_dma_from_ram(edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(edu, IOVA + 4096, 0, LEN));
	for (i = 0; i < LEN; i++)
		ASSERT_EQ((uint8_t)(i * 7 + 1), buf1[4096 + i]);

	/* Move the e1000 (attached again first): the edu moves with it. */
	ASSERT_EQ(0, vfio_cdev_attach(self->e1000_dev, ioas1, NULL));
	ASSERT_EQ(0, vfio_cdev_attach(self->e1000_dev, ioas2, &hwpt2));
	EXPECT_NE(hwpt_edu, hwpt2);
	memset(buf1 + 4096, 0, LEN);
	ASSERT_EQ(0, edu_dma_from_ram(edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(edu, IOVA + 4096, 0, LEN));
	for (i = 0; i < LEN; i++) {
		ASSERT_EQ((uint8_t)(i * 13 + 5), buf2[4096 + i]);
		ASSERT_EQ(0, buf1[4096 + i]);
	}

	/* With both devices detached the group's DMA is blocked. */
	ASSERT_EQ(0, vfio_cdev_detach(self->e1000_dev));
	ASSERT_EQ(0, vfio_cdev_detach(self->edu_dev));
	EXPECT_TRUE(edu_dma_to_ram_blocked(edu, IOVA + 4096, buf2 + 4096,
					   LEN));
	EXPECT_TRUE(edu_dma_to_ram_blocked(edu, IOVA + 4096, buf1 + 4096,
					   LEN));
	edu_close(edu);
	munmap(buf1, 2 * BUF_SIZE);
}

/*
 * A hot reset resets the bus behind a bridge; the root bus has none (the
 * virtio-iommu machine puts the shared group in a multi-function slot
 * there).  Skips the test then.
 */
static bool bus_reset_possible(struct __test_metadata *_metadata,
			       const char *bdf)
{
	if (pci_bus_of(bdf) != 0)
		return true;
	SKIP(return false, "%s is on the root bus: no bus to reset", bdf);
}

/* The entry of @bdf in @info, or NULL */
static struct vfio_pci_dependent_device *
reset_entry(struct vfio_pci_hot_reset_info *info, const char *bdf)
{
	unsigned int seg, bus, slot, fn, i;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return NULL;
	for (i = 0; i < info->count; i++)
		if (info->devices[i].segment == seg &&
		    info->devices[i].bus == bus &&
		    info->devices[i].devfn == ((slot << 3) | fn))
			return &info->devices[i];
	return NULL;
}

static int e1000_rdbal(int device_fd, bool write, uint32_t *val)
{
	return vfio_region_rw(device_fd, VFIO_PCI_BAR0_REGION_INDEX, write,
			      val, sizeof(*val), E1000_RDBAL);
}

static int enable_memory(int device_fd)
{
	uint16_t cmd;
	int ret;

	ret = vfio_region_rw(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, false,
			     &cmd, sizeof(cmd), PCI_COMMAND);
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY;
	return vfio_region_rw(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, true,
			      &cmd, sizeof(cmd), PCI_COMMAND);
}

/*
 * The e1000 in vfio-pci and not open: the edu's iommufd owns it through
 * the group, and a zero-length fd array resets the bus.  Once the e1000 is
 * bound too, its device ID is reported, and the reset clears a register
 * of it.
 */
TEST_F(bridge_cdev, hot_reset_owned)
{
	struct vfio_pci_dependent_device *edu_entry, *e1000_entry;
	struct vfio_pci_hot_reset_info *info;
	uint32_t edu_id, e1000_id, val;
	int group_fd;

	if (_metadata->skip || !bus_reset_possible(_metadata, self->edu))
		return;
	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, pci_bind(self->e1000, "vfio-pci"));
	/* Not bound yet: the cdev answers nothing but BIND. */
	EXPECT_EQ(-EINVAL, vfio_pci_hot_reset_info(self->edu_dev, &info));
	ASSERT_EQ(0, vfio_cdev_bind(self->edu_dev, self->iommufd, &edu_id));

	ASSERT_EQ(0, vfio_pci_hot_reset_info(self->edu_dev, &info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info->flags);
	EXPECT_EQ(2, info->count);
	edu_entry = reset_entry(info, self->edu);
	e1000_entry = reset_entry(info, self->e1000);
	ASSERT_NE(NULL, edu_entry);
	ASSERT_NE(NULL, e1000_entry);
	EXPECT_EQ(edu_id, edu_entry->devid);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, e1000_entry->devid);
	free(info);

	/* A cdev caller passes no group fds. */
	group_fd = self->iommufd;
	EXPECT_EQ(-EINVAL, vfio_pci_hot_reset(self->edu_dev, &group_fd, 1));
	ASSERT_EQ(0, vfio_pci_hot_reset(self->edu_dev, NULL, 0));

	ASSERT_EQ(0, to_vfio_cdev(self->e1000, &self->e1000_dev));
	ASSERT_EQ(0, vfio_cdev_bind(self->e1000_dev, self->iommufd,
				    &e1000_id));
	ASSERT_EQ(0, vfio_pci_hot_reset_info(self->e1000_dev, &info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info->flags);
	ASSERT_NE(NULL, edu_entry = reset_entry(info, self->edu));
	ASSERT_NE(NULL, e1000_entry = reset_entry(info, self->e1000));
	EXPECT_EQ(edu_id, edu_entry->devid);
	EXPECT_EQ(e1000_id, e1000_entry->devid);
	free(info);

	/* The reset really happens: it clears what was written to RDBAL. */
	ASSERT_EQ(0, enable_memory(self->e1000_dev));
	val = RDBAL_MARK;
	ASSERT_EQ(0, e1000_rdbal(self->e1000_dev, true, &val));
	ASSERT_EQ(0, e1000_rdbal(self->e1000_dev, false, &val));
	ASSERT_EQ(RDBAL_MARK, val);
	ASSERT_EQ(0, vfio_pci_hot_reset(self->edu_dev, NULL, 0));
	ASSERT_EQ(0, e1000_rdbal(self->e1000_dev, false, &val));
	EXPECT_EQ(0, val);
}

/*
 * The e1000 has no driver: it is outside the edu's device set, so the
 * caller cannot own it, and the reset is refused with nothing reset.
 */
TEST_F(bridge_cdev, hot_reset_not_owned)
{
	struct vfio_pci_dependent_device *entry;
	struct vfio_pci_hot_reset_info *info;
	uint32_t edu_id;

	if (_metadata->skip || !bus_reset_possible(_metadata, self->edu))
		return;
	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, vfio_cdev_bind(self->edu_dev, self->iommufd, &edu_id));

	ASSERT_EQ(0, vfio_pci_hot_reset_info(self->edu_dev, &info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID, info->flags);
	EXPECT_EQ(2, info->count);
	ASSERT_NE(NULL, entry = reset_entry(info, self->edu));
	EXPECT_EQ(edu_id, entry->devid);
	ASSERT_NE(NULL, entry = reset_entry(info, self->e1000));
	EXPECT_EQ(VFIO_PCI_DEVID_NOT_OWNED, entry->devid);
	free(info);

	EXPECT_EQ(-EINVAL, vfio_pci_hot_reset(self->edu_dev, NULL, 0));
}

/*
 * The group path is unchanged: the INFO ioctl reports group IDs, and the
 * reset wants the files of the affected groups.
 */
TEST_F(bridge_cdev, hot_reset_group_path)
{
	struct vfio_pci_dependent_device *entry;
	struct vfio_pci_hot_reset_info *info;
	struct vfio_type1 *v = &self->v;
	int group_id;

	if (_metadata->skip ||
	    !need_config(_metadata, vfio_containers_configured(),
			 "CONFIG_VFIO_CONTAINER") ||
	    !bus_reset_possible(_metadata, self->edu))
		return;
	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, pci_bind(self->e1000, "vfio-pci"));
	close(self->edu_dev);
	self->edu_dev = -1;
	ASSERT_EQ(0, vfio_type1_open(v, self->edu));

	ASSERT_EQ(0, vfio_pci_hot_reset_info(v->device, &info));
	EXPECT_EQ(0, info->flags);
	EXPECT_EQ(2, info->count);
	group_id = iommu_group_of(self->edu);
	ASSERT_NE(NULL, entry = reset_entry(info, self->edu));
	EXPECT_EQ(group_id, entry->group_id);
	ASSERT_NE(NULL, entry = reset_entry(info, self->e1000));
	EXPECT_EQ(group_id, entry->group_id);
	free(info);

	EXPECT_EQ(-EINVAL, vfio_pci_hot_reset(v->device, NULL, 0));
	EXPECT_EQ(0, vfio_pci_hot_reset(v->device, &v->group, 1));
	vfio_type1_close(v);
}

/*
 * A failed BIND logs why, but a user who can open a cdev cannot flood the
 * kernel log with it: the messages of a burst of failed claims are rate
 * limited, a whole claim's report at a time.  Regression: every failed
 * BIND logged one unlimited line per device of the group in the way.
 */
TEST_F(bridge_cdev, failed_binds_log_ratelimited)
{
	struct timespec t0, t1;
	struct kmsg_mark mark;
	int i, lines, windows;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, kmsg_mark(&mark));
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t0));
	for (i = 0; i < 50; i++)
		ASSERT_EQ(-EPERM, vfio_cdev_bind(self->edu_dev, self->iommufd,
						 NULL));
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t1));
	lines = kmsg_count(&mark, "cannot claim DMA ownership");
	kmsg_close(&mark);
	if (!lines)
		SKIP(return, "no log line for a refused claim (mainline)");
	/* The default limit: 10 reports in each 5 s the burst lasted */
	windows = 1 + (t1.tv_sec - t0.tv_sec + 1) / 5;
	TH_LOG("%d lines for 50 failed binds in %ld s", lines,
	       (long)(t1.tv_sec - t0.tv_sec));
	/* The first failures are reported, and naming the e1000. */
	EXPECT_LE(1, lines);
	EXPECT_GE(10 * windows, lines);
	EXPECT_GT(50, lines);
	/* Let the limit pass, for the tests that look for the message. */
	sleep(6);
}

TEST_HARNESS_MAIN
