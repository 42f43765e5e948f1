// SPDX-License-Identifier: GPL-2.0
/*
 * DPDK, unmodified, on the legacy container: Debian's dpdk-testpmd (DPDK
 * 22.11 of Debian 12 and 24.11 of Debian 13) drives the test machine's
 * e1000 through /dev/vfio/vfio, which is VFIO's type1 container or, with
 * CONFIG_IOMMUFD_VFIO_CONTAINER, an iommufd answering type1's ioctls.
 * DPDK asks for type1 v1 (VFIO_TYPE1_IOMMU), and maps its memory itself.
 *
 * Each test frees the e1000's IOMMU group for it (the edu it shares the
 * group with loses its driver), runs testpmd from the root filesystem
 * (testbed/mkrootfs.sh) with one forwarding core, sends a first burst
 * (--tx-first) and forwards for a few seconds, then stops it.  It checks
 * that EAL set VFIO up with type1, that the e1000 PMD probed the device,
 * that packets went out (the port's TX counter), that testpmd exited
 * cleanly, and that the IOMMU reported no DMA fault of the e1000.
 * testpmd's output is in the test's log when something fails.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define TESTPMD		"/usr/bin/dpdk-testpmd"
#define STDBUF		"/usr/bin/stdbuf"
/*
 * Starting EAL and the port under TCG takes a while, and three times as
 * long on a KASAN kernel (testbed_slowdown()): the limits below are for the
 * test kernel, and the whole test's covers them on KASAN.
 */
#define TESTPMD_START_SECS	150
#define TESTPMD_FORWARD_SECS	3
#define TESTPMD_STOP_SECS	60
#define DPDK_TEST_SECS		(3 * (TESTPMD_START_SECS + TESTPMD_STOP_SECS) + 60)

static int testpmd_start(struct vmm *t, const char *root, const char *bdf)
{
	/* Line-buffered: testpmd does not flush its prompt into a pipe. */
	const char *const argv[] = {
		STDBUF, "-oL", TESTPMD, "-l", "0,1", "-n", "1", "--no-huge",
		"-m", "64", "-a", bdf, "--log-level", "lib.eal:info", "--",
		"--nb-cores=1", "--rxq=1", "--txq=1", "--rxd=256", "--txd=256",
		"--total-num-mbufs=2048", "--forward-mode=io", "--tx-first",
		NULL,
	};

	return vmm_spawn(t, root, argv);
}

/* The last "TX-packets: N" of testpmd's statistics, or -1 */
static long tx_packets(const char *log)
{
	const char *p = log, *last = NULL;

	while ((p = strstr(p, "TX-packets: "))) {
		last = p;
		p++;
	}
	return last ? strtol(last + strlen("TX-packets: "), NULL, 10) : -1;
}

FIXTURE(dpdk) {
	char e1000[BDF_LEN];
	char edu[BDF_LEN];
	char edu_driver[64];
	struct vmm t;		/* testpmd */
};

FIXTURE_SETUP(dpdk)
{
	if (!need_config(_metadata, !access("/dev/vfio/vfio", F_OK),
			 "a VFIO container (/dev/vfio/vfio)"))
		return;
	if (!need(_metadata, !edu_find_grouped(self->edu, self->e1000),
		  "e1000 sharing a group with an edu"))
		return;
	/* The group is DPDK's once the edu has no driver. */
	ASSERT_EQ(0, pci_driver_of(self->edu, self->edu_driver,
				   sizeof(self->edu_driver)));
	ASSERT_EQ(0, pci_unbind(self->edu));
	ASSERT_EQ(0, pci_bind(self->e1000, "vfio-pci"));
}

FIXTURE_TEARDOWN(dpdk)
{
	if (self->t.running) {
		kill(self->t.pid, SIGKILL);
		waitpid(self->t.pid, NULL, 0);
	}
	if (self->e1000[0])
		pci_bind(self->e1000, "e1000");
	if (self->edu[0])
		pci_bind(self->edu, self->edu_driver[0] ? self->edu_driver :
							  NULL);
}

static void run_testpmd(struct __test_metadata *_metadata, struct vmm *t,
			const char *e1000, const char *root)
{
	struct kmsg_mark mark;
	char path[128];
	int status;
	long tx;

	if (_metadata->skip)
		return;
	snprintf(path, sizeof(path), "%s%s", root, TESTPMD);
	if (!need(_metadata, !access(path, X_OK), path))
		return;
	ASSERT_EQ(0, kmsg_mark(&mark));
	ASSERT_EQ(0, testpmd_start(t, root, e1000));
	/* Started and forwarding, the first burst sent */
	ASSERT_EQ(0, vmm_expect(t, "Press enter to exit", 1,
				TESTPMD_START_SECS * testbed_slowdown()))
		vmm_print(t, "testpmd");
	sleep(TESTPMD_FORWARD_SECS);
	status = vmm_stop(t, "\n", TESTPMD_STOP_SECS * testbed_slowdown());
	TH_LOG("container %s, %s",
	       vfio_container_is_iommufd() ? "iommufd" : "type1", root);
	EXPECT_TRUE(status >= 0 && WIFEXITED(status) &&
		    !WEXITSTATUS(status)) {
		TH_LOG("testpmd ended with status %#x", status);
		vmm_print(t, "testpmd");
	}
	/* EAL on VFIO with type1, and the e1000's PMD on the device */
	EXPECT_NE(NULL, strstr(t->log, "VFIO support initialized"))
		vmm_print(t, "testpmd");
	EXPECT_NE(NULL, strstr(t->log, "Using IOMMU type 1 (Type 1)"))
		vmm_print(t, "testpmd");
	/* Only the e1000 is allowed (-a): a port is its PMD's. */
	EXPECT_NE(NULL, strstr(t->log, "Port 0: ")) vmm_print(t, "testpmd");
	tx = tx_packets(t->log);
	TH_LOG("TX-packets: %ld", tx);
	EXPECT_LT(0, tx) vmm_print(t, "testpmd");
	EXPECT_FALSE(edu_fault_seen(&mark, e1000));
	kmsg_close(&mark);
}

TEST_F_TIMEOUT(dpdk, testpmd_22_11, DPDK_TEST_SECS)
{
	run_testpmd(_metadata, &self->t, self->e1000, VMM_ROOTFS_OLD);
}

TEST_F_TIMEOUT(dpdk, testpmd_24_11, DPDK_TEST_SECS)
{
	run_testpmd(_metadata, &self->t, self->e1000, VMM_ROOTFS);
}

TEST_HARNESS_MAIN
