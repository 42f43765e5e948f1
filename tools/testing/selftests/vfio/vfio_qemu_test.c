// SPDX-License-Identifier: GPL-2.0
/*
 * Real VMMs on this kernel: Debian 13's QEMU 10.0, unmodified, assigns the
 * edu to a VM through iommufd as VMMs of today do (IOMMU_GET_HW_INFO,
 * IOMMU_HWPT_ALLOC, the device cdev), and through the legacy container;
 * Debian 12's QEMU 7.2, which knows only the container, through it.  The
 * container is VFIO's type1 or, with CONFIG_IOMMUFD_VFIO_CONTAINER, an
 * iommufd answering type1's ioctls.
 *
 * QEMU runs from the root filesystems the test machine shares
 * (testbed/mkrootfs.sh), entered with chroot, with a 64 MiB VM that never
 * starts (-S): realizing the device maps the VM's RAM for DMA, which is
 * all these tests need.  Each test checks that the device was realized,
 * that the RAM is pinned while QEMU runs (VmPin for iommufd, VmLck for
 * the type1 container), that QEMU quits cleanly, and that the device is
 * free again afterwards.  QEMU's own output is in the test's log when
 * something fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define GUEST_MB	64
/*
 * Each test starts QEMU: seconds on the test kernel, about half a minute
 * on a KASAN kernel, where two devices outlasted the harness's default 30.
 * The limit covers the start, the first command and the quit at their
 * longest (VMM_START_SECS twice, VMM_QUIT_SECS).
 */
#define QEMU_TEST_SECS	(2 * VMM_START_SECS + VMM_QUIT_SECS + 30)

/* What QEMU printed, into the test's output */
static void vmm_log(struct vmm *v)
{
	vmm_print(v, "qemu");
}

/*
 * From QEMU's trace: how many page tables it allocated (successful
 * IOMMU_HWPT_ALLOC calls), and the IDs it attached devices to.
 */
static int vmm_hwpts(struct vmm *v, int *ids, int max, int *nids)
{
	const char *p, *eol, *ok;
	int allocs = 0;

	for (p = v->log; (p = strstr(p, "iommufd_backend_alloc_hwpt")); p++) {
		eol = strchr(p, '\n');
		ok = strstr(p, " (0)");
		if (eol && ok && ok < eol)
			allocs++;
	}
	*nids = 0;
	for (p = v->log; (p = strstr(p, "Successfully attached device")); p++)
		if (*nids < max && strstr(p, "to id=") &&
		    sscanf(strstr(p, "to id="), "to id=%d", &ids[*nids]) == 1)
			(*nids)++;
	return allocs;
}

/* Whether the device is free for a new owner: a new bind works. */
static bool device_bindable(const char *bdf)
{
	int iommufd = iommufd_open(), dev = vfio_cdev_open(bdf);
	uint32_t devid;
	bool ok;

	ok = iommufd >= 0 && dev >= 0 && !vfio_cdev_bind(dev, iommufd, &devid);
	if (dev >= 0)
		close(dev);
	if (iommufd >= 0)
		close(iommufd);
	return ok;
}

FIXTURE(qemu) {
	char bdf[BDF_LEN];
	char old_driver[64];
	struct vmm vmm;
	/* The edu that shares a group with an e1000, when a test took it */
	char edu2[BDF_LEN];
	char edu2_driver[64];
	char e1000[BDF_LEN];
};

/* QEMU's trace of the page tables it makes and attaches to (10.0) */
#define IOMMUFD_TRACES	"-trace", "iommufd_backend_alloc_hwpt", \
			"-trace", "iommufd_cdev_attach_ioas_hwpt"

FIXTURE_SETUP(qemu)
{
	if (!need(_metadata, vmm_present(VMM_ROOTFS),
		  "QEMU in " VMM_ROOTFS " (testbed/mkrootfs.sh)"))
		return;
	if (!need(_metadata, !edu_find_alone(self->bdf),
		  "edu alone in its IOMMU group"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->bdf, self->old_driver,
				   sizeof(self->old_driver)));
	ASSERT_EQ(0, pci_bind(self->bdf, "vfio-pci"));
}

FIXTURE_TEARDOWN(qemu)
{
	if (self->vmm.running) {
		kill(self->vmm.pid, SIGKILL);
		waitpid(self->vmm.pid, NULL, 0);
	}
	if (self->bdf[0])
		pci_bind(self->bdf, self->old_driver[0] ? self->old_driver :
							  NULL);
	if (self->edu2[0]) {
		pci_bind(self->edu2, self->edu2_driver[0] ?
					     self->edu2_driver : NULL);
		pci_bind(self->e1000, "e1000");
	}
}

/*
 * Start QEMU with @dev_args, check the device is realized and the VM's RAM
 * pinned (@pin_key of QEMU's /proc status), quit it, and check it ended
 * well.  QEMU's output stays in @v, for more checks.
 */
static void run_qemu(struct __test_metadata *_metadata, struct vmm *v,
		     const char *root, const char *const *dev_args,
		     const char *pin_key, int devices)
{
	long kb;
	int rc;

	ASSERT_EQ(0, vmm_start(v, root, dev_args));
	rc = vmm_expect(v, "(qemu) ", 1, VMM_START_SECS);
	ASSERT_EQ(0, rc) vmm_log(v);
	/*
	 * The monitor answers once the machine is made (QEMU 7.2 prompts
	 * before that).
	 */
	ASSERT_EQ(0, vmm_command(v, "info pci\n", 2)) vmm_log(v);
	/* The edu, as the VM sees it: a realized vfio-pci device */
	ASSERT_EQ(0, vmm_expect(v, "1234:11e8", devices, 0)) vmm_log(v);
	kb = vmm_status_kb(v, pin_key);
	v->pinned_kb = kb;
	TH_LOG("QEMU %s: %ld kB", pin_key, kb);
	/*
	 * About the VM's RAM: iommufd's VmPin is the RAM and the BIOS
	 * (65792 kB), type1's VmLck came out 256 KiB short of the RAM
	 * (65280 kB).
	 */
	EXPECT_LE((GUEST_MB - 1) * 1024L, kb) vmm_log(v);
	rc = vmm_quit(v);
	EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) {
		TH_LOG("QEMU ended with status %#x", rc);
		vmm_log(v);
	}
}

/* -object iommufd, the device named by its address, as a user would. */
TEST_F_TIMEOUT(qemu, iommufd_object, QEMU_TEST_SECS)
{
	char dev[128];
	const char *const args[] = {
		IOMMUFD_TRACES, "-object", "iommufd,id=fd0", "-device", dev,
		NULL,
	};
	int ids[4], nids;
	struct vmm *v = &self->vmm;

	if (_metadata->skip)
		return;
	snprintf(dev, sizeof(dev), "vfio-pci,host=%s,iommufd=fd0", self->bdf);
	run_qemu(_metadata, v, VMM_ROOTFS, args, "VmPin", 1);
	/* QEMU made the device's page table itself. */
	EXPECT_EQ(1, vmm_hwpts(v, ids, 4, &nids)) vmm_log(v);
	EXPECT_EQ(1, nids);
	EXPECT_TRUE(device_bindable(self->bdf));
}

/*
 * The iommufd and the device cdev opened by the caller and handed over as
 * descriptors, as libvirt does.
 */
TEST_F_TIMEOUT(qemu, iommufd_fd_passing, QEMU_TEST_SECS)
{
	char obj[64], dev[64];
	const char *const args[] = {
		"-object", obj, "-device", dev, NULL,
	};
	int iommufd, device;

	if (_metadata->skip)
		return;
	iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd);
	device = vfio_cdev_open(self->bdf);
	ASSERT_LE(0, device);
	ASSERT_EQ(0, fcntl(device, F_SETFD, 0));
	snprintf(obj, sizeof(obj), "iommufd,id=fd0,fd=%d", iommufd);
	snprintf(dev, sizeof(dev), "vfio-pci,fd=%d,iommufd=fd0", device);
	run_qemu(_metadata, &self->vmm, VMM_ROOTFS, args, "VmPin", 1);
	close(device);
	close(iommufd);
	EXPECT_TRUE(device_bindable(self->bdf));
}

/*
 * QEMU on the legacy container /dev/vfio/vfio: VFIO's type1 (RAM charged
 * as locked, VmLck), or iommufd's (pinned, VmPin), which the type1 ioctls
 * reach unchanged.
 */
static void legacy_container(struct __test_metadata *_metadata,
			     struct vmm *v, const char *bdf, const char *root)
{
	char dev[64];
	const char *const args[] = { "-device", dev, NULL };

	if (_metadata->skip)
		return;
	if (!need_config(_metadata, !access("/dev/vfio/vfio", F_OK),
			 "a VFIO container (/dev/vfio/vfio)"))
		return;
	if (!need(_metadata, vmm_present(root), root))
		return;
	snprintf(dev, sizeof(dev), "vfio-pci,host=%s", bdf);
	run_qemu(_metadata, v, root, args,
		 vfio_container_is_iommufd() ? "VmPin" : "VmLck", 1);
	EXPECT_TRUE(device_bindable(bdf));
}

/* QEMU 10.0 on the container, for comparison with iommufd */
TEST_F_TIMEOUT(qemu, legacy_container, QEMU_TEST_SECS)
{
	legacy_container(_metadata, &self->vmm, self->bdf, VMM_ROOTFS);
}

/* QEMU 7.2, which has no iommufd support, on the container */
TEST_F_TIMEOUT(qemu, legacy_container_qemu_7_2, QEMU_TEST_SECS)
{
	legacy_container(_metadata, &self->vmm, self->bdf, VMM_ROOTFS_OLD);
}

/*
 * Two edus on one iommufd: the second is attached to the page table QEMU
 * allocated for the first (one IOMMU, compatible), and the VM's RAM is
 * pinned once for both.
 */
TEST_F_TIMEOUT(qemu, two_devices_share_a_hwpt, QEMU_TEST_SECS)
{
	char dev[128], dev2[128];
	const char *const args[] = {
		IOMMUFD_TRACES, "-object", "iommufd,id=fd0", "-device", dev,
		"-device", dev2, NULL,
	};
	int ids[4], nids;
	struct vmm *v = &self->vmm;

	if (_metadata->skip)
		return;
	if (!need(_metadata, !edu_find_grouped(self->edu2, self->e1000),
		  "edu sharing a group with an e1000"))
		return;
	/* Its group is viable once the e1000 has no driver. */
	ASSERT_EQ(0, pci_driver_of(self->edu2, self->edu2_driver,
				   sizeof(self->edu2_driver)));
	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, pci_bind(self->edu2, "vfio-pci"));
	snprintf(dev, sizeof(dev), "vfio-pci,host=%s,iommufd=fd0", self->bdf);
	snprintf(dev2, sizeof(dev2), "vfio-pci,host=%s,iommufd=fd0",
		 self->edu2);
	run_qemu(_metadata, v, VMM_ROOTFS, args, "VmPin", 2);
	EXPECT_GT(2 * GUEST_MB * 1024L, v->pinned_kb);
	EXPECT_EQ(1, vmm_hwpts(v, ids, 4, &nids)) vmm_log(v);
	ASSERT_EQ(2, nids) vmm_log(v);
	EXPECT_EQ(ids[0], ids[1]);
	EXPECT_TRUE(device_bindable(self->edu2));
}

TEST_HARNESS_MAIN
