// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the VFIO device tests; see vfio_util.h.
 */
#include <dirent.h>
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "vfio_util.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"

/* Register layout of QEMU's edu device (hw/misc/edu.c). */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_ID_MAGIC		0xed
/* Where the device's own 4 KiB buffer sits in its DMA address space. */
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096

#define log(fmt, ...)	fprintf(stderr, "# " fmt "\n", ##__VA_ARGS__)

bool testbed_required(void)
{
	const char *v = getenv("TESTBED");

	return v && !strcmp(v, "1");
}

/*
 * How many times slower than the test kernel this one runs the same
 * programs: the guest runner's factor (TESTBED_SLOWDOWN, 3 on a KASAN
 * kernel), by which it also scales the programs' limits; 1 elsewhere.
 */
unsigned int testbed_slowdown(void)
{
	const char *v = getenv("TESTBED_SLOWDOWN");

	return v && atoi(v) > 0 ? atoi(v) : 1;
}

bool kernel_config(const char *option, bool seen)
{
	size_t len = strlen(option);
	bool found = false;
	char line[256];
	FILE *f;

	f = fopen("/etc/kernel.config", "r");
	if (!f)
		return seen;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, option, len) && line[len] == '=' &&
			(line[len + 1] == 'y' || line[len + 1] == 'm');
	fclose(f);
	return found;
}

bool vfio_groups_configured(void)
{
	/* The class of the group char devices exists only with groups. */
	return kernel_config("CONFIG_VFIO_GROUP",
			     !access("/sys/class/vfio", F_OK));
}

bool vfio_containers_configured(void)
{
	return kernel_config("CONFIG_VFIO_CONTAINER",
			     !access("/dev/vfio/vfio", F_OK));
}

/* /dev/vfio/vfio is iommufd's (CONFIG_IOMMUFD_VFIO_CONTAINER): an IOAS */
bool vfio_container_is_iommufd(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int fd = open("/dev/vfio/vfio", O_RDWR);
	bool ret;

	if (fd < 0)
		return false;
	ret = !ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	close(fd);
	return ret;
}

int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int sysfs_write(const char *path, const char *val)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static unsigned long sysfs_read_ul(const char *bdf, const char *attr)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", bdf, attr);
	if (sysfs_read(path, buf, sizeof(buf)))
		return ~0UL;
	return strtoul(buf, NULL, 0);
}

static int bdf_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Fill @list with the entries of directory @path that @match accepts. */
static int bdf_list_dir(const char *path, struct bdf_list *list,
			bool (*match)(const char *bdf, const void *arg),
			const void *arg)
{
	struct dirent *de;
	int ret = 0;
	DIR *d;

	list->n = 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= BDF_LEN)
			continue;
		if (match && !match(de->d_name, arg))
			continue;
		if (list->n == BDF_LIST_MAX) {
			ret = -E2BIG;
			break;
		}
		strcpy(list->bdf[list->n++], de->d_name);
	}
	closedir(d);
	qsort(list->bdf, list->n, BDF_LEN, bdf_cmp);
	return ret;
}

static bool match_ids(const char *bdf, const void *arg)
{
	const uint16_t *ids = arg;

	return sysfs_read_ul(bdf, "vendor") == ids[0] &&
	       sysfs_read_ul(bdf, "device") == ids[1];
}

int pci_find(uint16_t vendor, uint16_t device, struct bdf_list *list)
{
	const uint16_t ids[2] = { vendor, device };

	return bdf_list_dir(PCI_DEVICES, list, match_ids, ids);
}

int pci_bus_of(const char *bdf)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return -EINVAL;
	return bus;
}

int pci_driver_of(const char *bdf, char *drv, size_t len)
{
	char path[256], link[256];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		drv[0] = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	link[n] = 0;
	name = strrchr(link, '/');
	snprintf(drv, len, "%s", name ? name + 1 : link);
	return 0;
}

int pci_unbind(const char *bdf)
{
	char path[256], drv[64];
	int ret;

	ret = pci_driver_of(bdf, drv, sizeof(drv));
	if (ret || !drv[0])
		return ret;
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver/unbind", bdf);
	return sysfs_write(path, bdf);
}

int pci_probe(const char *bdf)
{
	return sysfs_write("/sys/bus/pci/drivers_probe", bdf);
}

/*
 * Bind @bdf to @driver through driver_override, or back to the driver the
 * kernel would choose when @driver is NULL.  Returns 0 when the device ends
 * up bound to the driver asked for, -EBUSY when the probe did not bind it.
 */
int pci_bind(const char *bdf, const char *driver)
{
	char path[256], drv[64];
	int ret;

	ret = pci_driver_of(bdf, drv, sizeof(drv));
	if (ret)
		return ret;
	if (driver && !strcmp(drv, driver))
		return 0;
	if (drv[0]) {
		ret = pci_unbind(bdf);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver_override", bdf);
	ret = sysfs_write(path, driver ? driver : "\n");
	if (ret)
		return ret;
	/* A probe that binds nothing is not an error for drivers_probe. */
	pci_probe(bdf);
	ret = pci_driver_of(bdf, drv, sizeof(drv));
	if (ret)
		return ret;
	if (driver && strcmp(drv, driver)) {
		log("%s: probing %s did not bind it", bdf, driver);
		return -EBUSY;
	}
	return 0;
}

int iommu_group_of(const char *bdf)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	return iommu_group_of_dev(path);
}

int iommu_group_of_dev(const char *devdir)
{
	char path[320], link[256];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/iommu_group", devdir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	name = strrchr(link, '/');
	return atoi(name ? name + 1 : link);
}

int iommu_group_devices(int group, struct bdf_list *list)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group);
	return bdf_list_dir(path, list, NULL, NULL);
}

/*
 * The test machine has two edus: one alone in its IOMMU group, one that
 * shares its group with an e1000 (behind a PCIe-to-PCI bridge, or in one
 * multi-function slot).  Find the first edu whose group passes @match.
 */
static int edu_find(char *bdf, bool (*match)(const struct bdf_list *members,
					     void *arg), void *arg)
{
	struct bdf_list edus, members;
	int i, group, ret;

	ret = pci_find(EDU_VENDOR, EDU_DEVICE, &edus);
	if (ret)
		return ret;
	for (i = 0; i < edus.n; i++) {
		group = iommu_group_of(edus.bdf[i]);
		if (group < 0 || iommu_group_devices(group, &members))
			continue;
		if (match(&members, arg)) {
			strcpy(bdf, edus.bdf[i]);
			return 0;
		}
	}
	return -ENODEV;
}

static bool group_alone(const struct bdf_list *members, void *arg)
{
	return members->n == 1;
}

static bool group_with_e1000(const struct bdf_list *members, void *arg)
{
	char *e1000 = arg;
	int i;

	for (i = 0; i < members->n; i++) {
		if (sysfs_read_ul(members->bdf[i], "vendor") == E1000_VENDOR &&
		    sysfs_read_ul(members->bdf[i], "device") == E1000_DEVICE) {
			strcpy(e1000, members->bdf[i]);
			return true;
		}
	}
	return false;
}

/* The edu alone in its IOMMU group. */
int edu_find_alone(char *bdf)
{
	return edu_find(bdf, group_alone, NULL);
}

/* The edu that shares its IOMMU group with an e1000, and that e1000. */
int edu_find_grouped(char *bdf, char *e1000)
{
	return edu_find(bdf, group_with_e1000, e1000);
}

int vfio_group_open(const char *bdf)
{
	char path[64];
	int group, fd;

	group = iommu_group_of(bdf);
	if (group < 0)
		return group;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		log("open %s: %s", path, strerror(errno));
		return -errno;
	}
	return fd;
}

int vfio_cdev_open(const char *bdf)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s", bdf);
	return vfio_cdev_open_dev(path);
}

int vfio_cdev_open_dev(const char *devdir)
{
	char path[320], name[256] = "";
	struct dirent *d;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "%s/vfio-dev", devdir);
	dir = opendir(path);
	if (!dir) {
		log("%s: no vfio-dev directory: %s", devdir, strerror(errno));
		return -errno;
	}
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", d->d_name);
	closedir(dir);
	if (!name[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		log("open %s: %s", path, strerror(errno));
		return -errno;
	}
	return fd;
}

int mdev_create(const char *parent, const char *type, const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path),
		 "/sys/class/%s/%s/mdev_supported_types/%s/create", parent,
		 parent, type);
	return sysfs_write(path, uuid);
}

int mdev_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", uuid);
	return sysfs_write(path, "1");
}

int vfio_cdev_bind(int device_fd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	if (devid)
		*devid = bind.out_devid;
	return 0;
}

int vfio_cdev_attach(int device_fd, uint32_t pt_id, uint32_t *out_pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = pt_id,
	};

	if (ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	if (out_pt_id)
		*out_pt_id = attach.pt_id;
	return 0;
}

int vfio_cdev_detach(int device_fd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(device_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) ?
	       -errno : 0;
}

int iommufd_open(void)
{
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0) {
		log("open /dev/iommu: %s", strerror(errno));
		return -errno;
	}
	return fd;
}

int iommufd_ioas_alloc(int iommufd, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return -errno;
	*ioas_id = cmd.out_ioas_id;
	return 0;
}

int iommufd_map_flags(int iommufd, uint32_t ioas_id, void *vaddr,
		      uint64_t iova, uint64_t size, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)vaddr,
		.length = size,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

int page_pins_are(void *buf, size_t len, unsigned int pins)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = {
			.length = len,
			.uptr = (uintptr_t)buf,
			.refs = pins,
		},
	};
	int fd, ret;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd) ? -errno : 0;
	close(fd);
	return ret;
}

int iommufd_map(int iommufd, uint32_t ioas_id, void *vaddr, uint64_t iova,
		uint64_t size)
{
	return iommufd_map_flags(iommufd, ioas_id, vaddr, iova, size,
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE);
}

int iommufd_unmap(int iommufd, uint32_t ioas_id, uint64_t iova,
		  uint64_t size, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = size,
	};

	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd))
		return -errno;
	if (unmapped)
		*unmapped = cmd.length;
	return 0;
}

long proc_status_kb(const char *key)
{
	return proc_file_kb("/proc/self/status", key);
}

long proc_file_kb(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return val;
}

int vfio_container_open(struct vfio_type1 *v, const char *bdf,
			const char *path, int type)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int ret;

	v->group = -1;
	v->device = -1;
	v->container = open(path, O_RDWR);
	if (v->container < 0) {
		ret = -errno;
		log("open %s: %s", path, strerror(errno));
		goto err;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, type) <= 0) {
		ret = -EOPNOTSUPP;
		log("%s does not offer IOMMU type %d", path, type);
		goto err;
	}
	v->group = vfio_group_open(bdf);
	if (v->group < 0) {
		ret = v->group;
		goto err;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status)) {
		ret = -errno;
		goto err;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = -EPERM;
		log("the group of %s is not viable", bdf);
		goto err;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container)) {
		ret = -errno;
		log("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
		goto err;
	}
	if (ioctl(v->container, VFIO_SET_IOMMU, type)) {
		ret = -errno;
		log("VFIO_SET_IOMMU: %s", strerror(errno));
		goto err;
	}
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0) {
		ret = -errno;
		log("VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
		goto err;
	}
	return 0;
err:
	vfio_type1_close(v);
	return ret;
}

int vfio_type1_open(struct vfio_type1 *v, const char *bdf)
{
	return vfio_container_open(v, bdf, "/dev/vfio/vfio",
				   VFIO_TYPE1v2_IOMMU);
}

void vfio_type1_close(struct vfio_type1 *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->container = -1;
	v->group = -1;
	v->device = -1;
}

int vfio_type1_map(struct vfio_type1 *v, void *vaddr, uint64_t iova,
		   uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

int vfio_type1_unmap(struct vfio_type1 *v, uint64_t iova, uint64_t size,
		     uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	if (unmapped)
		*unmapped = unmap.size;
	return 0;
}

/*
 * MMIO: single, untorn accesses that the compiler can neither drop nor
 * merge, as atomic accesses are.  x86 orders uncached accesses itself.
 */
static uint32_t edu_read32(struct edu *edu, unsigned int reg)
{
	return __atomic_load_n((uint32_t *)(edu->bar0 + reg), __ATOMIC_SEQ_CST);
}

static void edu_write32(struct edu *edu, unsigned int reg, uint32_t val)
{
	__atomic_store_n((uint32_t *)(edu->bar0 + reg), val, __ATOMIC_SEQ_CST);
}

static void edu_write64(struct edu *edu, unsigned int reg, uint64_t val)
{
	__atomic_store_n((uint64_t *)(edu->bar0 + reg), val, __ATOMIC_SEQ_CST);
}

int vfio_region_rw(int device_fd, unsigned int index, bool write, void *buf,
		   size_t len, off_t pos)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = index,
	};
	ssize_t n;

	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	if (write)
		n = pwrite(device_fd, buf, len, info.offset + pos);
	else
		n = pread(device_fd, buf, len, info.offset + pos);
	if (n != (ssize_t)len)
		return n < 0 ? -errno : -EIO;
	return 0;
}

int vfio_pci_hot_reset_info(int device_fd,
			    struct vfio_pci_hot_reset_info **out)
{
	struct vfio_pci_hot_reset_info *info;
	size_t size = sizeof(*info);

	for (;;) {
		info = calloc(1, size);
		if (!info)
			return -ENOMEM;
		info->argsz = size;
		if (!ioctl(device_fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info))
			break;
		if (errno != ENOSPC || size > sizeof(*info)) {
			int ret = -errno;

			free(info);
			return ret;
		}
		size += info->count * sizeof(info->devices[0]);
		free(info);
	}
	*out = info;
	return 0;
}

int vfio_pci_hot_reset(int device_fd, const int *group_fds, int count)
{
	struct vfio_pci_hot_reset *reset;
	size_t size = sizeof(*reset) + count * sizeof(reset->group_fds[0]);
	int ret = 0;

	reset = calloc(1, size);
	if (!reset)
		return -ENOMEM;
	reset->argsz = size;
	reset->count = count;
	if (count)
		memcpy(reset->group_fds, group_fds,
		       count * sizeof(reset->group_fds[0]));
	if (ioctl(device_fd, VFIO_DEVICE_PCI_HOT_RESET, reset))
		ret = -errno;
	free(reset);
	return ret;
}

/*
 * Map BAR0 of the edu behind @device_fd (a VFIO device fd, however it was
 * obtained), turn on memory decoding and bus mastering, and check that the
 * device answers as an edu does.
 */
int edu_open(struct edu *edu, int device_fd, const char *bdf)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	uint16_t cmd;
	void *bar;
	int ret;

	memset(edu, 0, sizeof(*edu));
	edu->device_fd = device_fd;
	snprintf(edu->bdf, sizeof(edu->bdf), "%s", bdf);
	if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || !info.size)
		return -ENODEV;
	bar = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   device_fd, info.offset);
	if (bar == MAP_FAILED)
		return -errno;
	edu->bar0 = bar;
	edu->bar0_size = info.size;

	ret = vfio_region_rw(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, false,
			     &cmd, sizeof(cmd), PCI_COMMAND);
	if (ret)
		goto err;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ret = vfio_region_rw(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, true,
			     &cmd, sizeof(cmd), PCI_COMMAND);
	if (ret)
		goto err;

	if ((edu_read32(edu, EDU_REG_ID) & 0xff) != EDU_ID_MAGIC) {
		log("%s: BAR0 does not identify as an edu", bdf);
		ret = -ENODEV;
		goto err;
	}
	edu_write32(edu, EDU_REG_LIVENESS, 0x5a5aa5a5);
	if (edu_read32(edu, EDU_REG_LIVENESS) != ~0x5a5aa5a5U) {
		log("%s: the edu liveness check failed", bdf);
		ret = -EIO;
		goto err;
	}
	return 0;
err:
	edu_close(edu);
	return ret;
}

void edu_close(struct edu *edu)
{
	if (edu->bar0)
		munmap(edu->bar0, edu->bar0_size);
	edu->bar0 = NULL;
}

static int edu_wait_idle(struct edu *edu)
{
	struct timespec ts = { .tv_nsec = 1000000 };
	int ms;

	for (ms = 0; ms < EDU_DMA_TIMEOUT_MS; ms++) {
		if (!(edu_read32(edu, EDU_REG_DMA_CMD) & EDU_DMA_RUN))
			return 0;
		nanosleep(&ts, NULL);
	}
	log("%s: the edu DMA did not finish in %d ms", edu->bdf,
	    EDU_DMA_TIMEOUT_MS);
	return -ETIMEDOUT;
}

static int edu_dma(struct edu *edu, uint64_t iova, uint32_t off,
		   uint32_t len, bool to_ram)
{
	int ret;

	/* QEMU 7.2 aborts on a transfer that ends at the buffer's end. */
	if (!len || off > EDU_DMA_MAX || len > EDU_DMA_MAX - off)
		return -EINVAL;
	ret = edu_wait_idle(edu);
	if (ret)
		return ret;
	edu_write64(edu, EDU_REG_DMA_SRC, to_ram ? EDU_BUF_ADDR + off : iova);
	edu_write64(edu, EDU_REG_DMA_DST, to_ram ? iova : EDU_BUF_ADDR + off);
	edu_write64(edu, EDU_REG_DMA_COUNT, len);
	edu_write32(edu, EDU_REG_DMA_CMD,
		    EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	return edu_wait_idle(edu);
}

/* Copy @len bytes at @off of the edu's buffer to @iova. */
int edu_dma_to_ram(struct edu *edu, uint64_t iova, uint32_t off, uint32_t len)
{
	return edu_dma(edu, iova, off, len, true);
}

/* Copy @len bytes at @iova into the edu's buffer at @off. */
int edu_dma_from_ram(struct edu *edu, uint64_t iova, uint32_t off,
		     uint32_t len)
{
	return edu_dma(edu, iova, off, len, false);
}

int kmsg_mark(struct kmsg_mark *mark)
{
	mark->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (mark->fd < 0)
		return -errno;
	if (lseek(mark->fd, 0, SEEK_END) < 0) {
		close(mark->fd);
		mark->fd = -1;
		return -errno;
	}
	return 0;
}

void kmsg_close(struct kmsg_mark *mark)
{
	if (mark->fd >= 0)
		close(mark->fd);
	mark->fd = -1;
}

/*
 * Read the kernel log records written since @mark (or since the last read)
 * until one contains @needle or @alt (unless NULL), waiting up to a second
 * for late ones.  The message of the matching record is copied to @line.
 */
static bool kmsg_scan(struct kmsg_mark *mark, const char *needle,
		      const char *alt, const char *alt2, char *line,
		      size_t len)
{
	struct timespec ts = { .tv_nsec = 10000000 };
	const char *msg;
	char rec[2048];
	int idle = 0;
	ssize_t n;

	while (idle < 100) {
		n = read(mark->fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EAGAIN) {
			idle++;
			nanosleep(&ts, NULL);
			continue;
		}
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			return false;
		rec[n] = 0;
		if (!strstr(rec, needle) && !(alt && strstr(rec, alt)) &&
		    !(alt2 && strstr(rec, alt2)))
			continue;
		msg = strchr(rec, ';');
		snprintf(line, len, "%s", msg ? msg + 1 : rec);
		line[strcspn(line, "\n")] = 0;
		return true;
	}
	return false;
}

bool kmsg_find(struct kmsg_mark *mark, const char *needle, char *line,
	       size_t len)
{
	char buf[2048];

	return kmsg_scan(mark, needle, NULL, NULL, line ? line : buf,
			 line ? len : sizeof(buf));
}

/*
 * Count the kernel log records since @mark (or the last read) holding
 * @needle, reading until the log has been quiet for a second.
 */
int kmsg_count(struct kmsg_mark *mark, const char *needle)
{
	char line[2048];
	int n = 0;

	while (kmsg_scan(mark, needle, NULL, NULL, line, sizeof(line)))
		n++;
	return n;
}

/*
 * A test that makes the kernel warn on purpose, as a driver breaking a rule
 * of the API would, brackets it with these: the rig's log reader
 * (testbed/results.py) then takes a WARN*() located in @func for expected
 * and not a splat, and fails the run when none comes.  panic_on_warn must
 * be off.  Returns 0 or -errno.
 */
int expect_warn_begin(struct kmsg_mark *mark, const char *func)
{
	char buf[128];
	int fd, ret;

	if (sysfs_read("/proc/sys/kernel/panic_on_warn", buf, sizeof(buf)))
		return -EIO;
	if (atoi(buf))
		return -EBUSY;
	ret = kmsg_mark(mark);
	if (ret)
		return ret;
	/* One write() per record; dprintf() would first seek, EINVAL here. */
	snprintf(buf, sizeof(buf), "testbed: EXPECT WARN %s\n", func);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		kmsg_close(mark);
	return ret;
}

/*
 * Close the bracket: the number of warnings located in @func logged since
 * expect_warn_begin(), or -errno.
 */
int expect_warn_end(struct kmsg_mark *mark, const char *func)
{
	char needle[128];
	int fd, n;

	snprintf(needle, sizeof(needle), " %s+0x", func);
	n = 0;
	for (;;) {
		char line[2048];

		if (!kmsg_scan(mark, needle, NULL, NULL, line, sizeof(line)))
			break;
		if (!strncmp(line, "WARNING: CPU: ", 14))
			n++;
	}
	kmsg_close(mark);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || write(fd, "testbed: EXPECT END\n", 20) != 20)
		n = -EIO;
	if (fd >= 0)
		close(fd);
	return n;
}

/*
 * Did the IOMMU driver report a DMA fault from @bdf since @mark?  Knows the
 * messages of the intel (DMAR) and virtio-iommu drivers, and takes only a
 * record that names the device: QEMU's intel IOMMU now and then raises a
 * fault whose record the driver then finds empty, logging only "DRHD:
 * handling fault status", which names no device and proves nothing about
 * this one; edu_dma_to_ram_blocked() tries again then.  A conventional
 * PCI device behind a PCIe-to-PCI bridge is named by its DMA alias, as the
 * IOMMU sees it.
 */
/*
 * Has the device @bdf a PCI Express capability?  A conventional PCI device
 * behind a PCIe-to-PCI bridge has none, and its DMA reaches the IOMMU
 * with the bridge's requester ID: its secondary bus, devfn 0.
 */
static bool pci_is_express(const char *bdf)
{
	uint8_t cfg[256];
	char path[256];
	unsigned int pos, hops;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return true;
	n = read(fd, cfg, sizeof(cfg));
	close(fd);
	if (n < 0x40 || !(cfg[0x06] & 0x10))	/* no capability list */
		return false;
	pos = cfg[0x34] & ~3u;
	for (hops = 0; pos >= 0x40 && pos + 1 < (unsigned int)n && hops < 48;
	     hops++) {
		if (cfg[pos] == 0x10)		/* PCI_CAP_ID_EXP */
			return true;
		pos = cfg[pos + 1] & ~3u;
	}
	return false;
}

bool edu_fault_seen(struct kmsg_mark *mark, const char *bdf)
{
	unsigned int dom, bus, dev, fn;
	char intel[64], alias[64], virtio[64], line[2048];

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return false;
	snprintf(intel, sizeof(intel), "Request device [%02x:%02x.%d] fault",
		 bus, dev, fn);
	/* The requester ID the IOMMU sees for it, when another */
	alias[0] = 0;
	if (bus && !pci_is_express(bdf))
		snprintf(alias, sizeof(alias),
			 "Request device [%02x:00.0] fault", bus);
	snprintf(virtio, sizeof(virtio), "fault from EP %u ",
		 bus << 8 | dev << 3 | fn);
	if (!kmsg_scan(mark, intel, virtio, alias[0] ? alias : NULL, line,
		       sizeof(line)))
		return false;
	log("IOMMU fault: %s", line);
	return true;
}

/*
 * A blocked DMA logs a fault once per access the device makes (the edu
 * writes 4 bytes at a time), and IOMMU drivers ratelimit those messages:
 * virtio-iommu prints 10 every 5 seconds and drops the rest silently.  A
 * blocked DMA soon after another may therefore log nothing; it is repeated
 * until a fault shows, for longer than one ratelimit interval.
 */
#define EDU_BLOCKED_TRIES	8

/*
 * Is a DMA of @len bytes from the edu's buffer to @iova blocked by the
 * IOMMU?  @dst, the memory the IOVA was mapped to, is filled with a
 * sentinel first: the DMA is blocked when the IOMMU driver logs a fault for
 * the device and @dst still holds the sentinel after every try.
 */
bool edu_dma_to_ram_blocked(struct edu *edu, uint64_t iova, uint8_t *dst,
			    uint32_t len)
{
	uint8_t sentinel[EDU_DMA_MAX];
	struct kmsg_mark mark;
	bool faulted = false;
	int i;

	if (len > sizeof(sentinel))
		return false;
	memset(sentinel, 0xa5, len);
	memcpy(dst, sentinel, len);
	for (i = 0; i < EDU_BLOCKED_TRIES && !faulted; i++) {
		if (kmsg_mark(&mark))
			return false;
		if (edu_dma_to_ram(edu, iova, 0, len)) {
			kmsg_close(&mark);
			return false;
		}
		faulted = edu_fault_seen(&mark, edu->bdf);
		kmsg_close(&mark);
		if (memcmp(sentinel, dst, len)) {
			log("the DMA to %#llx reached memory",
			    (unsigned long long)iova);
			return false;
		}
	}
	if (!faulted)
		log("no IOMMU fault reported for %s", edu->bdf);
	return faulted;
}

/*
 * Run @argv (NULL ended; argv[0] the program's path inside @root) in the
 * root filesystem @root, its stdin a pipe from @v and its stdout and
 * stderr one to @v; the descriptors the caller opened without O_CLOEXEC
 * are inherited.
 */
int vmm_spawn(struct vmm *v, const char *root, const char *const *argv)
{
	int in[2], out[2];

	memset(v, 0, sizeof(*v));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	v->pid = fork();
	if (v->pid < 0)
		return -errno;
	v->running = !!v->pid;
	if (!v->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		if (chroot(root) || chdir("/"))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	v->in = in[1];
	v->out = out[0];
	/* A program that ended must fail a write, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * Start the QEMU of the root filesystem @root (VMM_ROOTFS...) with more
 * arguments @args, the VM's devices (NULL ended).
 */
int vmm_start(struct vmm *v, const char *root, const char *const *args)
{
	static const char *const base[] = {
		VMM_QEMU, "-machine", "q35", "-accel", "tcg", "-m", "64",
		"-nodefaults", "-no-user-config", "-display", "none",
		"-serial", "none", "-monitor", "stdio", "-S",
	};
	const char *argv[64];
	size_t n;

	for (n = 0; n < ARRAY_SIZE(base); n++)
		argv[n] = base[n];
	while (*args && n < ARRAY_SIZE(argv) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return vmm_spawn(v, root, argv);
}

/*
 * Read QEMU's output until it has printed @want @count times in all, or
 * ended, or @secs passed.  Returns 0 when it has.
 */
int vmm_expect(struct vmm *v, const char *want, int count, int secs)
{
	time_t end = time(NULL) + secs;
	struct pollfd pfd = { .fd = v->out, .events = POLLIN };
	const char *p;
	ssize_t got;
	int seen;

	for (;;) {
		seen = 0;
		for (p = v->log; (p = strstr(p, want)); p++)
			seen++;
		if (seen >= count)
			return 0;
		if (time(NULL) >= end || v->len >= sizeof(v->log) - 1)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		got = read(v->out, v->log + v->len, sizeof(v->log) - 1 - v->len);
		if (got <= 0)
			return -EPIPE;
		v->len += got;
		v->log[v->len] = 0;
	}
}

/* Keep what QEMU printed on its way out, for the log. */
void vmm_drain(struct vmm *v)
{
	struct pollfd pfd = { .fd = v->out, .events = POLLIN };
	ssize_t got;

	while (v->len < sizeof(v->log) - 1 && poll(&pfd, 1, 0) > 0) {
		got = read(v->out, v->log + v->len, sizeof(v->log) - 1 - v->len);
		if (got <= 0)
			break;
		v->len += got;
		v->log[v->len] = 0;
	}
}

/* A monitor command; returns when the next prompt is out. */
int vmm_command(struct vmm *v, const char *cmd, int prompts)
{
	if (write(v->in, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -EIO;
	return vmm_expect(v, "(qemu) ", prompts, VMM_START_SECS);
}

/*
 * What the program printed, into the test's output: each line as
 * "# @name: ...", so that its last lines (its error) show with a failure.
 */
void vmm_print(struct vmm *v, const char *name)
{
	const char *p = v->log, *eol;

	vmm_drain(v);
	while (*p) {
		eol = strchrnul(p, '\n');
		printf("# %s: %.*s\n", name, (int)(eol - p), p);
		p = *eol ? eol + 1 : eol;
	}
	fflush(stdout);
}

/*
 * Write @input to the program, then wait for it to end: its exit status,
 * or -1 when it was killed after @secs.
 */
int vmm_stop(struct vmm *v, const char *input, int secs)
{
	int status, i;

	if (write(v->in, input, strlen(input)) != (ssize_t)strlen(input))
		kill(v->pid, SIGKILL);
	for (i = 0; i < secs * 10; i++) {
		vmm_drain(v);
		if (waitpid(v->pid, &status, WNOHANG) == v->pid)
			goto out;
		usleep(100000);
	}
	kill(v->pid, SIGKILL);
	waitpid(v->pid, &status, 0);
	status = -1;
out:
	v->running = false;
	vmm_drain(v);
	close(v->in);
	close(v->out);
	v->in = -1;
	v->out = -1;
	return status;
}

/* "quit", then QEMU's exit status; killed after VMM_QUIT_SECS. */
int vmm_quit(struct vmm *v)
{
	return vmm_stop(v, "quit\n", VMM_QUIT_SECS);
}

long vmm_status_kb(struct vmm *v, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", v->pid);
	return proc_file_kb(path, key);
}

bool vmm_present(const char *root)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", root, VMM_QEMU);
	return !stat(path, &st);
}
