// SPDX-License-Identifier: GPL-2.0
/*
 * make run's demonstration of the series, one line a step:
 *
 * 1. the root-bus edu, bound through its VFIO device cdev to an iommufd,
 *    does DMA through an IOAS;
 * 2. the edu behind the bridge cannot be claimed while the e1000 in its
 *    IOMMU group has a kernel driver: the error, and the kernel log line
 *    that names the e1000 and its driver;
 * 3. with the e1000 unbound, the same claim works;
 * 4. Debian 13's QEMU 10.0, unmodified, realizes the root-bus edu on
 *    -object iommufd (when the test machine has testbed/mkrootfs.sh's
 *    root filesystem).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/types.h>

#include "vfio_util.h"

#define IOVA	0x10000000ULL
#define LEN	64

/* The name of @bdf's VFIO device cdev, for the user to see. */
static const char *cdev_name(const char *bdf)
{
	static char name[256];
	char path[128];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	strcpy(name, "?");
	dir = opendir(path);
	if (!dir)
		return name;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", d->d_name);
	closedir(dir);
	return name;
}

/* 1: DMA through the cdev and an iommufd */
static int dma_through_cdev(const char *bdf)
{
	static const char msg[LEN] = "hello from the edu, through the IOMMU";
	int iommufd = -1, device = -1, ret = -1;
	__u32 devid, ioas;
	struct edu edu = {};
	char drv[64] = "";
	char *buf;

	pci_driver_of(bdf, drv, sizeof(drv));
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || pci_bind(bdf, "vfio-pci"))
		goto out;
	iommufd = iommufd_open();
	device = vfio_cdev_open(bdf);
	if (iommufd < 0 || device < 0 ||
	    vfio_cdev_bind(device, iommufd, &devid) ||
	    iommufd_ioas_alloc(iommufd, &ioas) ||
	    vfio_cdev_attach(device, ioas, NULL) ||
	    iommufd_map(iommufd, ioas, buf, IOVA, 8192) ||
	    edu_open(&edu, device, bdf))
		goto out;
	memcpy(buf, msg, LEN);
	ret = edu_dma_from_ram(&edu, IOVA, 0, LEN) ||
	      edu_dma_to_ram(&edu, IOVA + 4096, 0, LEN) ||
	      memcmp(buf + 4096, msg, LEN);
	edu_close(&edu);
out:
	printf("demo: 1/4 %s, cdev %s on /dev/iommu: DMA'd \"%s\" via IOVA %#llx: %s\n",
	       bdf, cdev_name(bdf), msg, IOVA, ret ? "FAILED" : "ok");
	if (device >= 0)
		close(device);
	if (iommufd >= 0)
		close(iommufd);
	pci_bind(bdf, drv[0] ? drv : NULL);
	return ret;
}

/* 2 and 3: a claim refused for the group's sake, then granted */
static int group_viability(void)
{
	char edu[BDF_LEN], e1000[BDF_LEN], drv[64] = "", line[512] = "";
	int iommufd = -1, device = -1, ret = -1, rc;
	struct kmsg_mark mark;
	char *nl;

	if (edu_find_grouped(edu, e1000)) {
		printf("demo: 2/4 no edu sharing a group with an e1000\n");
		return -1;
	}
	pci_driver_of(edu, drv, sizeof(drv));
	if (pci_bind(edu, "vfio-pci"))
		goto out;
	iommufd = iommufd_open();
	device = vfio_cdev_open(edu);
	if (iommufd < 0 || device < 0 || kmsg_mark(&mark))
		goto out;
	rc = vfio_cdev_bind(device, iommufd, NULL);
	kmsg_find(&mark, e1000, line, sizeof(line));
	kmsg_close(&mark);
	nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	printf("demo: 2/4 %s refused (%s): %s in its group has a driver; kernel: %s\n",
	       edu, rc == -EPERM ? "EPERM" : rc ? strerror(-rc) : "bound!",
	       e1000, line[0] ? line : "(nothing)");
	if (rc != -EPERM)
		goto out;

	if (pci_unbind(e1000))
		goto out;
	rc = vfio_cdev_bind(device, iommufd, NULL);
	printf("demo: 3/4 %s unbound from its driver: %s claimed: %s\n",
	       e1000, edu, rc ? strerror(-rc) : "ok");
	ret = rc;
out:
	if (device >= 0)
		close(device);
	if (iommufd >= 0)
		close(iommufd);
	pci_bind(edu, drv[0] ? drv : NULL);
	pci_bind(e1000, "e1000");
	return ret;
}

/* 4: QEMU 10.0 on the edu through -object iommufd */
static int qemu_on_iommufd(const char *bdf)
{
	char dev[128], drv[64] = "", version[32] = "?";
	const char *const args[] = {
		"-object", "iommufd,id=fd0", "-device", dev, NULL,
	};
	static struct vmm v;
	const char *banner;
	long pinned = -1;
	int ret = -1;

	if (!vmm_present(VMM_ROOTFS)) {
		printf("demo: 4/4 no QEMU in %s (make rootfs)\n", VMM_ROOTFS);
		return -1;
	}
	pci_driver_of(bdf, drv, sizeof(drv));
	if (pci_bind(bdf, "vfio-pci"))
		goto out;
	snprintf(dev, sizeof(dev), "vfio-pci,host=%s,iommufd=fd0", bdf);
	if (vmm_start(&v, VMM_ROOTFS, args))
		goto out;
	if (!vmm_expect(&v, "(qemu) ", 1, VMM_START_SECS) &&
	    !vmm_command(&v, "info pci\n", 2) &&
	    !vmm_expect(&v, "1234:11e8", 1, 0)) {
		pinned = vmm_status_kb(&v, "VmPin");
		ret = 0;
	}
	banner = strstr(v.log, "QEMU ");
	if (banner)
		sscanf(banner, "QEMU %31s", version);
	if (vmm_quit(&v))
		ret = -1;
out:
	printf("demo: 4/4 Debian 13's QEMU %s, %s on -object iommufd, %ld kB pinned: %s\n",
	       version, bdf, pinned, ret ? "FAILED" : "ok");
	if (ret && v.len)
		printf("demo: QEMU said: %s\n", v.log);
	pci_bind(bdf, drv[0] ? drv : NULL);
	return ret;
}

int main(void)
{
	char bdf[BDF_LEN];
	int ret = 0;

	if (edu_find_alone(bdf)) {
		printf("demo: no edu device alone in its IOMMU group\n");
		return 1;
	}
	ret |= dma_through_cdev(bdf);
	ret |= group_viability();
	ret |= qemu_on_iommufd(bdf);
	return !!ret;
}
