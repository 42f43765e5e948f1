// SPDX-License-Identifier: GPL-2.0
/*
 * Boot smoke test of the test machine: the IOMMU put its devices into
 * groups, the edu and the e1000 behind the PCIe-to-PCI bridge share one
 * group (a conventional PCI bridge aliases their requester IDs), and the
 * edu on the root bus has a group of its own.  On the virtio-iommu machine
 * the shared pair is a multi-function slot instead of a bridge.
 */
#include <dirent.h>
#include <string.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

TEST(groups_exist)
{
	struct dirent *de;
	int groups = 0;
	DIR *d;

	d = opendir("/sys/kernel/iommu_groups");
	if (!need(_metadata, d, "/sys/kernel/iommu_groups"))
		return;
	while ((de = readdir(d)))
		groups += de->d_name[0] != '.';
	closedir(d);
	if (!need(_metadata, groups > 0, "IOMMU group"))
		return;
	TH_LOG("%d IOMMU groups", groups);
}

/*
 * Two edus: one alone in its group, one sharing its group with the e1000,
 * which the e1000 driver has bound.
 */
TEST(topology)
{
	char alone[BDF_LEN], grouped[BDF_LEN], e1000[BDF_LEN], drv[64];
	struct bdf_list edus, members;
	int group, i, found = 0;

	if (!need(_metadata, !pci_find(EDU_VENDOR, EDU_DEVICE, &edus) &&
		  edus.n == 2, "pair of edu devices"))
		return;
	ASSERT_EQ(0, edu_find_alone(alone)) TH_LOG("no edu alone in its group");
	ASSERT_EQ(0, edu_find_grouped(grouped, e1000))
		TH_LOG("no edu in a group with an e1000");
	ASSERT_STRNE(alone, grouped);

	group = iommu_group_of(grouped);
	ASSERT_EQ(group, iommu_group_of(e1000));
	ASSERT_NE(group, iommu_group_of(alone));
	ASSERT_EQ(0, iommu_group_devices(group, &members));
	for (i = 0; i < members.n; i++) {
		TH_LOG("group %d: %s", group, members.bdf[i]);
		found += !strcmp(members.bdf[i], grouped) ||
			 !strcmp(members.bdf[i], e1000);
	}
	ASSERT_EQ(2, found);
	ASSERT_EQ(0, pci_driver_of(e1000, drv, sizeof(drv)));
	ASSERT_STREQ("e1000", drv);
}

/* Behind the PCIe-to-PCI bridge, where intel-iommu's machine has them. */
TEST(bridge_aliases_group)
{
	char edu[BDF_LEN], e1000[BDF_LEN];

	if (!need(_metadata, !edu_find_grouped(edu, e1000),
		  "edu sharing a group with an e1000"))
		return;
	if (pci_bus_of(edu) == 0)
		SKIP(return, "the shared group is a multi-function slot here");
	ASSERT_NE(0, pci_bus_of(e1000));
	ASSERT_EQ(pci_bus_of(edu), pci_bus_of(e1000));
}

TEST(root_edu_alone)
{
	struct bdf_list members;
	char edu[BDF_LEN];

	if (!need(_metadata, !edu_find_alone(edu), "edu alone in its group"))
		return;
	ASSERT_EQ(0, pci_bus_of(edu));
	ASSERT_EQ(0, iommu_group_devices(iommu_group_of(edu), &members));
	ASSERT_EQ(1, members.n);
	ASSERT_STREQ(edu, members.bdf[0]);
}

TEST_HARNESS_MAIN
