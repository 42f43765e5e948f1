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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vfio_util.h"

#define TESTPMD		"/usr/bin/dpdk-testpmd"
#define STDBUF		"/usr/bin/stdbuf"
/* Starting EAL and the port under TCG takes a while; so does KASAN. */
#define TESTPMD_START_SECS	150
#define TESTPMD_FORWARD_SECS	3
#define TESTPMD_STOP_SECS	60
#define DPDK_TEST_SECS		280

struct testpmd {
	pid_t pid;
	int in, out;
	char log[65536];
	size_t len;
};

static void testpmd_log(struct testpmd *t)
{
	const char *p = t->log, *eol;

	while (*p) {
		eol = strchrnul(p, '\n');
		printf("# testpmd: %.*s\n", (int)(eol - p), p);
		p = *eol ? eol + 1 : eol;
	}
	fflush(stdout);
}

/* Read testpmd's output until @want, its end, or @secs. */
static bool testpmd_expect(struct testpmd *t, const char *want, int secs)
{
	struct pollfd pfd = { .fd = t->out, .events = POLLIN };
	time_t end = time(NULL) + secs;
	ssize_t n;

	while (!strstr(t->log, want)) {
		if (time(NULL) >= end || t->len >= sizeof(t->log) - 1)
			return false;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(t->out, t->log + t->len, sizeof(t->log) - 1 - t->len);
		if (n <= 0)
			return false;
		t->len += n;
		t->log[t->len] = 0;
	}
	return true;
}

/* Take what testpmd has printed, without waiting. */
static void testpmd_drain(struct testpmd *t)
{
	struct pollfd pfd = { .fd = t->out, .events = POLLIN };
	ssize_t n;

	while (t->len < sizeof(t->log) - 1 && poll(&pfd, 1, 0) > 0) {
		n = read(t->out, t->log + t->len, sizeof(t->log) - 1 - t->len);
		if (n <= 0)
			return;
		t->len += n;
		t->log[t->len] = 0;
	}
}

/* Wait for testpmd to end, at most @secs; its status, or -1 */
static int testpmd_wait(struct testpmd *t, int secs)
{
	int status, i;

	for (i = 0; i < secs * 10; i++) {
		testpmd_drain(t);
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			testpmd_drain(t);
			return status;
		}
		usleep(100000);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	return -1;
}

static int testpmd_start(struct testpmd *t, const char *root,
			 const char *bdf)
{
	/* Line-buffered: testpmd does not flush its prompt into a pipe. */
	const char *const argv[] = {
		STDBUF, "-oL", TESTPMD, "-l", "0,1", "-n", "1", "--no-huge",
		"-m", "64", "-a", bdf, "--log-level", "lib.eal:info", "--",
		"--nb-cores=1", "--rxq=1", "--txq=1", "--rxd=256", "--txd=256",
		"--total-num-mbufs=2048", "--forward-mode=io", "--tx-first",
		NULL,
	};
	int in[2], out[2];

	memset(t, 0, sizeof(*t));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (!t->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		if (chroot(root) || chdir("/"))
			_exit(126);
		execv(STDBUF, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in = in[1];
	t->out = out[0];
	return 0;
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
	struct testpmd t;
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
	if (self->t.pid > 0 && !waitpid(self->t.pid, NULL, WNOHANG)) {
		kill(self->t.pid, SIGKILL);
		waitpid(self->t.pid, NULL, 0);
	}
	if (self->e1000[0])
		pci_bind(self->e1000, "e1000");
	if (self->edu[0])
		pci_bind(self->edu, self->edu_driver[0] ? self->edu_driver :
							  NULL);
}

static void run_testpmd(struct __test_metadata *_metadata,
			struct testpmd *t, const char *e1000, const char *root)
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
	ASSERT_TRUE(testpmd_expect(t, "Press enter to exit",
				   TESTPMD_START_SECS)) testpmd_log(t);
	sleep(TESTPMD_FORWARD_SECS);
	ASSERT_EQ(1, write(t->in, "\n", 1));
	status = testpmd_wait(t, TESTPMD_STOP_SECS);
	t->pid = 0;
	TH_LOG("container %s, %s",
	       vfio_container_is_iommufd() ? "iommufd" : "type1", root);
	EXPECT_TRUE(status >= 0 && WIFEXITED(status) &&
		    !WEXITSTATUS(status)) {
		TH_LOG("testpmd ended with status %#x", status);
		testpmd_log(t);
	}
	/* EAL on VFIO with type1, and the e1000's PMD on the device */
	EXPECT_NE(NULL, strstr(t->log, "VFIO support initialized"))
		testpmd_log(t);
	EXPECT_NE(NULL, strstr(t->log, "Using IOMMU type 1 (Type 1)"))
		testpmd_log(t);
	/* Only the e1000 is allowed (-a): a port is its PMD's. */
	EXPECT_NE(NULL, strstr(t->log, "Port 0: ")) testpmd_log(t);
	tx = tx_packets(t->log);
	TH_LOG("TX-packets: %ld", tx);
	EXPECT_LT(0, tx) testpmd_log(t);
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
