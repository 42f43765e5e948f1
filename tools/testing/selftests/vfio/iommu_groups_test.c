// SPDX-License-Identifier: GPL-2.0
/*
 * Boot smoke test of the test machine: the IOMMU put its devices into
 * groups, the edu and the e1000 behind the PCIe-to-PCI bridge share one
 * group (a conventional PCI bridge aliases their requester IDs), and the
 * edu on the root bus has a group of its own.
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

TEST(bridged_devices_share_group)
{
	struct bdf_list e1000, members;
	char edu[BDF_LEN];
	int group, i, found = 0;

	if (!need(_metadata, !edu_find_bridged(edu), "edu behind a bridge") ||
	    !need(_metadata, !pci_find(E1000_VENDOR, E1000_DEVICE, &e1000) &&
		  e1000.n == 1, "e1000"))
		return;
	group = iommu_group_of(edu);
	ASSERT_LE(0, group);
	ASSERT_EQ(group, iommu_group_of(e1000.bdf[0]));
	ASSERT_EQ(0, iommu_group_devices(group, &members));
	for (i = 0; i < members.n; i++) {
		TH_LOG("group %d: %s", group, members.bdf[i]);
		found += !strcmp(members.bdf[i], edu) ||
			 !strcmp(members.bdf[i], e1000.bdf[0]);
	}
	ASSERT_EQ(2, found);
}

TEST(root_edu_alone)
{
	struct bdf_list members;
	char edu[BDF_LEN];
	int group;

	if (!need(_metadata, !edu_find_root(edu), "edu on the root bus"))
		return;
	group = iommu_group_of(edu);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, iommu_group_devices(group, &members));
	ASSERT_EQ(1, members.n);
	ASSERT_STREQ(edu, members.bdf[0]);
}

TEST_HARNESS_MAIN
