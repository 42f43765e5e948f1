// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline of group viability on the legacy path.  The edu and the e1000
 * behind the PCIe-to-PCI bridge share an IOMMU group.  While the e1000 is
 * bound to its kernel driver the group is not viable and cannot be put
 * into a container; once the e1000 is unbound it can.  An iommufd set in
 * place of the container claims nothing; the device's open is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

FIXTURE(bridge_group) {
	char edu[BDF_LEN];
	char e1000[BDF_LEN];
	char edu_driver[64];
	char e1000_driver[64];
	int container;
	int group;
};

FIXTURE_SETUP(bridge_group)
{
	self->container = -1;
	self->group = -1;
	if (!need_config(_metadata, vfio_containers_configured(),
			 "CONFIG_VFIO_CONTAINER"))
		return;
	if (!need(_metadata, !edu_find_grouped(self->edu, self->e1000),
		  "edu sharing a group with an e1000"))
		return;
	ASSERT_EQ(0, pci_driver_of(self->edu, self->edu_driver,
				   sizeof(self->edu_driver)));
	ASSERT_EQ(0, pci_driver_of(self->e1000, self->e1000_driver,
				   sizeof(self->e1000_driver)));
	ASSERT_STREQ("e1000", self->e1000_driver);
	ASSERT_EQ(0, pci_bind(self->edu, "vfio-pci"));
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	self->group = vfio_group_open(self->edu);
	ASSERT_LE(0, self->group);
}

FIXTURE_TEARDOWN(bridge_group)
{
	if (!self->edu[0])
		return;
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	pci_bind(self->edu, self->edu_driver[0] ? self->edu_driver : NULL);
	pci_bind(self->e1000, self->e1000_driver);
}

static bool viable(struct __test_metadata *_metadata, int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	EXPECT_EQ(0, ioctl(group, VFIO_GROUP_GET_STATUS, &status));
	return status.flags & VFIO_GROUP_FLAGS_VIABLE;
}

TEST_F(bridge_group, driver_bound_blocks_container)
{
	char drv[64];
	int iommufd, device;

	if (_metadata->skip)
		return;
	ASSERT_FALSE(viable(_metadata, self->group));
	ASSERT_EQ(-1, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			    &self->container));
	ASSERT_EQ(EPERM, errno);
	/*
	 * An iommufd in place of the container claims nothing, as in
	 * mainline: it is set, and the device is refused when opened.
	 */
	iommufd = iommufd_open();
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	device = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->edu);
	ASSERT_EQ(-1, device);
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_UNSET_CONTAINER));
	close(iommufd);

	ASSERT_EQ(0, pci_unbind(self->e1000));
	ASSERT_EQ(0, pci_driver_of(self->e1000, drv, sizeof(drv)));
	ASSERT_STREQ("", drv);
	ASSERT_TRUE(viable(_metadata, self->group));
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));

	/* While the group is in a container the e1000 driver cannot probe. */
	pci_probe(self->e1000);
	ASSERT_EQ(0, pci_driver_of(self->e1000, drv, sizeof(drv)));
	ASSERT_STREQ("", drv);

	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_UNSET_CONTAINER));
}

TEST_HARNESS_MAIN
