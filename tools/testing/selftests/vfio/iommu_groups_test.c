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
	NEED(d, "/sys/kernel/iommu_groups");
	while ((de = readdir(d)))
		groups += de->d_name[0] != '.';
	closedir(d);
	NEED(groups > 0, "IOMMU group");
	TH_LOG("%d IOMMU groups", groups);
}

TEST(bridged_devices_share_group)
{
	char edu[BDF_LEN], e1000[1][BDF_LEN], members[8][BDF_LEN];
	int group, n, i, found = 0;

	NEED(!edu_find_bridged(edu), "edu behind a bridge");
	NEED(pci_find(E1000_VENDOR, E1000_DEVICE, e1000, 1) == 1,
	     "e1000");
	group = iommu_group_of(edu);
	ASSERT_LE(0, group);
	ASSERT_EQ(group, iommu_group_of(e1000[0]));
	n = iommu_group_devices(group, members, 8);
	ASSERT_LE(2, n);
	ASSERT_GE(8, n);
	for (i = 0; i < n; i++) {
		TH_LOG("group %d: %s", group, members[i]);
		found += !strcmp(members[i], edu) || !strcmp(members[i], e1000[0]);
	}
	ASSERT_EQ(2, found);
}

TEST(root_edu_alone)
{
	char edu[BDF_LEN], members[4][BDF_LEN];
	int group;

	NEED(!edu_find_root(edu), "edu on the root bus");
	group = iommu_group_of(edu);
	ASSERT_LE(0, group);
	ASSERT_EQ(1, iommu_group_devices(group, members, 4));
	ASSERT_STREQ(edu, members[0]);
}

TEST_HARNESS_MAIN
