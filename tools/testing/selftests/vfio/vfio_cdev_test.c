// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO on iommufd with the root-bus edu bound to vfio-pci: through the
 * device cdev (/dev/vfio/devices/vfioX, BIND, ATTACH, DETACH) and through
 * the group with an iommufd in place of a container.  The edu does DMA in
 * both directions; once its IOVA is unmapped, or the device detached, the
 * IOMMU blocks it and memory stays as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define IOVA		0x10000000ULL
#define BUF_SIZE	(2 * 4096UL)
#define LEN		4000

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* RAM at @iova -> device -> RAM at @iova + 4096, checked in @buf. */
static int roundtrip(struct edu *edu, uint64_t iova, uint8_t *buf,
		     uint8_t seed)
{
	fill(buf, LEN, seed);
	memset(buf + 4096, 0, LEN);
	if (edu_dma_from_ram(edu, iova, 0, LEN) ||
	    edu_dma_to_ram(edu, iova + 4096, 0, LEN))
		return -EIO;
	return memcmp(buf, buf + 4096, LEN) ? -EINVAL : 0;
}

FIXTURE(cdev) {
	char bdf[BDF_LEN];
	char old_driver[64];
	int iommufd;
	int device;
	uint32_t devid;
	uint32_t ioas;
	uint32_t hwpt;
	struct edu edu;
	uint8_t *buf;
	long vmpin;
};

FIXTURE_SETUP(cdev)
{
	self->iommufd = -1;
	self->device = -1;
	if (!need(_metadata, !edu_find_alone(self->bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->bdf, self->old_driver,
				   sizeof(self->old_driver)));
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, BUF_SIZE);
	self->vmpin = proc_status_kb("VmPin");
	ASSERT_LE(0, self->vmpin);

	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	self->device = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->device);
	ASSERT_EQ(0, vfio_cdev_bind(self->device, self->iommufd,
				    &self->devid));
	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &self->ioas));
	ASSERT_EQ(0, vfio_cdev_attach(self->device, self->ioas, &self->hwpt));
	ASSERT_EQ(0, edu_open(&self->edu, self->device, self->bdf));
}

FIXTURE_TEARDOWN(cdev)
{
	if (!self->bdf[0])
		return;
	edu_close(&self->edu);
	if (self->device >= 0)
		close(self->device);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	pci_bind(self->bdf, self->old_driver[0] ? self->old_driver : NULL);
}

/*
 * DMA both ways through the IOAS; after IOAS_UNMAP the device cannot reach
 * the pages any more.
 */
TEST_F(cdev, dma_and_unmap)
{
	uint64_t unmapped = 0;

	if (_metadata->skip)
		return;
	EXPECT_NE(0, self->devid);
	EXPECT_NE(self->ioas, self->hwpt);
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x31));
	/* Again with other data: the first result was no leftover. */
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0xc4));

	ASSERT_EQ(0, iommufd_unmap(self->iommufd, self->ioas, IOVA, BUF_SIZE,
				   &unmapped));
	ASSERT_EQ(BUF_SIZE, unmapped);
	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA + 4096,
					   self->buf + 4096, LEN));
}

/*
 * A second ATTACH moves the device to another IOAS while it has DMA
 * mappings: its DMA then lands in the new IOAS's memory, never the old.
 */
TEST_F(cdev, replace_ioas)
{
	uint8_t *buf2;
	uint32_t ioas2, hwpt2, again;

	if (_metadata->skip)
		return;
	buf2 = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x17));

	ASSERT_EQ(0, iommufd_ioas_alloc(self->iommufd, &ioas2));
	ASSERT_EQ(0, iommufd_map(self->iommufd, ioas2, buf2, IOVA, BUF_SIZE));
	ASSERT_EQ(0, vfio_cdev_attach(self->device, ioas2, &hwpt2));
	EXPECT_NE(self->hwpt, hwpt2);

	memset(self->buf + 4096, 0x3c, LEN);
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, buf2, 0x6b));
	/* The old IOAS's memory saw nothing of it. */
	for (int i = 0; i < LEN; i++)
		ASSERT_EQ(0x3c, self->buf[4096 + i]);

	/* The same IOAS again changes nothing; back to the first works. */
	ASSERT_EQ(0, vfio_cdev_attach(self->device, ioas2, &again));
	EXPECT_EQ(hwpt2, again);
	ASSERT_EQ(0, vfio_cdev_attach(self->device, self->ioas, &again));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x2f));
	munmap(buf2, BUF_SIZE);
}

/* DETACH blocks DMA; ATTACH again restores it. */
TEST_F(cdev, detach)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x44));
	ASSERT_EQ(0, vfio_cdev_detach(self->device));
	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA + 4096,
					   self->buf + 4096, LEN));
	/* Detaching twice is harmless. */
	ASSERT_EQ(0, vfio_cdev_detach(self->device));
	ASSERT_EQ(0, vfio_cdev_attach(self->device, self->ioas, NULL));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x45));
}

/* Closing the device and the iommufd releases every pin. */
TEST_F(cdev, close_releases_pins)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	EXPECT_EQ(self->vmpin + BUF_SIZE / 1024, proc_status_kb("VmPin"));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x52));
	edu_close(&self->edu);
	close(self->device);
	self->device = -1;
	/* The iommufd keeps its IOAS, and the pins, until it closes. */
	EXPECT_EQ(self->vmpin + BUF_SIZE / 1024, proc_status_kb("VmPin"));
	close(self->iommufd);
	self->iommufd = -1;
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
}

/* Every new ioctl refuses bad input with a clear errno. */
TEST_F(cdev, bad_input)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = self->ioas,
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = self->iommufd,
	};
	int second, group;

	if (_metadata->skip)
		return;
	/* Bound already, through this file */
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);

	/* ATTACH: short argsz, flags, unknown and wrong-type IDs */
	attach.argsz = offsetof(struct vfio_device_attach_iommufd_pt, pt_id);
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			    &attach));
	EXPECT_EQ(EINVAL, errno);
	attach.argsz = sizeof(attach);
	attach.flags = 1;
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			    &attach));
	EXPECT_EQ(EINVAL, errno);
	attach.flags = 0;
	EXPECT_EQ(-ENOENT, vfio_cdev_attach(self->device, 0xffff, NULL));
	EXPECT_EQ(-EINVAL, vfio_cdev_attach(self->device, self->devid, NULL));
	/* ... and the device stays where it was. */
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x61));

	/* DETACH: short argsz, flags */
	detach.argsz = sizeof(detach) - 1;
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			    &detach));
	EXPECT_EQ(EINVAL, errno);
	detach.argsz = sizeof(detach);
	detach.flags = 1;
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			    &detach));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x62));

	/* A second file of the cdev: nothing but BIND, which is refused */
	second = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, second);
	EXPECT_EQ(-EINVAL, vfio_cdev_attach(second, self->ioas, NULL));
	EXPECT_EQ(-1, ioctl(second, VFIO_DEVICE_GET_INFO, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EBUSY, vfio_cdev_bind(second, self->iommufd, NULL));
	close(second);

	/*
	 * The group cannot be opened while a device of it is bound; a kernel
	 * without groups has no group to open.
	 */
	group = vfio_group_open(self->bdf);
	EXPECT_EQ(vfio_groups_configured() ? -EBUSY : -ENOENT, group);
	if (group >= 0)
		close(group);
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x63));
}

/* BIND refuses bad input, and a refused BIND leaves the device free. */
TEST(cdev_bind_bad_input)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char bdf[BDF_LEN], old_driver[64];
	int iommufd, device, other, group;
	long vmpin = proc_status_kb("VmPin");

	if (!need(_metadata, !edu_find_alone(bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(bdf, old_driver, sizeof(old_driver)));
	ASSERT_EQ(0, pci_bind(bdf, "vfio-pci"));
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	device = vfio_cdev_open(bdf);
	ASSERT_LE(0, device);

	bind.iommufd = iommufd;
	bind.argsz = offsetof(struct vfio_device_bind_iommufd, out_devid);
	EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
	bind.argsz = sizeof(bind);
	bind.flags = 1;
	EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
	bind.flags = 0;
	EXPECT_EQ(-EINVAL, vfio_cdev_bind(device, -1, NULL));
	/* Not an iommufd; not an open fd */
	other = open("/dev/null", O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_EQ(-EBADFD, vfio_cdev_bind(device, other, NULL));
	EXPECT_EQ(-EBADFD, vfio_cdev_bind(device, device, NULL));
	close(other);
	EXPECT_EQ(-EBADF, vfio_cdev_bind(device, other, NULL));
	/* Nothing but BIND before it succeeded */
	EXPECT_EQ(-EINVAL, vfio_cdev_attach(device, 1, NULL));
	EXPECT_EQ(-EINVAL, vfio_cdev_detach(device));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, device,
				   0));

	/* While the group is open the cdev cannot bind. */
	if (vfio_groups_configured()) {
		group = vfio_group_open(bdf);
		ASSERT_LE(0, group);
		EXPECT_EQ(-EBUSY, vfio_cdev_bind(device, iommufd, NULL));
		close(group);
	}

	/* None of that left anything behind: the bind works now. */
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	ASSERT_EQ(0, vfio_cdev_bind(device, iommufd, NULL));
	close(device);
	close(iommufd);
	/* And the group can be opened again once the cdev is closed. */
	if (vfio_groups_configured()) {
		group = vfio_group_open(bdf);
		ASSERT_LE(0, group);
		close(group);
	}
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

/*
 * The root-bus edu has neither a slot nor a bus to reset: both hot-reset
 * ioctls say so, and a cdev caller may not pass group fds.
 */
TEST_F(cdev, hot_reset_unsupported)
{
	struct vfio_pci_hot_reset_info *info;
	int group_fd = self->iommufd;

	if (_metadata->skip)
		return;
	EXPECT_EQ(-ENODEV, vfio_pci_hot_reset_info(self->device, &info));
	EXPECT_EQ(-ENODEV, vfio_pci_hot_reset(self->device, NULL, 0));
	EXPECT_EQ(-EINVAL, vfio_pci_hot_reset(self->device, &group_fd, 1));
	/* The device works as before. */
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x19));
}

/*
 * The group path with an iommufd in place of the container: the device is
 * attached to the IOAS of IOMMU_VFIO_IOAS, which the kernel made.
 */
TEST(group_with_iommufd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	char bdf[BDF_LEN], old_driver[64];
	int iommufd, group, device, cdev;
	uint64_t unmapped = 0;
	struct edu edu;
	uint8_t *buf;
	long vmpin;

	if (!need_config(_metadata, vfio_groups_configured(),
			 "CONFIG_VFIO_GROUP"))
		return;
	if (!need(_metadata, !edu_find_alone(bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(bdf, old_driver, sizeof(old_driver)));
	ASSERT_EQ(0, pci_bind(bdf, "vfio-pci"));
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	vmpin = proc_status_kb("VmPin");

	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	group = vfio_group_open(bdf);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  status.flags);
	/* Set twice */
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &vioas));

	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, device);
	/* The cdev cannot bind the device meanwhile. */
	cdev = vfio_cdev_open(bdf);
	ASSERT_LE(0, cdev);
	EXPECT_EQ(-EBUSY, vfio_cdev_bind(cdev, iommufd, NULL));
	close(cdev);
	/* A device file of the group path has no cdev ioctls. */
	EXPECT_EQ(-ENOTTY, vfio_cdev_attach(device, vioas.ioas_id, NULL));

	ASSERT_EQ(0, edu_open(&edu, device, bdf));
	ASSERT_EQ(0, iommufd_map(iommufd, vioas.ioas_id, buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&edu, IOVA, buf, 0x77));
	ASSERT_EQ(0, iommufd_unmap(iommufd, vioas.ioas_id, IOVA, BUF_SIZE,
				   &unmapped));
	ASSERT_EQ(BUF_SIZE, unmapped);
	EXPECT_TRUE(edu_dma_to_ram_blocked(&edu, IOVA + 4096, buf + 4096, LEN));

	/* The container cannot go while a device is open. */
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(EBUSY, errno);
	edu_close(&edu);
	close(device);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(EINVAL, errno);
	close(group);
	close(iommufd);
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	munmap(buf, BUF_SIZE);
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

TEST_HARNESS_MAIN
