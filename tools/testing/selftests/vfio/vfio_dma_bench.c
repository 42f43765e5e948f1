// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA map and unmap through the VFIO type1 container and through iommufd,
 * on the same device: the root-bus edu of the test machine.
 *
 * Paths, taken in turn within each round:
 *   type1    VFIO_IOMMU_MAP_DMA / UNMAP_DMA on a type1 container;
 *   iommufd  IOMMU_IOAS_MAP / UNMAP on an IOAS the edu's cdev is attached to;
 *   copy     IOMMU_IOAS_COPY of the range mapped by "iommufd" into a second
 *            IOAS, attached to the other edu (another intel-iommu domain),
 *            and IOMMU_IOAS_UNMAP of the copy;
 *   attach   the range mapped into an IOAS with no page table, which pins
 *            nothing; "map" is the attach of the edu's cdev, which pins the
 *            memory and fills a new page table, "unmap" its detach;
 *   compat2  VFIO_IOMMU_MAP_DMA / UNMAP_DMA answered by iommufd: /dev/iommu
 *            as the edu group's container, VFIO_TYPE1v2_IOMMU;
 *   compat1  the same with VFIO_TYPE1_IOMMU (v1, which DPDK selects: an
 *            unmap may cut a mapping).
 * For each buffer size and backing (4K pages, THP, hugetlbfs 2M pages) it
 * prints the first (cold) round and the median of the others, the rate,
 * the ratio to type1, and the iommu_map() and iommu_unmap() calls the path
 * made (counted in an extra, untimed round from the iommu trace events).
 *
 * Each figure counts only once its mapping proved real: the pinned amount
 * (VmLck for type1, VmPin for iommufd) grew by the buffer, or not at all
 * for a copy, and edu DMA through the mapped IOVA reads and writes the
 * buffer.  Those checks are the TAP results; the times are only printed.
 *
 * Without arguments it runs a short pass (4K and 2M buffers, 3 rounds), as
 * make check does.  --full (also TESTBED_BENCH=1 in the environment) runs
 * 4K, 2M, 256M and 1G with 7 rounds; --rounds N and --sizes a,b,... set
 * them by hand, in either pass.  --no-profile leaves out the function
 * profile of the full pass (its text patching once stopped a vCPU under
 * TCG on a stale breakpoint).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../kselftest.h"
#include "vfio_util.h"

#define SZ_4K		0x1000ULL
#define SZ_2M		0x200000ULL
#define SZ_1G		0x40000000ULL
#define IOVA		0x100000000ULL	/* 4 GiB: room for a 1 GiB buffer */
#define MAX_ROUNDS	32
#define TRACING		"/sys/kernel/tracing"

enum backing { BACK_4K, BACK_THP, BACK_HUGETLB, NR_BACKINGS };
static const char *const backing_name[] = { "4k", "thp", "hugetlb" };

enum path {
	PATH_TYPE1, PATH_IOMMUFD, PATH_COPY, PATH_ATTACH, PATH_COMPAT2,
	PATH_COMPAT1, NR_PATHS
};

static const char *const path_name[] = { "type1", "iommufd", "copy",
					 "attach", "compat2", "compat1" };

/*
 * Whether type1 v1 on iommufd keeps large IOMMU pages: this series does
 * where the IOMMU driver can split them when an unmap cuts through one,
 * which intel-iommu's can (its IOMMUs are dmarN); mainline (6.12, or any
 * kernel but 6.1) and virtio-iommu map v1 page by page.
 */
static bool v1_keeps_large_pages(void)
{
	struct utsname u;

	return !uname(&u) && !strncmp(u.release, "6.1.", 4) &&
	       !access("/sys/class/iommu/dmar0", F_OK);
}

/* The paths that go through a VFIO container and its group */
static bool path_is_container(enum path path)
{
	return path == PATH_TYPE1 || path == PATH_COMPAT2 ||
	       path == PATH_COMPAT1;
}

/* The two edus: the root-bus one, and the one behind the bridge. */
static char edu_bdf[BDF_LEN], edu2_bdf[BDF_LEN], e1000_bdf[BDF_LEN];
static char edu_driver[64], edu2_driver[64], e1000_driver[64];
static bool have_type1, have_copy, have_groups;

static int tap_count, tap_failed;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", ok ? "ok" : "not ok", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_failed += !ok;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A buffer of @size bytes with the given backing, every page present. */
struct buffer {
	uint8_t *mem;
	void *area;
	size_t area_size;
	uint64_t size;
	enum backing back;
};

static int hugetlb_reserve(uint64_t size)
{
	char val[32];

	snprintf(val, sizeof(val), "%llu",
		 (unsigned long long)(size + SZ_2M - 1) / SZ_2M);
	return sysfs_write("/proc/sys/vm/nr_hugepages", val);
}

static int buffer_alloc(struct buffer *b, uint64_t size, enum backing back)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	uintptr_t start;

	memset(b, 0, sizeof(*b));
	b->size = size;
	b->back = back;
	b->area_size = (size + SZ_2M - 1) / SZ_2M * SZ_2M;
	if (back == BACK_HUGETLB) {
		if (hugetlb_reserve(b->area_size))
			return -ENOMEM;
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	} else {
		/* Room to align the buffer to 2M, for THP. */
		b->area_size += SZ_2M;
	}
	b->area = mmap(NULL, b->area_size, PROT_READ | PROT_WRITE, flags, -1,
		       0);
	if (b->area == MAP_FAILED)
		return -errno;
	start = ((uintptr_t)b->area + SZ_2M - 1) & ~(SZ_2M - 1);
	b->mem = back == BACK_HUGETLB ? b->area : (uint8_t *)start;
	if (back == BACK_4K &&
	    madvise(b->area, b->area_size, MADV_NOHUGEPAGE))
		return -errno;
	if (back == BACK_THP && madvise(b->mem, b->area_size - SZ_2M,
					MADV_HUGEPAGE))
		return -errno;
	memset(b->mem, 0x5a, size);
	/* THP it must be, for a buffer of huge pages or more */
	if (back == BACK_THP && size >= SZ_2M &&
	    proc_file_kb("/proc/self/smaps_rollup", "AnonHugePages") * 1024 <
	    (long)size)
		return -EAGAIN;
	return 0;
}

static void buffer_free(struct buffer *b)
{
	if (b->area && b->area != MAP_FAILED)
		munmap(b->area, b->area_size);
	memset(b, 0, sizeof(*b));
}

/* The iommu trace events count iommu_map() and iommu_unmap() calls. */
static bool tracing_ready(void)
{
	if (access(TRACING "/events/iommu/map/enable", W_OK))
		mount("tracefs", TRACING, "tracefs", 0, NULL);
	return !access(TRACING "/events/iommu/map/enable", W_OK);
}

/* Record the event iommu:@event (map or unmap), or stop recording it. */
static int tracing_on(const char *event, bool on)
{
	char path[96];

	snprintf(path, sizeof(path), TRACING "/events/iommu/%s/enable", event);
	return sysfs_write(path, on ? "1" : "0");
}

/* Empty the trace buffers, which also zeroes their counters. */
static int tracing_reset(void)
{
	int fd = open(TRACING "/trace", O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Events recorded since the last reset, on every CPU: those in the buffers
 * and those the full buffers overwrote.
 */
static long tracing_count(void)
{
	char path[96], line[128];
	long n = 0, v;
	int cpu;
	FILE *f;

	for (cpu = 0;; cpu++) {
		snprintf(path, sizeof(path), TRACING "/per_cpu/cpu%d/stats",
			 cpu);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "entries: %ld", &v) == 1 ||
			    sscanf(line, "overrun: %ld", &v) == 1)
				n += v;
		fclose(f);
	}
	return cpu ? n : -1;
}

/*
 * The ftrace function profiler (CONFIG_FUNCTION_PROFILER, with the graph
 * tracer: times include callees) times these functions in the counting
 * round of the full pass, to show where a path spends its time.  Those the kernel does not
 * have, or inlined, are left out.
 */
static const char *const prof_funcs[] = {
	"iommufd_ioas_map", "iommufd_ioas_copy", "iommufd_ioas_unmap",
	"iopt_map_area_list", "iopt_pages_fill", "iopt_pages_unfill",
	"iopt_pages_map", "iopt_copy", "iopt_unmap_iova",
	"iopt_table_add_domain", "iopt_table_remove_domain",
	"iopt_place_area", "iopt_area_fill", "iopt_fill_pin",
	"iopt_fill_copy_runs", "iopt_area_map_domains", "iopt_check_areas",
	"iopt_unmap_range", "iopt_area_unmap_domain", "iopt_fill_unpin",
	"vfio_dma_do_map", "vfio_dma_do_unmap",
	"pin_user_pages_fast", "pin_user_pages_remote",
	"unpin_user_page_range_dirty_lock", "unpin_user_pages_dirty_lock",
	"iommu_map", "iommu_map_sg", "iommu_unmap", "iommu_unmap_fast",
};

#define NR_PROF		ARRAY_SIZE(prof_funcs)
/* trace_stat shows this much of a function's name. */
#define PROF_NAME_LEN	30

struct profile {
	long hits[NR_PROF];
	double ms[NR_PROF];
};

static bool profiling;
/* The profiles, printed after the table. */
static FILE *prof_out;
static char *prof_text;
static size_t prof_len;

/* Profile only prof_funcs, if the kernel can; an empty filter is all. */
static bool profile_ready(void)
{
	unsigned int i, n = 0;
	int fd;

	if (access(TRACING "/function_profile_enabled", W_OK) ||
	    sysfs_write(TRACING "/function_profile_enabled", "0"))
		return false;
	fd = open(TRACING "/set_ftrace_filter", O_WRONLY | O_TRUNC);
	if (fd < 0)
		return false;
	close(fd);
	for (i = 0; i < NR_PROF; i++) {
		fd = open(TRACING "/set_ftrace_filter", O_WRONLY | O_APPEND);
		if (fd < 0)
			break;
		n += write(fd, prof_funcs[i], strlen(prof_funcs[i])) ==
		     (ssize_t)strlen(prof_funcs[i]);
		close(fd);
	}
	return n > 0;
}

static void profile_done(void)
{
	int fd;

	sysfs_write(TRACING "/function_profile_enabled", "0");
	fd = open(TRACING "/set_ftrace_filter", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

/* Enabling the profiler starts it from zero. */
static int profile_start(void)
{
	return sysfs_write(TRACING "/function_profile_enabled", "1");
}

/* Stop the profiler and sum its per-CPU statistics into @prof. */
static void profile_stop(struct profile *prof)
{
	char path[96], line[256], name[128];
	unsigned int i;
	double us;
	long hits;
	int cpu;
	FILE *f;

	sysfs_write(TRACING "/function_profile_enabled", "0");
	memset(prof, 0, sizeof(*prof));
	for (cpu = 0;; cpu++) {
		snprintf(path, sizeof(path), TRACING "/trace_stat/function%d",
			 cpu);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, " %127s %ld %lf us", name, &hits,
				   &us) != 3)
				continue;
			for (i = 0; i < NR_PROF; i++) {
				if (strncmp(name, prof_funcs[i], PROF_NAME_LEN))
					continue;
				prof->hits[i] += hits;
				prof->ms[i] += us / 1e3;
			}
		}
		fclose(f);
	}
}

/* Count the iommu calls of one operation (iommu:map or iommu:unmap). */
static int count_start(const char *event)
{
	if (tracing_reset() || tracing_on(event, true))
		return -1;
	return profiling ? profile_start() : 0;
}

static void count_stop(const char *event, long *calls, struct profile *prof)
{
	tracing_on(event, false);
	*calls = tracing_count();
	if (profiling)
		profile_stop(prof);
}

/*
 * One path set up on the root edu (and, for copy, on the other edu): the
 * mapping is made at IOVA and undone by unmap().
 */
struct path_ctx {
	enum path path;
	struct vfio_type1 v;
	int iommufd;
	int cdev, cdev2;
	uint32_t ioas, ioas2;
	struct edu edu;		/* the edu whose DMA the mapping serves */
	bool edu_open;
};

/*
 * Open the cdev of @bdf into *@cdev, bind it to @iommufd and attach it to
 * a new IOAS, *@ioas.  *@cdev is left for the caller to close.
 */
static int cdev_on_new_ioas(int iommufd, const char *bdf, int *cdev,
			    uint32_t *ioas)
{
	uint32_t pt;
	int ret;

	*cdev = vfio_cdev_open(bdf);
	if (*cdev < 0)
		return *cdev;
	ret = vfio_cdev_bind(*cdev, iommufd, NULL);
	if (!ret)
		ret = iommufd_ioas_alloc(iommufd, ioas);
	if (!ret)
		ret = vfio_cdev_attach(*cdev, *ioas, &pt);
	return ret;
}

static int path_open(struct path_ctx *p, enum path path)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->path = path;
	p->v.container = -1;
	p->v.group = -1;
	p->v.device = -1;
	p->iommufd = -1;
	p->cdev = -1;
	p->cdev2 = -1;
	if (path_is_container(path)) {
		if (path == PATH_TYPE1)
			ret = vfio_type1_open(&p->v, edu_bdf);
		else
			ret = vfio_container_open(&p->v, edu_bdf, "/dev/iommu",
						  path == PATH_COMPAT1 ?
						  VFIO_TYPE1_IOMMU :
						  VFIO_TYPE1v2_IOMMU);
		if (ret)
			return ret;
		ret = edu_open(&p->edu, p->v.device, edu_bdf);
		p->edu_open = !ret;
		return ret;
	}
	p->iommufd = iommufd_open();
	if (p->iommufd < 0)
		return p->iommufd;
	ret = cdev_on_new_ioas(p->iommufd, edu_bdf, &p->cdev, &p->ioas);
	if (ret)
		return ret;
	if (path == PATH_IOMMUFD || path == PATH_ATTACH) {
		ret = edu_open(&p->edu, p->cdev, edu_bdf);
		p->edu_open = !ret;
		return ret;
	}
	ret = cdev_on_new_ioas(p->iommufd, edu2_bdf, &p->cdev2, &p->ioas2);
	if (!ret)
		ret = edu_open(&p->edu, p->cdev2, edu2_bdf);
	p->edu_open = !ret;
	return ret;
}

static void path_close(struct path_ctx *p)
{
	if (p->edu_open)
		edu_close(&p->edu);
	if (path_is_container(p->path)) {
		vfio_type1_close(&p->v);
		return;
	}
	if (p->cdev2 >= 0)
		close(p->cdev2);
	if (p->cdev >= 0)
		close(p->cdev);
	if (p->iommufd >= 0)
		close(p->iommufd);
}

/*
 * For copy, the source mapping in the first IOAS; for attach, the mapping
 * in the IOAS, once the edu is detached from it.  Made before the timed
 * call, removed after the timed unmap.
 */
static int path_prepare(struct path_ctx *p, struct buffer *b)
{
	int ret;

	if (p->path == PATH_ATTACH) {
		ret = vfio_cdev_detach(p->cdev);
		if (ret)
			return ret;
	} else if (p->path != PATH_COPY) {
		return 0;
	}
	return iommufd_map(p->iommufd, p->ioas, b->mem, IOVA, b->size);
}

static int path_finish(struct path_ctx *p, struct buffer *b)
{
	if (p->path != PATH_COPY && p->path != PATH_ATTACH)
		return 0;
	return iommufd_unmap(p->iommufd, p->ioas, IOVA, b->size, NULL);
}

static int path_map(struct path_ctx *p, struct buffer *b)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	switch (p->path) {
	case PATH_TYPE1:
	case PATH_COMPAT2:
	case PATH_COMPAT1:
		return vfio_type1_map(&p->v, b->mem, IOVA, b->size);
	case PATH_IOMMUFD:
		return iommufd_map(p->iommufd, p->ioas, b->mem, IOVA, b->size);
	case PATH_ATTACH:
		return vfio_cdev_attach(p->cdev, p->ioas, NULL);
	default:
		copy.dst_ioas_id = p->ioas2;
		copy.src_ioas_id = p->ioas;
		copy.length = b->size;
		copy.dst_iova = IOVA;
		copy.src_iova = IOVA;
		return ioctl(p->iommufd, IOMMU_IOAS_COPY, &copy) ? -errno : 0;
	}
}

static int path_unmap(struct path_ctx *p, struct buffer *b)
{
	uint64_t unmapped = 0;
	int ret;

	if (p->path == PATH_ATTACH)
		return vfio_cdev_detach(p->cdev);
	if (path_is_container(p->path))
		ret = vfio_type1_unmap(&p->v, IOVA, b->size, &unmapped);
	else
		ret = iommufd_unmap(p->iommufd, p->path == PATH_COPY ?
				    p->ioas2 : p->ioas, IOVA, b->size,
				    &unmapped);
	if (!ret && unmapped != b->size)
		ret = -EIO;
	return ret;
}

/*
 * Pinned memory, in kB, as the path accounts it: type1 in mm->locked_vm,
 * iommufd opened as /dev/iommu in mm->pinned_vm.
 */
static long pinned_kb(enum path path)
{
	return proc_status_kb(path == PATH_TYPE1 ? "VmLck" : "VmPin");
}

/*
 * The mapping is real: the edu reads, through the IOVA, what the buffer
 * holds at a spot, and writes there what the buffer then holds.
 */
static bool dma_check(struct path_ctx *p, struct buffer *b, unsigned int seed)
{
	/* Half the edu's buffer: it refuses a transfer ending at its end. */
	const uint64_t len = 2048;
	uint64_t off = (b->size / 2 - len) / SZ_4K * SZ_4K + 64;
	uint8_t pattern[2048], back[2048];
	uint64_t i;

	for (i = 0; i < len; i++)
		pattern[i] = (uint8_t)(seed * 31 + i * 7);
	memcpy(b->mem + off, pattern, len);
	if (edu_dma_from_ram(&p->edu, IOVA + off, 0, len))
		return false;
	memset(b->mem + off, 0, len);
	if (edu_dma_to_ram(&p->edu, IOVA + off, 0, len))
		return false;
	memcpy(back, b->mem + off, len);
	return !memcmp(back, pattern, len);
}

struct result {
	double map[MAX_ROUNDS], unmap[MAX_ROUNDS];
	int rounds;
	long maps, unmaps;	/* iommu_map()/iommu_unmap() calls, or -1 */
	struct profile prof_map, prof_unmap;
	bool ok;
	char why[160];		/* why not */
};

/*
 * Map (@map) or unmap once: timed into this round of @r, or, with @count,
 * with its iommu calls counted and profiled instead.  Returns 0, or not
 * and says why in @r.
 */
static int measure(struct path_ctx *p, struct buffer *b, bool map,
		   bool count, struct result *r)
{
	const char *event = map ? "map" : "unmap";
	double t0, t1;
	int ret;

	if (count && count_start(event)) {
		snprintf(r->why, sizeof(r->why),
			 "cannot enable the iommu trace events");
		return -1;
	}
	t0 = now_ms();
	ret = map ? path_map(p, b) : path_unmap(p, b);
	t1 = now_ms();
	if (count)
		count_stop(event, map ? &r->maps : &r->unmaps,
			   map ? &r->prof_map : &r->prof_unmap);
	else
		(map ? r->map : r->unmap)[r->rounds] = t1 - t0;
	if (ret)
		snprintf(r->why, sizeof(r->why), "%s: %s", event,
			 strerror(-ret));
	return ret;
}

/*
 * The physically contiguous runs of the buffer, from /proc/self/pagemap
 * (its PFNs need CAP_SYS_ADMIN); -1 when they cannot be read.
 */
static long buffer_runs(const struct buffer *b)
{
	const uint64_t present = 1ULL << 63, pfn_mask = (1ULL << 55) - 1;
	uint64_t ent, last = 0;
	long runs = 0;
	size_t i;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < b->size / 4096; i++) {
		if (pread(fd, &ent, sizeof(ent),
			  ((uintptr_t)b->mem / 4096 + i) * sizeof(ent)) !=
		    sizeof(ent) || !(ent & present) || !(ent & pfn_mask)) {
			runs = -1;
			break;
		}
		if (!i || (ent & pfn_mask) != last + 1)
			runs++;
		last = ent & pfn_mask;
	}
	close(fd);
	return runs;
}

/*
 * How many pins each page of the buffer shows once it is mapped: one per
 * page, summed over a huge page for all of its pages; -1 when unknown (a
 * THP buffer smaller than a huge page may or may not have one).
 */
static long pins_per_page(const struct buffer *b)
{
	if (b->back == BACK_4K)
		return 1;
	if (b->back == BACK_THP && b->size < SZ_2M)
		return -1;
	if (b->size >= SZ_2M)
		return SZ_2M / 4096;
	return (long)(b->size / 4096);
}

/*
 * The real pins of the buffer's pages, counted (VmPin and VmLck are the
 * accounting, which a leaked or a missing pin does not change): @want per
 * page, or any count when @want is -1.
 */
static bool pins_are(struct buffer *b, long want, char *why, size_t why_len,
		     const char *when)
{
	int ret;

	if (want < 0)
		return true;
	ret = page_pins_are(b->mem, b->size, want);
	if (ret)
		snprintf(why, why_len, "%s: pages not pinned %ld times: %s",
			 when, want, strerror(-ret));
	return !ret;
}

/*
 * One round of one path: set up, map (timed), check, unmap (timed), check
 * that the pins went, tear down.  With @count, the iommu calls are counted
 * instead of timed.
 */
static bool run_round(enum path path, struct buffer *b, struct result *r,
		      bool count)
{
	size_t why_len = sizeof(r->why);
	char *why = r->why;
	long pin0, pin1, pin2, want;
	struct path_ctx p;
	bool ok = false;
	int ret;

	ret = path_open(&p, path);
	if (ret) {
		snprintf(why, why_len, "setup: %s", strerror(-ret));
		goto out;
	}
	ret = path_prepare(&p, b);
	if (ret) {
		snprintf(why, why_len, "source map: %s", strerror(-ret));
		goto out;
	}
	pin0 = pinned_kb(path);
	if (measure(&p, b, true, count, r))
		goto out;
	/*
	 * iommufd maps each run with one iommu_map() (iommu_map_sg() splits
	 * its scatterlists at 1 GiB): more calls than that is large IOMMU
	 * pages lost.  type1 batches its pins, and may map a run in pieces;
	 * v1 maps page by page, so that an unmap can cut anywhere, unless
	 * the IOMMU can split a large page where an unmap cuts it.
	 */
	if (count && path != PATH_TYPE1 &&
	    (path != PATH_COMPAT1 || v1_keeps_large_pages())) {
		want = buffer_runs(b);
		if (want < 0 && testbed_required()) {
			snprintf(why, why_len, "cannot read the buffer's PFNs");
			goto out;
		}
		if (want >= 0 && r->maps > want + (long)(b->size / SZ_1G)) {
			snprintf(why, why_len,
				 "%ld iommu_map calls for %ld physical runs",
				 r->maps, want);
			goto out;
		}
	}
	pin1 = pinned_kb(path);
	/* A copy pins nothing: it shares the pins of its source. */
	want = path == PATH_COPY ? 0 : (long)(b->size >> 10);
	if (pin1 - pin0 != want) {
		snprintf(why, why_len, "pinned %ld kB, expected %ld kB",
			 pin1 - pin0, want);
		goto out;
	}
	if (!pins_are(b, pins_per_page(b), why, why_len, "mapped"))
		goto out;
	if (!dma_check(&p, b, r->rounds)) {
		snprintf(why, why_len, "edu DMA through the IOVA missed the buffer");
		goto out;
	}
	if (measure(&p, b, false, count, r))
		goto out;
	pin2 = pinned_kb(path);
	if (pin2 != pin0) {
		snprintf(why, why_len, "%ld kB still pinned after unmap",
			 pin2 - pin0);
		goto out;
	}
	/* A copy's source keeps its pins until it is unmapped itself. */
	if (!pins_are(b, path == PATH_COPY ? pins_per_page(b) : 0, why,
		      why_len, "unmapped"))
		goto out;
	ret = path_finish(&p, b);
	if (ret) {
		snprintf(why, why_len, "source unmap: %s", strerror(-ret));
		goto out;
	}
	if (!pins_are(b, 0, why, why_len, "source unmapped"))
		goto out;
	if (!count)
		r->rounds++;
	ok = true;
out:
	path_close(&p);
	return ok;
}

/* Another round of a path that has not failed yet */
static void run_path(enum path path, struct buffer *b, struct result *r,
		     bool count)
{
	if (r->ok)
		r->ok = run_round(path, b, r, count);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the warm rounds (all but the first) */
static double warm_median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	if (n < 2)
		return v[0];
	memcpy(s, v + 1, (n - 1) * sizeof(*s));
	qsort(s, n - 1, sizeof(*s), cmp_double);
	return (n - 1) % 2 ? s[(n - 1) / 2] :
			     (s[(n - 1) / 2 - 1] + s[(n - 1) / 2]) / 2;
}

static void size_name(uint64_t size, char *buf, size_t len)
{
	if (size >= (1ULL << 30) && !(size % (1ULL << 30)))
		snprintf(buf, len, "%lluG", (unsigned long long)(size >> 30));
	else if (size >= (1ULL << 20) && !(size % (1ULL << 20)))
		snprintf(buf, len, "%lluM", (unsigned long long)(size >> 20));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(size >> 10));
}

static double gibps(uint64_t size, double ms)
{
	return ms > 0 ? size / (double)(1ULL << 30) / (ms / 1e3) : 0;
}

/* One line of the profile section: the profiled functions called. */
static void report_profile(const char *sz, enum backing back,
			   enum path path, const char *op,
			   const struct profile *prof)
{
	unsigned int i;

	if (!prof_out)
		return;
	fprintf(prof_out, "# %s %s %s %s:", sz, backing_name[back],
		path_name[path], op);
	for (i = 0; i < NR_PROF; i++)
		if (prof->hits[i])
			fprintf(prof_out, " %s %ldx %.3f ms;", prof_funcs[i],
				prof->hits[i], prof->ms[i]);
	fprintf(prof_out, "\n");
}

static void report(uint64_t size, enum backing back, struct result *res)
{
	double map_t1 = warm_median(res[PATH_TYPE1].map,
				    res[PATH_TYPE1].rounds);
	double unmap_t1 = warm_median(res[PATH_TYPE1].unmap,
				      res[PATH_TYPE1].rounds);
	char sz[24];
	int path;

	size_name(size, sz, sizeof(sz));
	for (path = 0; path < NR_PATHS; path++) {
		struct result *r = &res[path];
		double map, unmap;

		if (!r->ok || !r->rounds)
			continue;
		map = warm_median(r->map, r->rounds);
		unmap = warm_median(r->unmap, r->rounds);
		printf("# %-5s %-8s %-8s", sz, backing_name[back],
		       path_name[path]);
		printf(" %10.3f %10.3f %10.3f %10.3f", r->map[0], map,
		       r->unmap[0], unmap);
		printf(" %8.2f %8.2f %7.3f %7.3f %8ld %8ld\n",
		       gibps(size, map), gibps(size, unmap),
		       res[PATH_TYPE1].ok ? map / map_t1 : 0,
		       res[PATH_TYPE1].ok ? unmap / unmap_t1 : 0,
		       r->maps, r->unmaps);
		report_profile(sz, back, path, "map", &r->prof_map);
		report_profile(sz, back, path, "unmap", &r->prof_unmap);
	}
	fflush(stdout);
}

static int setup_devices(void)
{
	int ret;

	ret = edu_find_alone(edu_bdf);
	if (ret)
		return ret;
	ret = pci_driver_of(edu_bdf, edu_driver, sizeof(edu_driver));
	if (!ret)
		ret = pci_bind(edu_bdf, "vfio-pci");
	if (ret)
		return ret;
	/* The other edu, for copy: its group's e1000 must be driverless. */
	if (edu_find_grouped(edu2_bdf, e1000_bdf))
		return 0;
	if (pci_driver_of(edu2_bdf, edu2_driver, sizeof(edu2_driver)) ||
	    pci_driver_of(e1000_bdf, e1000_driver, sizeof(e1000_driver)))
		return 0;
	if (pci_unbind(e1000_bdf) || pci_bind(edu2_bdf, "vfio-pci"))
		return 0;
	have_copy = true;
	return 0;
}

static void restore_devices(void)
{
	pci_bind(edu_bdf, edu_driver[0] ? edu_driver : NULL);
	if (!edu2_bdf[0])
		return;
	pci_bind(edu2_bdf, edu2_driver[0] ? edu2_driver : NULL);
	if (e1000_driver[0])
		pci_bind(e1000_bdf, e1000_driver);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g':
		return v << 30;
	case 'M': case 'm':
		return v << 20;
	case 'K': case 'k':
		return v << 10;
	default:
		return v;
	}
}

static void bad_arguments(const char *prog)
{
	fprintf(stderr, "usage: %s [--full] [--no-profile] [--rounds N] [--sizes 4K,2M,...]\n"
		"  sizes: 4K multiples up to 1G; rounds: 2 to %d\n", prog,
		MAX_ROUNDS);
	exit(2);
}

int main(int argc, char **argv)
{
	const uint64_t full_sizes[] = { SZ_4K, SZ_2M, 256ULL << 20, 1ULL << 30 };
	const char *bench = getenv("TESTBED_BENCH");
	int nsizes = 2, rounds = 3, i, s, back, round, path, planned;
	uint64_t sizes[8] = { SZ_4K, SZ_2M };
	bool count, full, sizes_given = false, rounds_given = false;
	bool no_profile = false;

	full = bench && !strcmp(bench, "1");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full")) {
			full = true;
		} else if (!strcmp(argv[i], "--no-profile")) {
			no_profile = true;
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
			rounds_given = true;
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *list = strdup(argv[++i]), *tok, *save;

			nsizes = 0;
			sizes_given = true;
			for (tok = strtok_r(list, ",", &save); tok && nsizes < 8;
			     tok = strtok_r(NULL, ",", &save))
				sizes[nsizes++] = parse_size(tok);
			free(list);
		} else {
			bad_arguments(argv[0]);
		}
	}
	/* The full run's sizes and rounds, unless given. */
	if (full && !sizes_given) {
		memcpy(sizes, full_sizes, sizeof(full_sizes));
		nsizes = 4;
	}
	if (full && !rounds_given)
		rounds = 7;
	if (rounds < 2 || rounds > MAX_ROUNDS || !nsizes)
		bad_arguments(argv[0]);
	for (s = 0; s < nsizes; s++)
		if (!sizes[s] || sizes[s] % SZ_4K || sizes[s] > (1ULL << 30))
			bad_arguments(argv[0]);

	planned = nsizes * NR_BACKINGS * NR_PATHS;
	printf("TAP version 13\n1..%d\n", planned);
	if (setup_devices()) {
		for (i = 0; i < planned; i++)
			tap(!testbed_required(), "# SKIP no edu alone in its IOMMU group");
		return testbed_required();
	}
	have_type1 = vfio_containers_configured();
	have_groups = vfio_groups_configured();
	count = tracing_ready();
	/*
	 * Each start and stop of the profiler patches kernel text, the
	 * graph tracer's sched_switch probe included, on every CPU.  Under
	 * QEMU's TCG with two vCPUs that once left a CPU running a stale
	 * int3 in __schedule() (an Oops): the short pass that make check
	 * runs does without the profile.
	 */
	profiling = full && count && !no_profile && profile_ready();
	if (profiling)
		prof_out = open_memstream(&prof_text, &prof_len);
	diag("edu %s (type1, iommufd), %s (copy)%s%s; %d rounds, the first cold",
	     edu_bdf, have_copy ? edu2_bdf : "none",
	     count ? "" : "; no tracefs: iommu calls not counted",
	     !full ? "; no profile in the short pass" :
	     count && !prof_out ? "; no function profiler" : "", rounds);
	diag("times in ms: cold = first round, warm = median of the others; "
	     "x type1 = warm time / type1's warm time");
	diag("%-5s %-8s %-8s %10s %10s %10s %10s %8s %8s %7s %7s %8s %8s",
	     "size", "backing", "path", "map_cold", "map_warm", "unmap_cold",
	     "unmap_warm", "map_GiB/s", "unm_GiB/s", "map_x", "unm_x",
	     "iommu_map", "iommu_unm");

	for (s = 0; s < nsizes; s++) {
		for (back = 0; back < NR_BACKINGS; back++) {
			struct result res[NR_PATHS];
			struct buffer b;
			char sz[24];
			int ret;

			size_name(sizes[s], sz, sizeof(sz));
			memset(res, 0, sizeof(res));
			ret = buffer_alloc(&b, sizes[s], back);
			for (path = 0; path < NR_PATHS; path++) {
				res[path].ok = !ret;
				res[path].maps = -1;
				res[path].unmaps = -1;
				if (ret)
					snprintf(res[path].why,
						 sizeof(res[path].why),
						 "%s buffer: %s",
						 backing_name[back],
						 strerror(-ret));
			}
			res[PATH_TYPE1].ok &= have_type1;
			res[PATH_COPY].ok &= have_copy;
			res[PATH_COMPAT2].ok &= have_groups;
			res[PATH_COMPAT1].ok &= have_groups;
			/* The paths take turns, round by round. */
			for (round = 0; round < rounds; round++)
				for (path = 0; path < NR_PATHS; path++)
					run_path(path, &b, &res[path], false);
			for (path = 0; count && path < NR_PATHS; path++)
				run_path(path, &b, &res[path], true);
			report(sizes[s], back, res);
			for (path = 0; path < NR_PATHS; path++) {
				if (path == PATH_TYPE1 && !have_type1)
					tap(true, "%s %s %s # SKIP kernel built without %s",
					    sz, backing_name[back],
					    path_name[path],
					    "CONFIG_VFIO_CONTAINER");
				else if ((path == PATH_COMPAT2 ||
					  path == PATH_COMPAT1) && !have_groups)
					tap(true, "%s %s %s # SKIP kernel built without %s",
					    sz, backing_name[back],
					    path_name[path], "CONFIG_VFIO_GROUP");
				else if (path == PATH_COPY && !have_copy)
					tap(!testbed_required(),
					    "%s %s %s # SKIP no second edu",
					    sz, backing_name[back],
					    path_name[path]);
				else if (res[path].ok)
					tap(true, "%s %s %s: pinned and DMA-checked in %d rounds",
					    sz, backing_name[back],
					    path_name[path], res[path].rounds);
				else
					tap(false, "%s %s %s: %s", sz,
					    backing_name[back],
					    path_name[path], res[path].why);
			}
			buffer_free(&b);
			if (back == BACK_HUGETLB)
				hugetlb_reserve(0);
		}
	}
	if (prof_out) {
		fclose(prof_out);
		diag("where the time goes (ftrace function profiler, counting round):");
		diag("calls and ms of each function, callees and overhead included");
		fputs(prof_text, stdout);
		free(prof_text);
	}
	if (profiling)
		profile_done();
	restore_devices();
	printf("# Totals: pass:%d fail:%d\n", tap_count - tap_failed,
	       tap_failed);
	return tap_failed ? 1 : 0;
}
