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
#include <linux/kvm.h>
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

/*
 * IOAS_MAP's permissions reach the IOMMU: through a read-only mapping the
 * edu reads, while its write there is blocked and leaves memory as it
 * was; through a write-only mapping it writes.
 */
TEST_F(cdev, read_only_mapping)
{
	uint8_t *ro = self->buf, *rw = self->buf + 4096, expect[LEN];

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, iommufd_map_flags(self->iommufd, self->ioas, ro, IOVA,
				       4096, IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, rw, IOVA + 4096,
				 4096));
	/*
	 * The write first: QEMU's intel-iommu reports a fault only when it
	 * walks the page table, and drops a write that hits a read-only
	 * entry of its IOTLB silently.
	 */
	EXPECT_TRUE(edu_dma_to_ram_blocked(&self->edu, IOVA, ro, LEN));
	fill(ro, LEN, 0x5e);
	memcpy(expect, ro, LEN);
	memset(rw, 0, LEN);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA, 0, LEN));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + 4096, 0, LEN));
	ASSERT_EQ(0, memcmp(expect, rw, LEN));

	/* The edu still holds expect[]: write it through a write-only map. */
	ASSERT_EQ(0, iommufd_unmap(self->iommufd, self->ioas, IOVA + 4096,
				   4096, NULL));
	ASSERT_EQ(0, iommufd_map_flags(self->iommufd, self->ioas, rw,
				       IOVA + 4096, 4096,
				       IOMMU_IOAS_MAP_WRITEABLE));
	memset(rw, 0, LEN);
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA + 4096, 0, LEN));
	ASSERT_EQ(0, memcmp(expect, rw, LEN));
}

/* x86's MSI window: a write there is an interrupt, never memory */
#define MSI_START	0xfee00000ULL
#define MSI_LAST	0xfeefffffULL

/* IOAS_IOVA_RANGES of @ioas into @r (up to 8); the count, or -errno. */
static int iova_ranges(int iommufd, uint32_t ioas,
		       struct iommu_iova_range r[8])
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = 8,
		.allowed_iovas = (uintptr_t)r,
	};

	if (ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &cmd))
		return -errno;
	return cmd.num_iovas;
}

/*
 * The IOMMU's MSI window is reserved in the IOAS while the device is
 * attached: IOVA_RANGES leaves it out, exactly, and a mapping that
 * touches it is refused with EINVAL, as any reserved range is.  Detached,
 * the device no longer reserves it; a mapping there then keeps the device
 * from attaching.
 */
TEST_F(cdev, msi_window_reserved)
{
	struct iommu_iova_range r[8];
	bool below = false, above = false;
	int n, i;

	if (_metadata->skip)
		return;
	n = iova_ranges(self->iommufd, self->ioas, r);
	ASSERT_LT(1, n);
	for (i = 0; i < n; i++) {
		EXPECT_TRUE(r[i].last < MSI_START || r[i].start > MSI_LAST);
		below |= r[i].last == MSI_START - 1;
		above |= r[i].start == MSI_LAST + 1;
	}
	EXPECT_TRUE(below);
	EXPECT_TRUE(above);
	EXPECT_EQ(-EINVAL, iommufd_map(self->iommufd, self->ioas,
				       self->buf, MSI_START, 4096));
	EXPECT_EQ(-EINVAL, iommufd_map(self->iommufd, self->ioas,
				       self->buf, MSI_LAST + 1 - 4096,
				       4096));
	EXPECT_EQ(-EINVAL, iommufd_map(self->iommufd, self->ioas,
				       self->buf, MSI_START - 4096,
				       BUF_SIZE));
	/* Right next to it is fine. */
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf,
				 MSI_START - BUF_SIZE, BUF_SIZE));
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf,
				 MSI_LAST + 1, BUF_SIZE));
	ASSERT_EQ(0, iommufd_unmap(self->iommufd, self->ioas, 0, UINT64_MAX,
				   NULL));

	ASSERT_EQ(0, vfio_cdev_detach(self->device));
	n = iova_ranges(self->iommufd, self->ioas, r);
	ASSERT_EQ(1, n);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf,
				 MSI_START, 4096));
	EXPECT_EQ(-EADDRINUSE, vfio_cdev_attach(self->device, self->ioas,
						NULL));
	ASSERT_EQ(0, iommufd_unmap(self->iommufd, self->ioas, MSI_START, 4096,
				   NULL));
	ASSERT_EQ(0, vfio_cdev_attach(self->device, self->ioas, NULL));
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x39));
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

/* Closing the device, the last user of the page table, releases every pin. */
TEST_F(cdev, close_releases_pins)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	EXPECT_EQ(self->vmpin + BUF_SIZE / 1024, proc_status_kb("VmPin"));
	/* The accounting, and the pins themselves: each page once */
	EXPECT_EQ(0, page_pins_are(self->buf, BUF_SIZE, 1));
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x52));
	edu_close(&self->edu);
	close(self->device);
	self->device = -1;
	/*
	 * The iommufd keeps its IOAS and the mapping until it closes, but
	 * with no page table left nothing needs the pins.
	 */
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(self->buf, BUF_SIZE, 0));
	EXPECT_EQ(0, iommufd_unmap(self->iommufd, self->ioas, IOVA, BUF_SIZE,
				   NULL));
	close(self->iommufd);
	self->iommufd = -1;
	EXPECT_EQ(self->vmpin, proc_status_kb("VmPin"));
	EXPECT_EQ(0, page_pins_are(self->buf, BUF_SIZE, 0));
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

	/*
	 * A second file of the cdev: nothing but BIND, which is refused with
	 * EINVAL (as mainline) while the device is bound through another.
	 */
	second = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, second);
	EXPECT_EQ(-EINVAL, vfio_cdev_attach(second, self->ioas, NULL));
	EXPECT_EQ(-1, ioctl(second, VFIO_DEVICE_GET_INFO, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, vfio_cdev_bind(second, self->iommufd, NULL));
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
/*
 * Find the edu that is alone in its IOMMU group and give it to vfio-pci;
 * @old_driver gets the driver it had.  False when the test is skipped.
 */
static bool edu_alone_on_vfio_pci(struct __test_metadata *_metadata,
				  char *bdf, char *old_driver)
{
	if (!need(_metadata, !edu_find_alone(bdf),
		  "edu alone in its IOMMU group"))
		return false;
	ASSERT_EQ(0, pci_driver_of(bdf, old_driver, 64));
	ASSERT_EQ(0, pci_bind(bdf, "vfio-pci"));
	return true;
}

/*
 * Which IOMMU the rig's machine has (testbed.iommu= on the kernel command
 * line): "intel" has interrupt remapping, "virtio" cannot have it on x86.
 * An empty string off the rig.
 */
static void testbed_iommu(char kind[16])
{
	char cmdline[1024] = "", *arg;

	kind[0] = 0;
	if (sysfs_read("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		return;
	arg = strstr(cmdline, "testbed.iommu=");
	if (arg)
		sscanf(arg + strlen("testbed.iommu="), "%15[a-z]", kind);
}

/*
 * IOMMU_HWPT_ALLOC as QEMU 9.1 and later use it: a page table of the
 * edu's IOMMU on the IOAS, the edu attached to it by its ID and doing DMA
 * through it; it refuses to go while attached, and stays after a detach.
 * Made before any attach, it has the IOMMU's real aperture from the
 * start: the IOAS reports the same IOVA ranges as with the page table an
 * attach makes.
 */
TEST_F(cdev, hwpt_alloc)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = self->devid,
		.pt_id = self->ioas,
	};
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct iommu_iova_range auto_r[8], user_r[8];
	int n_auto, n_user, i;
	uint32_t out;

	if (_metadata->skip)
		return;
	n_auto = iova_ranges(self->iommufd, self->ioas, auto_r);
	ASSERT_LT(0, n_auto);
	ASSERT_EQ(0, iommufd_map(self->iommufd, self->ioas, self->buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_NE(self->hwpt, alloc.out_hwpt_id);
	ASSERT_EQ(0, vfio_cdev_attach(self->device, alloc.out_hwpt_id, &out));
	EXPECT_EQ(alloc.out_hwpt_id, out);
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x5e));
	n_user = iova_ranges(self->iommufd, self->ioas, user_r);
	ASSERT_EQ(n_auto, n_user);
	for (i = 0; i < n_auto; i++) {
		EXPECT_EQ(auto_r[i].start, user_r[i].start);
		EXPECT_EQ(auto_r[i].last, user_r[i].last)
			TH_LOG("range %d ends at %#llx, not %#llx", i,
			       (unsigned long long)user_r[i].last,
			       (unsigned long long)auto_r[i].last);
	}

	destroy.id = alloc.out_hwpt_id;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
	EXPECT_EQ(EBUSY, errno);
	/* Back on the IOAS: the kernel makes a page table again. */
	ASSERT_EQ(0, vfio_cdev_attach(self->device, self->ioas, &out));
	EXPECT_NE(alloc.out_hwpt_id, out);
	ASSERT_EQ(0, roundtrip(&self->edu, IOVA, self->buf, 0x5f));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
}

/*
 * IOMMU_GET_HW_INFO of the edu: intel-iommu reports its capability
 * registers (struct iommu_hw_info_vtd), virtio-iommu has nothing to
 * report (type NONE, length 0, the buffer zeroed).
 */
TEST_F(cdev, hw_info)
{
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = self->devid,
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};
	char kind[16];

	if (_metadata->skip)
		return;
	testbed_iommu(kind);
	memset(&vtd, 0xaa, sizeof(vtd));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(0, info.out_capabilities &
		     ~(__u64)IOMMU_HW_CAP_DIRTY_TRACKING);
	if (!strcmp(kind, "intel")) {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, info.out_data_type);
		EXPECT_EQ(sizeof(vtd), info.data_len);
		EXPECT_EQ(0, vtd.__reserved);
		/* Some adjusted guest address width (SAGAW, bits 12:8) */
		EXPECT_NE(0, vtd.cap_reg & (0x1fULL << 8));
		EXPECT_NE(0, vtd.ecap_reg);
	} else if (!strcmp(kind, "virtio")) {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_NONE, info.out_data_type);
		EXPECT_EQ(0, info.data_len);
		EXPECT_EQ(0, vtd.cap_reg);
		EXPECT_EQ(0, vtd.ecap_reg);
	}
	info.dev_id = self->ioas;
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * A page table that tracks dirty pages only for a device whose IOMMU says
 * it can (IOMMU_HW_CAP_DIRTY_TRACKING); neither emulated IOMMU of the test
 * machine does, and no 6.1 driver could: EOPNOTSUPP, and nothing made.
 */
TEST_F(cdev, hwpt_alloc_dirty_tracking)
{
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = self->devid,
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_id = self->devid,
		.pt_id = self->ioas,
	};
	struct iommu_destroy destroy = { .size = sizeof(destroy) };

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	if (info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) {
		ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
		destroy.id = alloc.out_hwpt_id;
		ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
		return;
	}
	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

#define ALLOW_UNSAFE_INTERRUPTS \
	"/sys/module/iommufd/parameters/allow_unsafe_interrupts"

/*
 * A device whose MSIs are not isolated (no interrupt remapping) could
 * write any interrupt message it likes: BIND refuses it with EPERM and
 * names it in the log, unless iommufd.allow_unsafe_interrupts is set; a
 * refused BIND leaves the device as it was.  With interrupt remapping it
 * binds whatever the option says.
 */
FIXTURE(msi) {
	char bdf[BDF_LEN];
	char old_driver[64];
	char allow[8];
	char kind[16];
	int iommufd;
	int device;
};

FIXTURE_SETUP(msi)
{
	self->iommufd = -1;
	self->device = -1;
	testbed_iommu(self->kind);
	if (!need(_metadata, self->kind[0],
		  "the rig's machine (testbed.iommu=)"))
		return;
	if (!edu_alone_on_vfio_pci(_metadata, self->bdf, self->old_driver))
		return;
	ASSERT_EQ(0, sysfs_read(ALLOW_UNSAFE_INTERRUPTS, self->allow,
				sizeof(self->allow)));
	self->iommufd = iommufd_open();
	ASSERT_LE(0, self->iommufd);
	self->device = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, self->device);
}

/* The option and the driver go back as they were, whatever failed. */
FIXTURE_TEARDOWN(msi)
{
	if (self->device >= 0)
		close(self->device);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->allow[0])
		sysfs_write(ALLOW_UNSAFE_INTERRUPTS, self->allow);
	if (self->bdf[0])
		pci_bind(self->bdf, self->old_driver[0] ? self->old_driver :
			 NULL);
}

TEST_F(msi, cdev_bind)
{
	struct kmsg_mark mark;
	char line[512] = "";
	int ret;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, sysfs_write(ALLOW_UNSAFE_INTERRUPTS, "N"));
	ASSERT_EQ(0, kmsg_mark(&mark));
	ret = vfio_cdev_bind(self->device, self->iommufd, NULL);
	if (!strcmp(self->kind, "intel")) {
		EXPECT_EQ(0, ret);
	} else {
		EXPECT_EQ(-EPERM, ret);
		EXPECT_TRUE(kmsg_find(&mark, "MSIs of this device are not",
				      line, sizeof(line)));
		EXPECT_NE(NULL, strstr(line, self->bdf));
		/* Allowed, the same device file binds. */
		ASSERT_EQ(0, sysfs_write(ALLOW_UNSAFE_INTERRUPTS, "Y"));
		EXPECT_EQ(0, vfio_cdev_bind(self->device, self->iommufd,
					    NULL));
	}
	kmsg_close(&mark);
}

/* Does the VM of @vm_fd still exist (its directory of KVM's debugfs)? */
static bool vm_exists(pid_t pid, int vm_fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d", pid,
		 vm_fd);
	return !access(path, F_OK);
}

/*
 * Does BIND take a VF token (VFIO_DEVICE_BIND_FLAG_TOKEN, mainline 6.17's
 * ABI)?  With one at a NULL address, a kernel that knows the flag fails to
 * read it (EFAULT); one that does not refuses the flag (EINVAL, mainline
 * 6.12).  Nothing is bound either way.
 */
static bool bind_takes_token(int device)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
	};

	return ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) && errno == EFAULT;
}

/*
 * The KVM-VFIO device takes a device cdev's file as it takes a group's:
 * added before BIND, the VM is the device's, and the device holds it for
 * as long as it is bound: closing the VM's files does not free the VM
 * under the device; closing the device does.  Its bad input: a file that
 * is no VFIO file, a closed fd, a file added twice, one never added.
 */
TEST(kvm_vfio_device_file)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_VFIO };
	char bdf[BDF_LEN], old_driver[64];
	int kvm, vm, iommufd, device, other, vm_nr;
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uintptr_t)&other,
	};
	pid_t pid = getpid();

	kvm = open("/dev/kvm", O_RDWR);
	if (!need(_metadata, kvm >= 0, "/dev/kvm"))
		return;
	if (!edu_alone_on_vfio_pci(_metadata, bdf, old_driver))
		return;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	vm_nr = vm;
	ASSERT_TRUE(vm_exists(pid, vm_nr));
	ASSERT_EQ(0, ioctl(vm, KVM_CREATE_DEVICE, &dev));
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	device = vfio_cdev_open(bdf);
	ASSERT_LE(0, device);

	/* Bad input */
	other = open("/dev/null", O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_EQ(-1, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(EINVAL, errno);
	close(other);
	other = iommufd;
	EXPECT_EQ(-1, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(EINVAL, errno);
	other = 999;
	EXPECT_EQ(-1, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(EBADF, errno);
	other = device;
	attr.attr = KVM_DEV_VFIO_FILE_DEL;
	EXPECT_EQ(-1, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(ENOENT, errno);

	attr.attr = KVM_DEV_VFIO_FILE_ADD;
	ASSERT_EQ(0, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(-1, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	EXPECT_EQ(EEXIST, errno);
	/* Taken and given back: nothing stays behind. */
	attr.attr = KVM_DEV_VFIO_FILE_DEL;
	ASSERT_EQ(0, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));
	attr.attr = KVM_DEV_VFIO_FILE_ADD;
	ASSERT_EQ(0, ioctl(dev.fd, KVM_SET_DEVICE_ATTR, &attr));

	/* Bound with the VM: the device holds it. */
	ASSERT_EQ(0, vfio_cdev_bind(device, iommufd, NULL));
	close(dev.fd);
	close(vm);
	EXPECT_TRUE(vm_exists(pid, vm_nr));
	close(device);
	EXPECT_FALSE(vm_exists(pid, vm_nr));

	close(iommufd);
	close(kvm);
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

TEST(cdev_bind_bad_input)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_bind_iommufd *ro;
	uint8_t token[16] = { 0x12, 0x34 };
	char bdf[BDF_LEN], old_driver[64];
	int iommufd, device, other, group;
	long vmpin = proc_status_kb("VmPin");

	if (!edu_alone_on_vfio_pci(_metadata, bdf, old_driver))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	device = vfio_cdev_open(bdf);
	ASSERT_LE(0, device);

	bind.iommufd = iommufd;
	bind.argsz = offsetof(struct vfio_device_bind_iommufd, out_devid);
	EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
	bind.argsz = sizeof(bind);
	bind.flags = 1 << 1;
	EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
	/*
	 * A VF token, where BIND takes one (not on mainline before 6.17):
	 * the member must be there and readable...
	 */
	if (bind_takes_token(device)) {
		bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
		bind.argsz = offsetof(struct vfio_device_bind_iommufd,
				      token_uuid_ptr);
		bind.token_uuid_ptr = (uintptr_t)token;
		EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
		EXPECT_EQ(EINVAL, errno);
		bind.argsz = sizeof(bind);
		bind.token_uuid_ptr = 0;
		EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
		EXPECT_EQ(EFAULT, errno);
		/* ...and a device that is neither PF nor VF takes none. */
		bind.token_uuid_ptr = (uintptr_t)token;
		EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
		EXPECT_EQ(EINVAL, errno);
	}
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

	/*
	 * The ID cannot be returned (a read-only argument): the device is
	 * opened, then closed again on the way out.
	 */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memcpy(ro, &bind, sizeof(bind));
	ro->iommufd = iommufd;
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	EXPECT_EQ(-1, ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);

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
	int iommufd, group, device, cdev, other;
	uint64_t unmapped = 0;
	struct edu edu;
	uint8_t *buf;
	long vmpin;

	if (!need_config(_metadata, vfio_groups_configured(),
			 "CONFIG_VFIO_GROUP"))
		return;
	if (!edu_alone_on_vfio_pci(_metadata, bdf, old_driver))
		return;
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
	EXPECT_EQ(0, page_pins_are(buf, BUF_SIZE, 1));
	ASSERT_EQ(0, roundtrip(&edu, IOVA, buf, 0x77));
	ASSERT_EQ(0, iommufd_unmap(iommufd, vioas.ioas_id, IOVA, BUF_SIZE,
				   &unmapped));
	ASSERT_EQ(BUF_SIZE, unmapped);
	EXPECT_EQ(0, page_pins_are(buf, BUF_SIZE, 0));
	EXPECT_TRUE(edu_dma_to_ram_blocked(&edu, IOVA + 4096, buf + 4096, LEN));

	/*
	 * The iommufd can go while a device is open, as on mainline: the
	 * device stays bound to it, and works, until it is closed; no new
	 * device file can be had meanwhile.
	 */
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf));
	ASSERT_EQ(0, iommufd_map(iommufd, vioas.ioas_id, buf, IOVA,
				 BUF_SIZE));
	ASSERT_EQ(0, roundtrip(&edu, IOVA, buf, 0x78));
	edu_close(&edu);
	close(device);
	/* Closed, it let go of the iommufd: nothing pinned, nothing claimed */
	EXPECT_EQ(0, page_pins_are(buf, BUF_SIZE, 0));
	close(group);
	other = iommufd_open();
	ASSERT_LE(0, other);
	cdev = vfio_cdev_open(bdf);
	ASSERT_LE(0, cdev);
	EXPECT_EQ(0, vfio_cdev_bind(cdev, other, NULL));
	close(cdev);
	close(other);
	close(iommufd);
	EXPECT_EQ(vmpin, proc_status_kb("VmPin"));
	munmap(buf, BUF_SIZE);
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

/*
 * An iommufd let go of with the device open, and another set: the open
 * device stays bound to the first, so a second file of it, which would
 * hold the second, is refused (EBUSY).  Regression: it was handed out,
 * the first file's close dropped the last hold on the first iommufd, and
 * the device, still bound to it, was unbound later through freed memory
 * (iommufd's release warned that it could not destroy the binding).
 * Mainline hands the file out: there the test closes it first, which is
 * safe, and skips.
 */
TEST(group_iommufd_set_again_with_device_open)
{
	char bdf[BDF_LEN], old_driver[64];
	int iommufd, other, group, device, second;

	if (!need_config(_metadata, vfio_groups_configured(),
			 "CONFIG_VFIO_GROUP"))
		return;
	if (!edu_alone_on_vfio_pci(_metadata, bdf, old_driver))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	other = iommufd_open();
	ASSERT_LE(0, other);
	group = vfio_group_open(bdf);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, device);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &other));

	second = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (second >= 0) {
		close(second);
		close(device);
		close(group);
		close(other);
		close(iommufd);
		pci_bind(bdf, old_driver[0] ? old_driver : NULL);
		SKIP(return, "a second file of the device (mainline)");
	}
	EXPECT_EQ(EBUSY, errno);
	/* Closed, the device can be had through the iommufd set now. */
	close(device);
	close(iommufd);
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	EXPECT_LE(0, device);
	if (device >= 0)
		close(device);
	close(group);
	close(other);
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

/*
 * An iommufd set on a group claims nothing: the devices are claimed as
 * they are opened, as mainline does.  So a group whose last device leaves
 * vfio-pci while the group file is open with an iommufd keeps no owner,
 * and the group file closes cleanly afterwards.  Regression: the group
 * stayed DMA-owned by the iommufd until reboot (no container could take
 * the group again), and closing the group file dereferenced NULL.
 */
TEST(group_with_iommufd_outlived_by_its_file)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char bdf[BDF_LEN], old_driver[64];
	int iommufd, group, container, group2;

	if (!need_config(_metadata, vfio_containers_configured(),
			 "CONFIG_VFIO_CONTAINER"))
		return;
	if (!edu_alone_on_vfio_pci(_metadata, bdf, old_driver))
		return;
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	group = vfio_group_open(bdf);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd));

	/* The group's only device leaves vfio-pci; the group file stays. */
	ASSERT_EQ(0, pci_unbind(bdf));
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_GET_STATUS, &status));
	EXPECT_EQ(ENODEV, errno);

	/* Back on vfio-pci, a container can take the group. */
	ASSERT_EQ(0, pci_bind(bdf, "vfio-pci"));
	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	group2 = vfio_group_open(bdf);
	ASSERT_LE(0, group2);
	EXPECT_EQ(0, ioctl(group2, VFIO_GROUP_SET_CONTAINER, &container));
	close(group2);
	close(container);

	/* The first group file closes without a splat. */
	EXPECT_EQ(0, close(group));
	close(iommufd);
	pci_bind(bdf, old_driver[0] ? old_driver : NULL);
}

#define NVME_VENDOR	0x1b36
#define NVME_DEVICE	0x0010
#define VFIO_PCI_SRIOV	"/sys/module/vfio_pci/parameters/enable_sriov"

/* Set the VF token of the PF open on @pf_dev. */
static int set_vf_token(int pf_dev, const uint8_t *token)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 16];
	struct vfio_device_feature *feature = (void *)buf;

	feature->argsz = sizeof(buf);
	feature->flags = VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	memcpy(feature->data, token, 16);
	return ioctl(pf_dev, VFIO_DEVICE_FEATURE, feature) ? -errno : 0;
}

static int bind_with_token(int device, int iommufd, const uint8_t *token)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.flags = token ? VFIO_DEVICE_BIND_FLAG_TOKEN : 0,
		.iommufd = iommufd,
		.token_uuid_ptr = (uintptr_t)token,
	};

	return ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
}

/*
 * The SR-IOV VF token on the cdev, as on the group path: a VF whose PF is
 * bound to vfio-pci with a token set binds only with that token
 * (VFIO_DEVICE_BIND_FLAG_TOKEN); the PF, while its VF is in use, only
 * with it too.  Regression: BIND never looked at the token, so anyone who
 * could open the VF's cdev used it without the PF owner's consent.
 */
TEST(cdev_vf_token)
{
	const uint8_t token[16] = { 0x7f, 0x3e, 0x11, 0x02, 0xa5 };
	const uint8_t wrong[16] = { 0x7f, 0x3e, 0x11, 0x02, 0xa6 };
	char pf[BDF_LEN], vf[BDF_LEN], pf_driver[64], path[256], link[256];
	int iommufd, pf_dev, vf_dev, pf_dev2;
	struct bdf_list nvme;
	ssize_t n;

	if (!need(_metadata, !pci_find(NVME_VENDOR, NVME_DEVICE, &nvme) &&
		  nvme.n >= 1, "SR-IOV capable NVMe controller"))
		return;
	strcpy(pf, nvme.bdf[0]);
	ASSERT_EQ(0, pci_driver_of(pf, pf_driver, sizeof(pf_driver)));
	ASSERT_EQ(0, sysfs_write(VFIO_PCI_SRIOV, "Y"));
	ASSERT_EQ(0, pci_bind(pf, "vfio-pci"));
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	pf_dev = vfio_cdev_open(pf);
	ASSERT_LE(0, pf_dev);
	if (!bind_takes_token(pf_dev)) {
		close(pf_dev);
		close(iommufd);
		pci_bind(pf, pf_driver[0] ? pf_driver : NULL);
		sysfs_write(VFIO_PCI_SRIOV, "N");
		SKIP(return, "BIND takes no VF token (mainline before 6.17)");
	}
	/* The PF with no VF in use binds without a token. */
	ASSERT_EQ(0, bind_with_token(pf_dev, iommufd, NULL));
	ASSERT_EQ(0, set_vf_token(pf_dev, token));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs",
		 pf);
	ASSERT_EQ(0, sysfs_write(path, "1"));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/virtfn0", pf);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	snprintf(vf, sizeof(vf), "%s", strrchr(link, '/') + 1);
	TH_LOG("PF %s, VF %s", pf, vf);
	/*
	 * QEMU's NVMe VF, given no queues by the PF's driver, never comes
	 * back from a function level reset: no reset on open and close.
	 */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset_method",
		 vf);
	ASSERT_EQ(0, sysfs_write(path, "\n"));
	ASSERT_EQ(0, pci_bind(vf, "vfio-pci"));

	vf_dev = vfio_cdev_open(vf);
	ASSERT_LE(0, vf_dev);
	EXPECT_EQ(-EACCES, bind_with_token(vf_dev, iommufd, NULL));
	EXPECT_EQ(-EACCES, bind_with_token(vf_dev, iommufd, wrong));
	ASSERT_EQ(0, bind_with_token(vf_dev, iommufd, token));

	/* While the VF is in use, the PF binds again only with the token. */
	close(pf_dev);
	pf_dev2 = vfio_cdev_open(pf);
	ASSERT_LE(0, pf_dev2);
	EXPECT_EQ(-EACCES, bind_with_token(pf_dev2, iommufd, NULL));
	EXPECT_EQ(-EACCES, bind_with_token(pf_dev2, iommufd, wrong));
	ASSERT_EQ(0, bind_with_token(pf_dev2, iommufd, token));
	pf_dev = pf_dev2;

	close(vf_dev);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs",
		 pf);
	EXPECT_EQ(0, sysfs_write(path, "0"));
	close(pf_dev);
	close(iommufd);
	pci_bind(pf, pf_driver[0] ? pf_driver : NULL);
	sysfs_write(VFIO_PCI_SRIOV, "N");
}

TEST_HARNESS_MAIN
