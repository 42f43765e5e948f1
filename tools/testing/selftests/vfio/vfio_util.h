/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the VFIO device tests: PCI devices in sysfs, IOMMU groups,
 * the VFIO type1 container, and QEMU's "edu" device, which does DMA.
 *
 * The edu device (PCI 1234:11e8) has a 4 KiB buffer that it copies to or
 * from an IOVA on command.  Its transfers finish after a 100 ms timer and
 * it cannot report a failed one, so a DMA the IOMMU blocked is told apart
 * by its effect: the target memory is left untouched and the IOMMU driver
 * logs a fault naming the device (edu_fault_seen()).
 */
#ifndef SELFTESTS_VFIO_UTIL_H
#define SELFTESTS_VFIO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define E1000_VENDOR		0x8086
#define E1000_DEVICE		0x100e

/* Largest transfer QEMU 7.2's edu takes (a full 4096 aborts QEMU). */
#define EDU_DMA_MAX		4095
#define EDU_DMA_TIMEOUT_MS	5000

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define BDF_LEN			16
#define BDF_LIST_MAX		16

/* PCI device names ("0000:00:04.0"), sorted. */
struct bdf_list {
	int n;
	char bdf[BDF_LIST_MAX][BDF_LEN];
};

/* TESTBED=1 in the environment: the test machine's devices must exist. */
bool testbed_required(void);

/*
 * Whether the kernel under test was built with @option (=y or =m).  The
 * test machine carries the kernel's .config as /etc/kernel.config; without
 * it, @seen (what the caller observes of the feature) answers.
 */
bool kernel_config(const char *option, bool seen);
unsigned int testbed_slowdown(void);

/* The kernel serves VFIO groups (/dev/vfio/$GROUP); containers too. */
bool vfio_groups_configured(void);
bool vfio_containers_configured(void);

#ifdef __KSELFTEST_HARNESS_H
/*
 * In a test: returns true when @present; otherwise marks the test skipped
 * and returns false, or, on the test machine, where @what must be present,
 * fails it.  The caller returns when it gets false.
 */
static inline bool need(struct __test_metadata *_metadata, bool present,
			const char *what)
{
	if (present)
		return true;
	ASSERT_FALSE(testbed_required())
		TH_LOG("no %s on the test machine", what);
	SKIP(return false, "no %s", what);
}

/*
 * In a test: returns true when the kernel was built with @option;
 * otherwise marks the test skipped and returns false.
 */
static inline bool need_config(struct __test_metadata *_metadata,
			       bool configured, const char *option)
{
	if (configured)
		return true;
	SKIP(return false, "kernel built without %s", option);
}
#endif

bool vfio_container_is_iommufd(void);
int sysfs_read(const char *path, char *buf, size_t len);
int sysfs_write(const char *path, const char *val);

int pci_find(uint16_t vendor, uint16_t device, struct bdf_list *list);
int pci_bus_of(const char *bdf);
int pci_driver_of(const char *bdf, char *drv, size_t len);
int pci_bind(const char *bdf, const char *driver);
int pci_unbind(const char *bdf);
int pci_probe(const char *bdf);
int iommu_group_of(const char *bdf);
/* The IOMMU group of the device at sysfs directory @devdir, or -errno */
int iommu_group_of_dev(const char *devdir);
int iommu_group_devices(int group, struct bdf_list *list);

int edu_find_alone(char *bdf);
int edu_find_grouped(char *bdf, char *e1000);

/* A device, its group and a type1 container, opened the legacy way. */
struct vfio_type1 {
	int container;
	int group;
	int device;
};

int vfio_group_open(const char *bdf);
/*
 * A container opened at @path (/dev/vfio/vfio, or /dev/iommu, which serves
 * the container ioctls too), with the group of @bdf set to it, IOMMU
 * @type (VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU) and the device opened.
 */
int vfio_container_open(struct vfio_type1 *v, const char *bdf,
			const char *path, int type);
/* vfio_container_open() of /dev/vfio/vfio with VFIO_TYPE1v2_IOMMU */
int vfio_type1_open(struct vfio_type1 *v, const char *bdf);
void vfio_type1_close(struct vfio_type1 *v);
int vfio_type1_map(struct vfio_type1 *v, void *vaddr, uint64_t iova,
		   uint64_t size);
int vfio_type1_unmap(struct vfio_type1 *v, uint64_t iova, uint64_t size,
		     uint64_t *unmapped);

/*
 * The device cdev and iommufd: /dev/vfio/devices/vfioX of a PCI device,
 * bound to an iommufd and attached to an IOAS.  The calls return 0 or
 * -errno.
 */
int vfio_cdev_open(const char *bdf);
/* The cdev of the device at sysfs directory @devdir (a PCI device, an mdev) */
int vfio_cdev_open_dev(const char *devdir);
int vfio_cdev_bind(int device_fd, int iommufd, uint32_t *devid);
int vfio_cdev_attach(int device_fd, uint32_t pt_id, uint32_t *out_pt_id);
int vfio_cdev_detach(int device_fd);
int iommufd_open(void);
int iommufd_ioas_alloc(int iommufd, uint32_t *ioas_id);
/* IOAS_MAP at a fixed @iova, read and write */
int iommufd_map(int iommufd, uint32_t ioas_id, void *vaddr, uint64_t iova,
		uint64_t size);
/* ... with the IOMMU_IOAS_MAP_READABLE and _WRITEABLE of @flags */
int iommufd_map_flags(int iommufd, uint32_t ioas_id, void *vaddr,
		      uint64_t iova, uint64_t size, uint32_t flags);
int iommufd_unmap(int iommufd, uint32_t ioas_id, uint64_t iova,
		  uint64_t size, uint64_t *unmapped);
/*
 * Is every page of [buf, buf + len) (page aligned) pinned exactly @pins
 * times?  The real pins (FOLL_PIN), which VmPin, the accounting, cannot
 * show, counted by the iommufd test interface (CONFIG_IOMMUFD_TEST); a
 * page of a huge page counts the pins of all its pages.  0, -EIO when a
 * page's count differs, or another -errno.
 */
int page_pins_are(void *buf, size_t len, unsigned int pins);
/* A field of /proc/self/status in kB, or -1 */
long proc_status_kb(const char *key);
/* The first field @key of a /proc file of "key: value kB" lines, or -1 */
long proc_file_kb(const char *path, const char *key);

/* Read or write @len bytes at @pos of region @index of a VFIO device. */
int vfio_region_rw(int device_fd, unsigned int index, bool write, void *buf,
		   size_t len, off_t pos);

struct vfio_pci_hot_reset_info;
/* The devices a hot reset affects, in *@out to free(), or -errno */
int vfio_pci_hot_reset_info(int device_fd,
			    struct vfio_pci_hot_reset_info **out);
/* VFIO_DEVICE_PCI_HOT_RESET with @count group fds: 0 or -errno */
int vfio_pci_hot_reset(int device_fd, const int *group_fds, int count);

/*
 * Mediated devices: create one of @type (e.g. "mtty-2") under the parent
 * device /sys/class/@parent/@parent, named @uuid; remove it.  0 or -errno.
 */
#define MDEV_DEVICES	"/sys/bus/mdev/devices"
int mdev_create(const char *parent, const char *type, const char *uuid);
int mdev_remove(const char *uuid);

struct edu {
	int device_fd;
	void *bar0;
	size_t bar0_size;
	char bdf[BDF_LEN];
};

int edu_open(struct edu *edu, int device_fd, const char *bdf);
void edu_close(struct edu *edu);
int edu_dma_to_ram(struct edu *edu, uint64_t iova, uint32_t off,
		   uint32_t len);
int edu_dma_from_ram(struct edu *edu, uint64_t iova, uint32_t off,
		     uint32_t len);

/* A position in the kernel log, to look for messages logged after it. */
struct kmsg_mark {
	int fd;
};

int kmsg_mark(struct kmsg_mark *mark);
void kmsg_close(struct kmsg_mark *mark);
int kmsg_count(struct kmsg_mark *mark, const char *needle);
bool kmsg_find(struct kmsg_mark *mark, const char *needle, char *line,
	       size_t len);
bool edu_fault_seen(struct kmsg_mark *mark, const char *bdf);
int expect_warn_begin(struct kmsg_mark *mark, const char *func);
int expect_warn_end(struct kmsg_mark *mark, const char *func);
bool edu_dma_to_ram_blocked(struct edu *edu, uint64_t iova, uint8_t *dst,
			    uint32_t len);

/*
 * A real VMM in the test machine: Debian's QEMU, unmodified, from a root
 * filesystem the machine shares (testbed/mkrootfs.sh), entered with
 * chroot, with a 64 MiB VM that never runs (-S) and its HMP monitor on a
 * pipe.  VMM_ROOTFS is Debian 13's (QEMU 10.0, DPDK 24.11), VMM_ROOTFS_OLD
 * Debian 12's (QEMU 7.2, DPDK 22.11).
 */
#define VMM_ROOTFS	"/rootfs"
#define VMM_ROOTFS_OLD	"/rootfs-bookworm"
#define VMM_QEMU	"/usr/bin/qemu-system-x86_64"
/* Starting QEMU inside the emulated test machine takes a while. */
#define VMM_START_SECS	90
#define VMM_QUIT_SECS	30

/*
 * A QEMU started by vmm_start(), its monitor on a pipe; or another program
 * of a root filesystem, started by vmm_spawn().
 */
struct vmm {
	pid_t pid;
	bool running;		/* started, and not waited for yet */
	long pinned_kb;		/* what it had pinned while it ran */
	int in;			/* the monitor's input */
	int out;		/* QEMU's stdout and stderr */
	char log[32768];	/* all it printed so far */
	size_t len;
};

bool vmm_present(const char *root);
int vmm_spawn(struct vmm *v, const char *root, const char *const *argv);
int vmm_start(struct vmm *v, const char *root, const char *const *args);
int vmm_expect(struct vmm *v, const char *want, int count, int secs);
void vmm_drain(struct vmm *v);
int vmm_command(struct vmm *v, const char *cmd, int prompts);
void vmm_print(struct vmm *v, const char *name);
int vmm_stop(struct vmm *v, const char *input, int secs);
int vmm_quit(struct vmm *v);
long vmm_status_kb(struct vmm *v, const char *key);

#endif
