// SPDX-License-Identifier: GPL-2.0
/*
 * make run's demonstration: one edu DMA, RAM -> device -> RAM, over the
 * newest path the series offers.  Today that is the base's VFIO type1
 * container; it moves to the iommufd device cdev when that lands.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vfio_util.h"

#define IOVA	0x10000000ULL
#define LEN	64

int main(void)
{
	static const char msg[LEN] = "hello from the edu, through the IOMMU";
	char bdf[BDF_LEN], drv[64];
	struct vfio_type1 v;
	struct edu edu;
	char *buf;
	int ret;

	if (edu_find_alone(bdf)) {
		printf("demo: no edu device alone in its IOMMU group\n");
		return 1;
	}
	pci_driver_of(bdf, drv, sizeof(drv));
	ret = pci_bind(bdf, "vfio-pci");
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ret || buf == MAP_FAILED || vfio_type1_open(&v, bdf)) {
		printf("demo: cannot open %s through VFIO\n", bdf);
		return 1;
	}
	ret = edu_open(&edu, v.device, bdf) ||
	      vfio_type1_map(&v, buf, IOVA, 8192);
	if (!ret) {
		memcpy(buf, msg, LEN);
		ret = edu_dma_from_ram(&edu, IOVA, 0, LEN) ||
		      edu_dma_to_ram(&edu, IOVA + 4096, 0, LEN);
	}
	printf("demo: path: VFIO type1 container (group %d)\n",
	       iommu_group_of(bdf));
	printf("demo: %s DMA'd \"%s\" from IOVA %#llx to IOVA %#llx: %s\n",
	       bdf, msg, IOVA, IOVA + 4096,
	       !ret && !memcmp(buf + 4096, msg, LEN) ? "ok" : "FAILED");
	edu_close(&edu);
	vfio_type1_close(&v);
	pci_bind(bdf, drv[0] ? drv : NULL);
	return ret;
}
