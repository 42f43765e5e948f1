// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated (mdev) devices on iommufd.  An mtty serial port is opened
 * through its cdev, bound, attached and used.  The mdma sample, a
 * mediated DMA engine, reaches memory by IOVA through the VFIO core: it
 * writes and reads an IOAS mapping, pins pages of it, and gets its
 * dma_unmap callback, dropping the pins, when the IOAS unmaps them.  The
 * mdma runs through its cdev and through its group with an iommufd in
 * place of the container.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define MTTY_UUID	"6a2e5f9c-1f0b-4f6e-9a51-3c1d2b0e7a11"
#define MDMA_UUID	"0d7c9b34-8e2a-4c55-b1f3-5a6e7d8c9f20"

/* The mdma sample's registers (samples/vfio-mdev/mdma.c) */
#define MDMA_REG_IOVA		0x00
#define MDMA_REG_COUNT		0x08
#define MDMA_REG_COMMAND	0x0c
#define  MDMA_CMD_PIN		1
#define  MDMA_CMD_UNPIN		2
#define  MDMA_CMD_FILL		3
#define  MDMA_CMD_SUM		4
#define MDMA_REG_STATUS		0x10
#define MDMA_REG_PATTERN	0x14
#define MDMA_REG_PINNED		0x18
#define MDMA_REG_UNMAPS		0x1c
#define MDMA_REG_SUM		0x20
/* mdma's test switch: its dma_unmap callback keeps the pins */
#define MDMA_IGNORE_UNMAP	"/sys/module/mdma/parameters/ignore_dma_unmap"
/* and the one that makes close_device() write STATUS at IOVA */
#define MDMA_STATUS_AT_CLOSE	"/sys/module/mdma/parameters/status_at_close"
/* and the one that makes open_device() write MDMA_OPEN_MAGIC at an IOVA */
#define MDMA_DMA_AT_OPEN	"/sys/module/mdma/parameters/dma_at_open"
#define MDMA_OPEN_MAGIC		0x4e45504f
/* An IOVA no other test maps, for the switch above */
#define IOVA_AT_OPEN		0x70000000ULL
/* mdma's physical personality, bound to a PCI device by driver_override */
#define MDMA_PCI_DRIVER		"mdma-pci"

#define PAGE		4096UL
#define IOVA		0x40000000ULL
#define BUF_PAGES	4

/* Load @module and create an instance of @type named @uuid. */
static bool mdev_setup(const char *module, const char *type,
		       const char *uuid)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "modprobe %s", module);
	if (system(cmd))
		return false;
	/* Left behind by a test that failed half-way */
	mdev_remove(uuid);
	return !mdev_create(module, type, uuid);
}

/*
 * The mdma sample mdev, made for a test.  The sample is this series' own:
 * a kernel without it (mainline) skips the test, as testbed/allowed-skips
 * allows only there; one that has it must be able to make the device.
 */
static bool need_mdma(struct __test_metadata *_metadata)
{
	if (system("modprobe mdma 2>/dev/null"))
		SKIP(return false, "no mdma module (a sample of this series)");
	/* Left on by a test that failed half-way */
	sysfs_write(MDMA_IGNORE_UNMAP, "N");
	sysfs_write(MDMA_STATUS_AT_CLOSE, "N");
	sysfs_write(MDMA_DMA_AT_OPEN, "0");
	return need(_metadata, mdev_setup("mdma", "mdma-1", MDMA_UUID),
		    "mdma sample mdev");
}

/* A page of anonymous memory, faulted in and zeroed, or NULL */
static void *page_buf(void)
{
	void *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return NULL;
	memset(buf, 0, PAGE);
	return buf;
}

static int mdev_cdev_open(const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s", uuid);
	return vfio_cdev_open_dev(path);
}

static int ioas_destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &destroy) ? -errno : 0;
}

/* mtty: the first port echoes what is written to it. */
TEST(mtty_cdev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar0 = {
		.argsz = sizeof(bar0),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	static const char msg[] = "device-centric";
	uint32_t ioas, pt_id, devid;
	int iommufd, fd;
	char c;
	size_t i;

	if (!need(_metadata, mdev_setup("mtty", "mtty-2", MTTY_UUID),
		  "mtty sample mdev"))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	fd = mdev_cdev_open(MTTY_UUID);
	ASSERT_LE(0, fd);

	/* Nothing but BIND before the bind */
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, vfio_cdev_bind(fd, iommufd, &devid));
	EXPECT_LT(0, devid);
	ASSERT_EQ(0, iommufd_ioas_alloc(iommufd, &ioas));
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, &pt_id));
	/* An emulated device is attached to the IOAS itself. */
	EXPECT_EQ(ioas, pt_id);
	/* The access attached holds the IOAS. */
	EXPECT_EQ(-EBUSY, ioas_destroy(iommufd, ioas));

	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &bar0));
	for (i = 0; i < sizeof(msg) - 1; i++)
		ASSERT_EQ(1, pwrite(fd, &msg[i], 1, bar0.offset + UART_TX));
	for (i = 0; i < sizeof(msg) - 1; i++) {
		ASSERT_EQ(1, pread(fd, &c, 1, bar0.offset + UART_RX));
		ASSERT_EQ(msg[i], c);
	}

	ASSERT_EQ(0, vfio_cdev_detach(fd));
	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(fd);
	close(iommufd);
	EXPECT_EQ(0, mdev_remove(MTTY_UUID));
}

static uint32_t mdma_get(int fd, unsigned int reg)
{
	uint32_t val = 0xdeadbeef;

	if (vfio_region_rw(fd, 0, false, &val, sizeof(val), reg))
		return 0xdeadbeef;
	return val;
}

/* Run @cmd on @len (pages or bytes) at @iova: its status, 0 or -errno */
static int mdma_run(int fd, uint32_t cmd, uint64_t iova, uint32_t count)
{
	if (vfio_region_rw(fd, 0, true, &iova, sizeof(iova), MDMA_REG_IOVA) ||
	    vfio_region_rw(fd, 0, true, &count, sizeof(count),
			   MDMA_REG_COUNT) ||
	    vfio_region_rw(fd, 0, true, &cmd, sizeof(cmd), MDMA_REG_COMMAND))
		return -EIO;
	return (int32_t)mdma_get(fd, MDMA_REG_STATUS);
}

/*
 * The mdma behind @fd, attached to @ioas of @iommufd: copies both ways
 * through a mapping, pins pages of it, and is told when they are
 * unmapped.  Leaves nothing mapped or pinned.
 */
static void mdma_exercise(struct __test_metadata *_metadata, int fd,
			  int iommufd, uint32_t ioas)
{
	size_t size = BUF_PAGES * PAGE, i;
	uint64_t unmapped = 0;
	uint32_t pattern = 0x3c, sum = 0;
	long vmpin;
	uint8_t *buf;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0, size);
	vmpin = proc_status_kb("VmPin");
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, size));

	/* Device -> memory, across page boundaries */
	ASSERT_EQ(0, vfio_region_rw(fd, 0, true, &pattern, sizeof(pattern),
				    MDMA_REG_PATTERN));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_FILL, IOVA + 100, 2 * PAGE));
	for (i = 0; i < size; i++)
		ASSERT_EQ(i >= 100 && i < 100 + 2 * PAGE ? 0x3c : 0, buf[i]);

	/* Memory -> device */
	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	for (i = PAGE - 10; i < 3 * PAGE; i++)
		sum += buf[i];
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_SUM, IOVA + PAGE - 10,
			      2 * PAGE + 10));
	EXPECT_EQ(sum, mdma_get(fd, MDMA_REG_SUM));

	/* Nothing mapped there: refused, nothing held */
	EXPECT_EQ(-ENOENT, mdma_run(fd, MDMA_CMD_FILL, IOVA + size, 16));
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + size, 1));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	/* An IOVA inside a page pins that page, as on type1. */
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + 1, 1));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_PINNED));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_UNPIN, 0, 0));

	/* Pin and unpin */
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + PAGE, 2));
	EXPECT_EQ(2, mdma_get(fd, MDMA_REG_PINNED));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_UNPIN, 0, 0));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_UNMAPS));

	/*
	 * With no page table, the IOAS pins nothing: the device's pins are
	 * the only ones, and charged once.  Pinned pages the user unmaps:
	 * the device hears of it first and lets go, and the unmap goes
	 * through.
	 */
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(buf, size, 0));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + PAGE, 2));
	EXPECT_EQ(vmpin + 2 * PAGE / 1024, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	EXPECT_EQ(0, page_pins_are(buf + PAGE, 2 * PAGE, 1));
	EXPECT_EQ(0, page_pins_are(buf + 3 * PAGE, size - 3 * PAGE, 0));
	ASSERT_EQ(0, iommufd_unmap(iommufd, ioas, IOVA, size, &unmapped));
	EXPECT_EQ(size, unmapped);
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_UNMAPS));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(buf, size, 0));

	/* The device cannot reach the pages any more. */
	memset(buf, 0, size);
	EXPECT_EQ(-ENOENT, mdma_run(fd, MDMA_CMD_FILL, IOVA, 16));
	for (i = 0; i < size; i++)
		ASSERT_EQ(0, buf[i]);
	munmap(buf, size);
}

TEST(mdma_cdev)
{
	uint32_t ioas, pt_id;
	int iommufd, fd;

	if (!need_mdma(_metadata))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_cdev_bind(fd, iommufd, NULL));
	ASSERT_EQ(0, iommufd_ioas_alloc(iommufd, &ioas));

	/* Not attached: no IOVA to reach */
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 16));

	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, &pt_id));
	EXPECT_EQ(ioas, pt_id);
	mdma_exercise(_metadata, fd, iommufd, ioas);

	close(fd);
	close(iommufd);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * Pins across attach changes: a replace and a detach take them back
 * through dma_unmap first.
 */
TEST(mdma_detach_with_pins)
{
	uint32_t ioas, ioas2, pattern = 0x5c;
	uint8_t *buf, *buf2;
	int iommufd, fd;
	size_t i;

	if (!need_mdma(_metadata))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	buf2 = page_buf();
	ASSERT_NE(NULL, buf2);
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_cdev_bind(fd, iommufd, NULL));
	ASSERT_EQ(0, iommufd_ioas_alloc(iommufd, &ioas));
	ASSERT_EQ(0, iommufd_ioas_alloc(iommufd, &ioas2));
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, NULL));
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, PAGE));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));

	/* On the first IOAS: its FILL lands in the first buffer. */
	ASSERT_EQ(0, vfio_region_rw(fd, 0, true, &pattern, sizeof(pattern),
				    MDMA_REG_PATTERN));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0x5c, buf[i]);
	ASSERT_EQ(0, buf[8]);

	/*
	 * A replace takes the pins back first, through the device's unmap
	 * callback, as mainline does; the device is then on the second
	 * IOAS, where nothing is mapped.
	 */
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas2, NULL));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_UNMAPS));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));

	/* So does a detach. */
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, NULL));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));
	ASSERT_EQ(0, vfio_cdev_detach(fd));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(2, mdma_get(fd, MDMA_REG_UNMAPS));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));

	/* Attached again, it works as before. */
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, NULL));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_UNPIN, 0, 0));
	/* Replaced, the device reaches the second IOAS's memory only. */
	ASSERT_EQ(0, iommufd_map(iommufd, ioas2, buf2, IOVA, PAGE));
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas2, NULL));
	memset(buf, 0, PAGE);
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_FILL, IOVA + 3, 5));
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(i >= 3 && i < 8 ? 0x5c : 0, buf2[i]);
		ASSERT_EQ(0, buf[i]);
	}
	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(fd);
	close(iommufd);
	munmap(buf, PAGE);
	munmap(buf2, PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * The mdma open through its cdev, bound to a new iommufd and attached to a
 * new IOAS of it.
 */
static void mdma_open_on_new_ioas(struct __test_metadata *_metadata,
				  int *iommufd, int *fd, uint32_t *ioas)
{
	*iommufd = iommufd_open();
	ASSERT_LE(0, *iommufd);
	*fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, *fd);
	ASSERT_EQ(0, vfio_cdev_bind(*fd, *iommufd, NULL));
	ASSERT_EQ(0, iommufd_ioas_alloc(*iommufd, ioas));
	ASSERT_EQ(0, vfio_cdev_attach(*fd, *ioas, NULL));
}

/* A device closed while it holds pins lets them go. */
TEST(mdma_close_with_pins)
{
	long vmpin = proc_status_kb("VmPin");
	uint32_t ioas;
	int iommufd, fd;
	void *buf;

	if (!need_mdma(_metadata))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	mdma_open_on_new_ioas(_metadata, &iommufd, &fd, &ioas);
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, PAGE));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 1));

	close(fd);
	/* The access is gone with its pins: the IOAS can go. */
	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(iommufd);
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	munmap(buf, PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * A driver that keeps its pins when told to drop them (mdma's test switch
 * ignore_dma_unmap): the detach is refused with a warning and the device
 * stays attached, so that, the driver fixed, a detach takes the pins back
 * and an attach works again.  Regression: the refused detach was recorded
 * as done; the next detach then did nothing, the attach failed, and the
 * close skipped the detach and left the pages pinned for good.
 */
TEST(mdma_detach_refused_while_driver_keeps_pins)
{
	long vmpin = proc_status_kb("VmPin");
	struct kmsg_mark mark;
	uint32_t ioas;
	int iommufd, fd;
	void *buf;

	if (!need_mdma(_metadata))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	mdma_open_on_new_ioas(_metadata, &iommufd, &fd, &ioas);
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, PAGE));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));

	ASSERT_EQ(0, sysfs_write(MDMA_IGNORE_UNMAP, "Y"));
	ASSERT_EQ(0, expect_warn_begin(&mark, "iommufd_access_detach"));
	/* The uAPI's detach cannot fail: the device just stays attached. */
	EXPECT_EQ(0, vfio_cdev_detach(fd));
	EXPECT_EQ(1, expect_warn_end(&mark, "iommufd_access_detach"));
	ASSERT_EQ(0, sysfs_write(MDMA_IGNORE_UNMAP, "N"));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 1));
	/* Still attached: it reaches the IOAS. */
	EXPECT_EQ(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));

	/* The driver fixed, a detach takes the pins back and detaches. */
	EXPECT_EQ(0, vfio_cdev_detach(fd));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	EXPECT_GT(0, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));
	/* Attached again, it works as before. */
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, NULL));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));
	close(fd);
	EXPECT_EQ(0, page_pins_are(buf, PAGE, 0));
	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(iommufd);
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	munmap(buf, PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/* The VFIO group of the mdma, opened, or -1 */
static int mdma_group_open(void)
{
	char path[128];
	int group_id;

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s", MDMA_UUID);
	group_id = iommu_group_of_dev(path);
	if (group_id < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	return open(path, O_RDWR);
}

/* The group path with an iommufd: the mdma uses the compatibility IOAS. */
TEST(mdma_group_with_iommufd)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int iommufd, group, fd;

	if (!need_config(_metadata, vfio_groups_configured(),
			 "CONFIG_VFIO_GROUP"))
		return;
	if (!need_mdma(_metadata))
		return;
	group = mdma_group_open();
	ASSERT_LE(0, group);
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, MDMA_UUID);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &vioas));

	mdma_exercise(_metadata, fd, iommufd, vioas.ioas_id);

	close(fd);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	close(group);
	close(iommufd);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * Pins at an IOVA that is not page aligned, as vfio-ccw and vfio-ap make
 * them: the page holding the IOVA is pinned, and the unpin of the same
 * IOVA lets exactly that page go.  Then pins taken back by an unmap of the
 * whole IOVA space, which calls dma_unmap with a length that does not
 * wrap.  Regressions: vfio_pin_pages() refused the IOVA (EINVAL), and the
 * unmap-all handed dma_unmap a length of 0, which mdma (as i915 and
 * vfio-ap) takes as nothing to unpin: the unmap warned and failed (EBUSY).
 */
TEST(mdma_unaligned_pin_and_unmap_all)
{
	uint64_t unmapped = 0;
	uint32_t ioas;
	int iommufd, fd;
	uint8_t *buf;

	if (!need_mdma(_metadata))
		return;
	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0, 2 * PAGE);
	mdma_open_on_new_ioas(_metadata, &iommufd, &fd, &ioas);
	/* Two mappings, one page each: an unpin must find the right one. */
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, PAGE));
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf + PAGE, IOVA + PAGE,
				 PAGE));

	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + 0x123, 1));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_PINNED));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_UNPIN, 0, 0));
	/* The second page was never pinned, the first is free again. */
	ASSERT_EQ(0, iommufd_unmap(iommufd, ioas, IOVA + PAGE, PAGE,
				   &unmapped));
	EXPECT_EQ(PAGE, unmapped);
	ASSERT_EQ(0, iommufd_unmap(iommufd, ioas, IOVA, PAGE, &unmapped));
	EXPECT_EQ(PAGE, unmapped);
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_UNMAPS));

	/* Two pages from the one holding the last byte of the first */
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, 2 * PAGE));
	ASSERT_EQ(0, mdma_run(fd, MDMA_CMD_PIN, IOVA + PAGE - 1, 2));
	EXPECT_EQ(2, mdma_get(fd, MDMA_REG_PINNED));
	ASSERT_EQ(0, iommufd_unmap(iommufd, ioas, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(2 * PAGE, unmapped);
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(1, mdma_get(fd, MDMA_REG_UNMAPS));

	close(fd);
	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(iommufd);
	munmap(buf, 2 * PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * A BIND that fails after the device was opened (the devid cannot be
 * written back) closes the device again, and the driver's close_device()
 * still finds it open: with mdma's test switch status_at_close, it uses
 * vfio_dma_rw() there.  Regression: BIND's error path dropped the open
 * count first, and the VFIO core warned that the device was not open.
 */
TEST(mdma_bind_failing_late_closes_an_open_device)
{
	struct vfio_device_bind_iommufd *bind;
	struct kmsg_mark mark;
	uint32_t ioas;
	int iommufd, fd;
	int32_t *buf;

	if (!need_mdma(_metadata))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	bind = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bind);
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	bind->argsz = sizeof(*bind);
	bind->iommufd = iommufd;
	/* Readable, so that BIND gets as far as writing out_devid */
	ASSERT_EQ(0, mprotect(bind, PAGE, PROT_READ));
	fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sysfs_write(MDMA_STATUS_AT_CLOSE, "Y"));

	ASSERT_EQ(0, kmsg_mark(&mark));
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, bind));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, kmsg_count(&mark, "WARNING"));
	kmsg_close(&mark);

	/* Closed again: it binds, and its close posts the status. */
	ASSERT_EQ(0, vfio_cdev_bind(fd, iommufd, NULL));
	ASSERT_EQ(0, iommufd_ioas_alloc(iommufd, &ioas));
	ASSERT_EQ(0, vfio_cdev_attach(fd, ioas, NULL));
	ASSERT_EQ(0, iommufd_map(iommufd, ioas, buf, IOVA, PAGE));
	EXPECT_EQ(-EINVAL, mdma_run(fd, MDMA_CMD_PIN, IOVA + 8, 0));
	close(fd);
	EXPECT_EQ(0, sysfs_write(MDMA_STATUS_AT_CLOSE, "N"));
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(-EINVAL, buf[2]);
	EXPECT_EQ(0, buf[3]);

	EXPECT_EQ(0, ioas_destroy(iommufd, ioas));
	close(iommufd);
	munmap(bind, PAGE);
	munmap(buf, PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * The driver's open_device() finds its device open, as it did on 6.1 and
 * does on mainline: with mdma's test switch dma_at_open, open_device()
 * writes a magic with vfio_dma_rw().  Through the cdev, BIND opens the
 * device before any ATTACH, so the write fails quietly; through the group
 * with an iommufd, the device is attached to the compatibility IOAS before
 * open_device() and the magic lands.  Regression: the open count was
 * raised only after open_device() returned; the VFIO core warned that the
 * device was not open and refused the write (and vfio-pci's device set,
 * whose count the open missed, could reset a bus under another user of
 * it when open_device() failed).
 */
TEST(mdma_open_device_finds_the_device_open)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int iommufd, group, fd;
	struct kmsg_mark mark;
	char path[128];
	uint32_t *buf;

	if (!need_mdma(_metadata))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "%llu", IOVA_AT_OPEN);
	ASSERT_EQ(0, kmsg_mark(&mark));
	ASSERT_EQ(0, sysfs_write(MDMA_DMA_AT_OPEN, path));

	EXPECT_EQ(0, vfio_cdev_bind(fd, iommufd, NULL));
	close(fd);

	if (vfio_groups_configured()) {
		group = mdma_group_open();
		ASSERT_LE(0, group);
		ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
		ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &vioas));
		ASSERT_EQ(0, iommufd_map(iommufd, vioas.ioas_id, buf,
					 IOVA_AT_OPEN, PAGE));
		fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, MDMA_UUID);
		EXPECT_LE(0, fd);
		EXPECT_EQ(MDMA_OPEN_MAGIC, buf[0]);
		EXPECT_EQ(0, buf[1]);
		if (fd >= 0)
			close(fd);
		EXPECT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
		close(group);
	}

	EXPECT_EQ(0, sysfs_write(MDMA_DMA_AT_OPEN, "0"));
	EXPECT_EQ(0, kmsg_count(&mark, "WARNING"));
	kmsg_close(&mark);
	close(iommufd);
	munmap(buf, PAGE);
	EXPECT_EQ(0, mdev_remove(MDMA_UUID));
}

/*
 * Remove the mdma in a child, which blocks while the device has users: not
 * the copies of the parent's files, which the child closes first.
 */
static pid_t mdma_remove_in_child(void)
{
	pid_t pid = fork();
	int fd;

	if (!pid) {
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		_exit(mdev_remove(MDMA_UUID) ? 1 : 0);
	}
	return pid;
}

/*
 * Whether @try_open fails within 10 s of tries, closing what it opens: a
 * device being removed must refuse new openers soon after the removal
 * starts.
 */
static bool mdma_opens_stop(int (*try_open)(void *arg), void *arg)
{
	int i, fd;

	for (i = 0; i < 100; i++) {
		fd = try_open(arg);
		if (fd < 0)
			return true;
		close(fd);
		usleep(100000);
	}
	return false;
}

static int mdma_open_path(void *arg)
{
	return open(arg, O_RDWR);
}

static int mdma_open_by_name(void *arg)
{
	return ioctl(*(int *)arg, VFIO_GROUP_GET_DEVICE_FD, MDMA_UUID);
}

/*
 * A device that is going away takes no new opener, as on mainline: once
 * its driver unregisters it, its cdev is gone (and a file of it reopened
 * through /proc/self/fd is refused too) and its group no longer finds it
 * by name, while the files open already keep working until they are
 * closed, which the removal waits for.  Regression: every kind of open
 * still succeeded while the removal waited (and it then waited for those
 * files too).
 */
TEST(mdma_removal_takes_no_new_opener)
{
	int iommufd, fd, group, status;
	char path[128], link[64];
	uint32_t info = 0;
	ssize_t n;
	pid_t pid;

	if (!need_mdma(_metadata))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	fd = mdev_cdev_open(MDMA_UUID);
	ASSERT_LE(0, fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	ASSERT_LT(0, n);
	path[n] = 0;
	ASSERT_EQ(0, vfio_cdev_bind(fd, iommufd, NULL));

	pid = mdma_remove_in_child();
	ASSERT_LT(0, pid);
	EXPECT_TRUE(mdma_opens_stop(mdma_open_path, path));
	EXPECT_TRUE(mdma_opens_stop(mdma_open_path, link));
	EXPECT_EQ(ENODEV, errno);
	/* The file open already still works. */
	EXPECT_EQ(0, vfio_region_rw(fd, 0, false, &info, sizeof(info),
				    MDMA_REG_STATUS));
	/* And the removal still waits for it. */
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	if (vfio_groups_configured()) {
		if (!need_mdma(_metadata))
			return;
		group = mdma_group_open();
		ASSERT_LE(0, group);
		ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
		fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, MDMA_UUID);
		ASSERT_LE(0, fd);

		pid = mdma_remove_in_child();
		ASSERT_LT(0, pid);
		EXPECT_TRUE(mdma_opens_stop(mdma_open_by_name, &group));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
		close(fd);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		close(group);
	}
	close(iommufd);
}

/*
 * mdma's engine as a physical device, on the edu alone in its IOMMU group.
 * The teardown closes what the test opened, then rebinds the edu's old
 * driver: an unbind waits for the device's files to close, so the order
 * matters when an assertion failed with them open.
 */
FIXTURE(mdma_pci) {
	char bdf[32];
	char old_driver[64];
	bool bound;
	int iommufd;
	int group;
	int fd;
};

FIXTURE_SETUP(mdma_pci)
{
	int ret;

	self->iommufd = -1;
	self->group = -1;
	self->fd = -1;
	if (!need_mdma(_metadata))
		return;
	if (!need(_metadata, !edu_find_alone(self->bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->bdf, self->old_driver,
				   sizeof(self->old_driver)));
	/* The teardown does not run after a failed setup: undo here. */
	ret = pci_bind(self->bdf, MDMA_PCI_DRIVER);
	ASSERT_EQ(0, ret)
		pci_bind(self->bdf,
			 self->old_driver[0] ? self->old_driver : NULL);
	self->bound = true;
}

FIXTURE_TEARDOWN(mdma_pci)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->group >= 0)
		close(self->group);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->bound)
		pci_bind(self->bdf,
			 self->old_driver[0] ? self->old_driver : NULL);
	mdev_remove(MDMA_UUID);
}

/*
 * Run PIN and FILL on the mdma-pci behind @fd, whose IOVA maps @buf: both
 * are refused with EINVAL, and neither pins nor writes.
 */
static void mdma_pci_refused(struct __test_metadata *_metadata, int fd,
			     uint8_t *buf)
{
	uint32_t pattern = 0xa5;
	size_t i;

	ASSERT_EQ(0, vfio_region_rw(fd, 0, true, &pattern, sizeof(pattern),
				    MDMA_REG_PATTERN));
	EXPECT_EQ(-EINVAL, mdma_run(fd, MDMA_CMD_PIN, IOVA, 1));
	EXPECT_EQ(0, mdma_get(fd, MDMA_REG_PINNED));
	EXPECT_EQ(-EINVAL, mdma_run(fd, MDMA_CMD_FILL, IOVA, 8));
	for (i = 0; i < PAGE; i++)
		ASSERT_EQ(0, buf[i]);
}

/*
 * A physical device opened through an iommufd has no access: the VFIO
 * core's vfio_pin_pages() and vfio_dma_rw() are for emulated devices and
 * refuse it with EINVAL, as mainline does.  mdma's engine bound to the edu
 * as a physical device is such a driver.  Regression: both took it for a
 * device of a container and dereferenced its NULL container.  Through the
 * cdev, then through the group with an iommufd as its container.
 */
TEST_F(mdma_pci, cdev_cannot_pin)
{
	uint32_t ioas, pt_id;
	uint8_t *buf;

	if (_metadata->skip)
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	self->fd = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vfio_cdev_bind(self->fd, self->iommufd, NULL));
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &ioas));
	ASSERT_EQ(0, vfio_cdev_attach(self->fd, ioas, &pt_id));
	/* A physical device is attached to a page table, not the IOAS */
	EXPECT_NE(ioas, pt_id);
	ASSERT_EQ(0, iommufd_map(self->iommufd, ioas, buf, IOVA, PAGE));
	mdma_pci_refused(_metadata, self->fd, buf);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, ioas_destroy(self->iommufd, ioas));
	munmap(buf, PAGE);
}

TEST_F(mdma_pci, group_with_iommufd_cannot_pin)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	uint8_t *buf;

	if (_metadata->skip)
		return;
	if (!need_config(_metadata, vfio_groups_configured(),
			 "CONFIG_VFIO_GROUP"))
		return;
	buf = page_buf();
	ASSERT_NE(NULL, buf);
	self->group = vfio_group_open(self->bdf);
	ASSERT_LE(0, self->group);
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->iommufd));
	self->fd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_VFIO_IOAS, &vioas));
	ASSERT_EQ(0, iommufd_map(self->iommufd, vioas.ioas_id, buf, IOVA,
				 PAGE));
	mdma_pci_refused(_metadata, self->fd, buf);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, ioctl(self->group, VFIO_GROUP_UNSET_CONTAINER));
	munmap(buf, PAGE);
}

TEST_HARNESS_MAIN
