// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_TEST_CMD: hooks into iommufd for its selftests, and a mock IOMMU
 * driver, built only with CONFIG_IOMMUFD_TEST.  Operations not implemented
 * yet answer EOPNOTSUPP, as an unknown operation does.
 *
 * Each mock IOMMU serves devices on a bus of its own.  Its domains keep
 * their translations in an xarray, with pages of half PAGE_SIZE so that
 * iommufd's alignment rules are exercised, and translate only
 * [MOCK_APERTURE_START, MOCK_APERTURE_LAST].
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

#define MOCK_IO_PAGE_SIZE	(PAGE_SIZE / 2)

/*
 * Fault injection at the failures that slab and page allocation failures
 * cannot reach (pinning, IOMMU mapping, attaching), as debugfs
 * fail_iommufd; /proc/self/task/TID/fail-nth counts it too.
 */
static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/* Bits kept with each translation besides the physical page. */
enum {
	MOCK_PFN_READ = 1UL << 0,
	MOCK_PFN_WRITE = 1UL << 1,
	/* part of a MOCK_HUGE_PAGE_SIZE entry */
	MOCK_PFN_HUGE = 1UL << 2,
	/* written while dirty tracking was on (IOMMU_TEST_OP_DIRTY) */
	MOCK_PFN_DIRTY = 1UL << 3,
	MOCK_PFN_SHIFT = 4,
};

/*
 * Two mock IOMMUs, each serving a bus of its own: the plain one, and one
 * whose domains can also map MOCK_HUGE_PAGE_SIZE pages, for devices made
 * with MOCK_FLAGS_DEVICE_HUGE_IOVA.  A device attaches only to domains of
 * its own IOMMU, so an IOAS with devices of both gets two domains.
 */
enum mock_iommu_kind {
	MOCK_IOMMU_PLAIN,
	MOCK_IOMMU_HUGE,
	MOCK_IOMMU_NUM,
};

#define MOCK_HUGE_PAGE_SIZE	(512 * MOCK_IO_PAGE_SIZE)

struct mock_iommu {
	struct bus_type bus;
	struct iommu_device iommu;
	struct notifier_block nb;
	const struct iommu_ops *ops;
};

static struct mock_iommu mock_iommus[MOCK_IOMMU_NUM];

/*
 * Set through debugfs iommufd/mock_dev_noncoherent: mock devices made
 * meanwhile report that their IOMMU cannot enforce cache coherency.
 */
static bool mock_dev_noncoherent;
/*
 * Set through debugfs iommufd/mock_domain_late_setup: mock domains made
 * meanwhile get their aperture only at their first attach and refuse maps
 * until then, as the domains of several IOMMU drivers of this kernel do.
 */
static bool mock_domain_late_setup;
/*
 * Set through debugfs iommufd/mock_dev_resv_regions: mock devices made
 * meanwhile report a software-managed MSI window (as an SMMU in front of a
 * GICv3 ITS does) and a direct-mapped region they can do without (as the
 * RMRR of a USB controller is), at the IOVAs of MOCK_SW_MSI_START and
 * MOCK_RELAXABLE_START.  Such a device refuses to attach to a domain that
 * has no MSI cookie: its MSIs would fault.
 */
static bool mock_dev_resv_regions;
/*
 * Set through debugfs iommufd/mock_dev_incoherent_dma: mock devices made
 * meanwhile report that their IOMMU cannot make DMA cache coherent at all
 * (no IOMMU_CAP_CACHE_COHERENCY), which iommufd refuses to bind.
 */
static bool mock_dev_incoherent_dma;
static struct dentry *iommufd_debugfs_dir;

#define MOCK_SW_MSI_START	0x8000000UL
#define MOCK_RELAXABLE_START	0x9000000UL
#define MOCK_RESV_LENGTH	0x100000UL

struct mock_iommu_domain {
	struct iommu_domain domain;
	struct xarray pfns;
	enum mock_iommu_kind kind;
	/* Maps are refused until the first attach sets the aperture. */
	bool set_up;
	/* Protects the two below, and the first setting of @set_up. */
	spinlock_t lock;
	/* Cache coherency enforced; a device that cannot is refused. */
	bool enforce_cc;
	/* A device that cannot enforce cache coherency was attached. */
	bool had_noncoherent;
	/*
	 * Dirty tracking is on: IOMMU_TEST_OP_DIRTY marks pages only then,
	 * as a device's writes leave no trace while it is off.  Changes of
	 * it and of the entries' MOCK_PFN_DIRTY are serialized by iommufd.
	 */
	bool dirty_tracking;
};

static struct iommu_domain mock_identity_domain = {
	.type = IOMMU_DOMAIN_IDENTITY,
};

/*
 * What an owned group is attached to while no page table is: a real
 * blocking domain, as IOMMU drivers have, so that it never meets a mock
 * device's checks of page tables.
 */
static struct iommu_domain mock_blocking_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
};

static DEFINE_IDA(mock_dev_ida);

struct mock_dev {
	struct device dev;
	int id;
	enum mock_iommu_kind kind;
	/* MOCK_FLAGS_DEVICE_* */
	u32 flags;
	bool noncoherent;
	bool resv_regions;
	bool incoherent_dma;
};

static struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain, domain);
}

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

/* At allocation, or at the first attach under the domain's lock. */
static void mock_domain_set_up(struct mock_iommu_domain *mock)
{
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	WRITE_ONCE(mock->set_up, true);
}

static struct iommu_domain *mock_domain_alloc(unsigned int type,
					      enum mock_iommu_kind kind)
{
	struct mock_iommu_domain *mock;

	if (type == IOMMU_DOMAIN_IDENTITY)
		return &mock_identity_domain;
	if (type == IOMMU_DOMAIN_BLOCKED)
		return &mock_blocking_domain;
	if (type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;

	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return NULL;
	if (!READ_ONCE(mock_domain_late_setup))
		mock_domain_set_up(mock);
	mock->domain.pgsize_bitmap = mock_iommus[kind].ops->pgsize_bitmap;
	mock->kind = kind;
	spin_lock_init(&mock->lock);
	xa_init(&mock->pfns);
	return &mock->domain;
}

static struct iommu_domain *mock_plain_domain_alloc(unsigned int type)
{
	return mock_domain_alloc(type, MOCK_IOMMU_PLAIN);
}

static struct iommu_domain *mock_huge_domain_alloc(unsigned int type)
{
	return mock_domain_alloc(type, MOCK_IOMMU_HUGE);
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock;

	if (domain == &mock_identity_domain ||
	    domain == &mock_blocking_domain)
		return;
	mock = to_mock_domain(domain);
	/* iommufd unmaps everything before it frees a domain. */
	WARN_ON(!xa_empty(&mock->pfns));
	kfree(mock);
}

static int mock_domain_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_iommu_domain *mock;
	int rc = 0;

	if (domain == &mock_identity_domain ||
	    domain == &mock_blocking_domain)
		return 0;
	mock = to_mock_domain(domain);
	if (mock->kind != mdev->kind)
		return -EINVAL;
	spin_lock(&mock->lock);
	if ((mdev->noncoherent && mock->enforce_cc) ||
	    (mdev->resv_regions && !domain->iova_cookie) ||
	    (domain->dirty_ops && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (mdev->noncoherent)
		mock->had_noncoherent = true;
	if (!mock->set_up)
		mock_domain_set_up(mock);
out_unlock:
	spin_unlock(&mock->lock);
	return rc;
}

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t i, count = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	size_t per_page = pgsize / MOCK_IO_PAGE_SIZE;
	unsigned long flags = 0;
	void *old;

	if (!READ_ONCE(mock->set_up))
		return -EINVAL;
	/* iommufd's mappings are all cache coherent, as type1's. */
	if (WARN_ON_ONCE(!(prot & IOMMU_CACHE)))
		return -EINVAL;
	if (prot & IOMMU_READ)
		flags |= MOCK_PFN_READ;
	if (prot & IOMMU_WRITE)
		flags |= MOCK_PFN_WRITE;
	if (pgsize == MOCK_HUGE_PAGE_SIZE)
		flags |= MOCK_PFN_HUGE;

	for (i = 0; i != count; i++) {
		old = xa_store(&mock->pfns, iova / MOCK_IO_PAGE_SIZE,
			       xa_mk_value((paddr / MOCK_IO_PAGE_SIZE) <<
					   MOCK_PFN_SHIFT | flags),
			       gfp);
		if (xa_is_err(old)) {
			/*
			 * A real page table writes an entry whole: take back
			 * what was stored of the current page of @pgsize.
			 */
			while (i % per_page) {
				i--;
				iova -= MOCK_IO_PAGE_SIZE;
				xa_erase(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
			}
			*mapped = i * MOCK_IO_PAGE_SIZE;
			return xa_err(old);
		}
		/* Mapping over a translation is an iommufd bug. */
		WARN_ON(old);
		iova += MOCK_IO_PAGE_SIZE;
		paddr += MOCK_IO_PAGE_SIZE;
	}
	*mapped = count * MOCK_IO_PAGE_SIZE;
	return 0;
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t i, count = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	void *old;

	for (i = 0; i != count; i++) {
		old = xa_erase(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
		/* Unmapping what is not mapped is an iommufd bug. */
		if (WARN_ON(!old))
			break;
		/*
		 * So is unmapping part of a large entry, which a real IOMMU
		 * would unmap whole: its first and last small pages must be
		 * the first and last of the range.
		 */
		WARN_ON((xa_to_value(old) & MOCK_PFN_HUGE) &&
			((i == 0 && iova % MOCK_HUGE_PAGE_SIZE) ||
			 (i == count - 1 &&
			  (iova + MOCK_IO_PAGE_SIZE) % MOCK_HUGE_PAGE_SIZE)));
		iova += MOCK_IO_PAGE_SIZE;
	}
	return i * MOCK_IO_PAGE_SIZE;
}

/*
 * Split the MOCK_HUGE_PAGE_SIZE entry holding @iova and the page before it
 * into small ones: its small pages lose MOCK_PFN_HUGE, keeping their
 * translation and their other bits.  Fails as allocating a page table
 * would, when fault injection says so.
 */
static int mock_domain_split(struct iommu_domain *domain, unsigned long iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long per_huge = MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE;
	unsigned long index = iova / MOCK_IO_PAGE_SIZE, i;
	void *entry, *old;

	entry = xa_load(&mock->pfns, index);
	if (!(iova % MOCK_HUGE_PAGE_SIZE) || !entry ||
	    !(xa_to_value(entry) & MOCK_PFN_HUGE))
		return 0;
	if (iommufd_should_fail())
		return -ENOMEM;
	for (i = round_down(index, per_huge);
	     i != round_down(index, per_huge) + per_huge; i++) {
		entry = xa_load(&mock->pfns, i);
		if (WARN_ON(!entry || !(xa_to_value(entry) & MOCK_PFN_HUGE)))
			continue;
		/* Replacing a value entry allocates nothing. */
		old = xa_store(&mock->pfns, i,
			       xa_mk_value(xa_to_value(entry) &
					   ~MOCK_PFN_HUGE), GFP_KERNEL);
		WARN_ON(xa_is_err(old));
	}
	return 0;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	void *entry;

	entry = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
	if (!entry)
		return 0;
	return (xa_to_value(entry) >> MOCK_PFN_SHIFT) * MOCK_IO_PAGE_SIZE +
	       iova % MOCK_IO_PAGE_SIZE;
}

/*
 * Like a real IOMMU, the domain refuses to enforce cache coherency once a
 * device that cannot has used it.
 */
static bool mock_domain_enforce_cache_coherency(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	bool enforced;

	/*
	 * As on 6.1's intel-iommu, only later PTEs would snoop: iommufd must
	 * ask before it maps anything.
	 */
	if (WARN_ON_ONCE(!xa_empty(&mock->pfns)))
		return false;
	spin_lock(&mock->lock);
	enforced = !mock->had_noncoherent;
	mock->enforce_cc = enforced;
	spin_unlock(&mock->lock);
	return enforced;
}

static bool mock_domain_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return !to_mock_dev(dev)->incoherent_dma;
	case IOMMU_CAP_INTR_REMAP:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return !to_mock_dev(dev)->noncoherent;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain,
					  bool enabled)
{
	to_mock_domain(domain)->dirty_tracking = enabled;
	return 0;
}

/*
 * Set or clear the dirty bit of the entry of mock page @index, whose value
 * is @val: of the whole entry, all its small pages, when it is a large one.
 * Only the value changes: the store replaces an entry in place.
 */
static void mock_domain_mark_dirty(struct mock_iommu_domain *mock,
				   unsigned long index, unsigned long val,
				   bool dirty)
{
	unsigned long first = index, n = 1, i, v;
	void *entry;

	if (val & MOCK_PFN_HUGE) {
		n = MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE;
		first = ALIGN_DOWN(index, n);
	}
	for (i = first; i < first + n; i++) {
		entry = xa_load(&mock->pfns, i);
		if (!entry)
			continue;
		v = xa_to_value(entry);
		v = dirty ? v | MOCK_PFN_DIRTY : v & ~MOCK_PFN_DIRTY;
		xa_store(&mock->pfns, i, xa_mk_value(v), GFP_KERNEL);
	}
}

/*
 * Report the dirty entries of [iova, iova + size): the part of each in the
 * range, a large entry as the whole large page.  An entry is made clean
 * once the read reaches its end: one that goes on past the range (into the
 * next window of the user's bitmap) stays dirty for the read of the rest.
 */
static int mock_domain_read_and_clear_dirty(struct iommu_domain *domain,
					    unsigned long iova, size_t size,
					    unsigned long flags,
					    struct iommu_dirty_bitmap *dirty)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	const unsigned long per_huge = MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE;
	unsigned long last_byte = iova + size - 1;
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long last = last_byte / MOCK_IO_PAGE_SIZE;
	unsigned long index, val, start, end, from, to, done = 0;
	bool any = false;
	void *entry;

	xa_for_each_range(&mock->pfns, index, entry, first, last) {
		/* The rest of a large entry reported already */
		if (any && index <= done)
			continue;
		val = xa_to_value(entry);
		if (!(val & MOCK_PFN_DIRTY))
			continue;
		start = index;
		end = index;
		if (val & MOCK_PFN_HUGE) {
			start = ALIGN_DOWN(index, per_huge);
			end = start + per_huge - 1;
		}
		/* Bytes [from, to] of the entry are in the range. */
		from = max(start * MOCK_IO_PAGE_SIZE, iova);
		to = (end + 1) * MOCK_IO_PAGE_SIZE - 1;
		iommu_dirty_bitmap_record(dirty, from,
					  min(to, last_byte) - from + 1);
		if (!(flags & IOMMU_DIRTY_NO_CLEAR) && to <= last_byte)
			mock_domain_mark_dirty(mock, index, val, false);
		any = true;
		done = end;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = mock_domain_read_and_clear_dirty,
};

/*
 * A domain for @dev's mock IOMMU; with IOMMU_PAGING_DIRTY_TRACKING one that
 * tracks dirty pages, which a MOCK_FLAGS_DEVICE_NO_DIRTY device's refuses.
 */
static struct iommu_domain *mock_domain_alloc_paging_flags(struct device *dev,
							   u32 flags)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_domain *domain;

	if ((flags & ~IOMMU_PAGING_DIRTY_TRACKING) ||
	    ((flags & IOMMU_PAGING_DIRTY_TRACKING) &&
	     (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY)))
		return ERR_PTR(-EOPNOTSUPP);
	domain = mock_domain_alloc(IOMMU_DOMAIN_UNMANAGED, mdev->kind);
	if (!domain)
		return ERR_PTR(-ENOMEM);
	if (flags & IOMMU_PAGING_DIRTY_TRACKING)
		domain->dirty_ops = &mock_dirty_ops;
	return domain;
}

/* What iommufd_test.h says a mock IOMMU reports. */
static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct iommu_test_hw_info *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	int kind;

	for (kind = 0; kind != MOCK_IOMMU_NUM; kind++)
		if (dev->bus == &mock_iommus[kind].bus)
			return &mock_iommus[kind].iommu;
	return ERR_PTR(-ENODEV);
}

static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	static const enum iommu_resv_type types[] = {
		IOMMU_RESV_SW_MSI, IOMMU_RESV_DIRECT_RELAXABLE,
	};
	static const unsigned long starts[] = {
		MOCK_SW_MSI_START, MOCK_RELAXABLE_START,
	};
	struct iommu_resv_region *region;
	unsigned int i;

	if (!to_mock_dev(dev)->resv_regions)
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		region = iommu_alloc_resv_region(starts[i], MOCK_RESV_LENGTH,
						 IOMMU_READ | IOMMU_WRITE,
						 types[i], GFP_KERNEL);
		if (!region)
			return;
		list_add_tail(&region->list, head);
	}
}

static int mock_def_domain_type(struct device *dev)
{
	return IOMMU_DOMAIN_IDENTITY;
}

/* Both IOMMUs' domains have these ops: the identity domain is shared. */
static const struct iommu_domain_ops mock_domain_ops = {
	.free = mock_domain_free,
	.attach_dev = mock_domain_attach_dev,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.split = mock_domain_split,
	.iova_to_phys = mock_domain_iova_to_phys,
	.enforce_cache_coherency = mock_domain_enforce_cache_coherency,
};

static const struct iommu_ops mock_plain_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.domain_alloc = mock_plain_domain_alloc,
	.domain_alloc_paging_flags = mock_domain_alloc_paging_flags,
	.hw_info = mock_hw_info,
	.capable = mock_domain_capable,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.get_resv_regions = mock_get_resv_regions,
	.def_domain_type = mock_def_domain_type,
	.default_domain_ops = &mock_domain_ops,
};

static const struct iommu_ops mock_huge_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE | MOCK_HUGE_PAGE_SIZE,
	.domain_alloc = mock_huge_domain_alloc,
	.domain_alloc_paging_flags = mock_domain_alloc_paging_flags,
	.hw_info = mock_hw_info,
	.capable = mock_domain_capable,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.get_resv_regions = mock_get_resv_regions,
	.def_domain_type = mock_def_domain_type,
	.default_domain_ops = &mock_domain_ops,
};

static struct mock_iommu mock_iommus[MOCK_IOMMU_NUM] = {
	[MOCK_IOMMU_PLAIN] = {
		.bus.name = "iommufd_mock",
		.ops = &mock_plain_ops,
	},
	[MOCK_IOMMU_HUGE] = {
		.bus.name = "iommufd_mock_huge",
		.ops = &mock_huge_ops,
	},
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/* A mock device with MOCK_FLAGS_DEVICE_* @flags, in a group of its own. */
static struct mock_dev *mock_dev_create(u32 flags)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL_ACCOUNT);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	mdev->flags = flags;
	mdev->kind = flags & MOCK_FLAGS_DEVICE_HUGE_IOVA ? MOCK_IOMMU_HUGE :
							   MOCK_IOMMU_PLAIN;
	mdev->noncoherent = READ_ONCE(mock_dev_noncoherent);
	mdev->resv_regions = READ_ONCE(mock_dev_resv_regions);
	mdev->incoherent_dma = READ_ONCE(mock_dev_incoherent_dma);
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &mock_iommus[mdev->kind].bus;
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->id);
	if (rc)
		goto err_put;
	/* The bus notifier probes it into an IOMMU group of its own. */
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	return mdev;

err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	device_unregister(&mdev->dev);
}

/**
 * struct selftest_obj - a mock device bound and attached (MOCK_DOMAIN)
 * @obj: the object header
 * @ictx: the iommufd
 * @mdev: the mock device
 * @idev: the mock device bound to @ictx
 */
struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct mock_dev *mdev;
	struct iommufd_device *idev;
};

static_assert(offsetof(struct selftest_obj, obj) == 0);

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	iommufd_device_detach(sobj->idev);
	iommufd_device_unbind(sobj->idev);
	mock_dev_destroy(sobj->mdev);
}

/*
 * A mock device with MOCK_FLAGS_DEVICE_* @dev_flags, bound to the iommufd
 * and attached to an IOAS or HWPT.  MOCK_DOMAIN and MOCK_DOMAIN_FLAGS
 * return the same IDs at the same offsets.
 */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd, u32 dev_flags)
{
	struct selftest_obj *sobj;
	u32 pt_id = cmd->id;
	u32 idev_id;
	int rc;

	/* No domain tracks dirty pages here: NO_DIRTY changes nothing. */
	if (dev_flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY |
			  MOCK_FLAGS_DEVICE_HUGE_IOVA))
		return -EINVAL;

	sobj = iommufd_object_alloc(ucmd->ictx, struct selftest_obj,
				    IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sobj->ictx = ucmd->ictx;

	sobj->mdev = mock_dev_create(dev_flags);
	if (IS_ERR(sobj->mdev)) {
		rc = PTR_ERR(sobj->mdev);
		goto out_abort;
	}
	sobj->idev = iommufd_device_bind(ucmd->ictx, &sobj->mdev->dev,
					 &idev_id);
	if (IS_ERR(sobj->idev)) {
		rc = PTR_ERR(sobj->idev);
		goto out_mdev;
	}
	rc = iommufd_device_attach(sobj->idev, &pt_id);
	if (rc)
		goto out_unbind;

	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

out_detach:
	iommufd_device_detach(sobj->idev);
out_unbind:
	iommufd_device_unbind(sobj->idev);
out_mdev:
	mock_dev_destroy(sobj->mdev);
out_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

/* Move the mock device of @stdev_id to another IOAS or page table. */
static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct iommufd_object *obj;
	struct selftest_obj *sobj;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int rc;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sobj = container_of(obj, struct selftest_obj, obj);
	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

static struct mock_iommu_domain *
iommufd_test_get_mock_domain(struct iommufd_ucmd *ucmd, u32 hwpt_id,
			     struct iommufd_hw_pagetable **hwpt)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, hwpt_id, IOMMUFD_OBJ_HWPT);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	*hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if ((*hwpt)->domain->ops != &mock_domain_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	return to_mock_domain((*hwpt)->domain);
}

/*
 * Check that the mock domain @hwpt_id translates [iova, iova + length) to
 * the memory at @uptr, mock page by mock page.
 */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd, u32 hwpt_id,
				     u64 iova, u64 length, u64 uptr)
{
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	unsigned long off;
	struct page *page;
	phys_addr_t phys;
	int rc = 0;
	u64 end;

	if (!length || iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE)
		return -EINVAL;
	if (check_add_overflow(iova, length, &end) ||
	    check_add_overflow(uptr, length, &end))
		return -EOVERFLOW;

	mock = iommufd_test_get_mock_domain(ucmd, hwpt_id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);

	for (off = 0; off < length; off += MOCK_IO_PAGE_SIZE) {
		rc = get_user_pages_fast(uptr + off, 1, 0, &page);
		if (rc != 1) {
			rc = rc < 0 ? rc : -EFAULT;
			break;
		}
		phys = page_to_phys(page) + offset_in_page(uptr + off);
		put_page(page);
		rc = 0;
		if (iommu_iova_to_phys(&mock->domain, iova + off) != phys) {
			rc = -EINVAL;
			break;
		}
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/*
 * IOMMU_TEST_OP_MD_CHECK_PTE: each mock page of [iova, iova + length) of the
 * mock domain @cmd->id is mapped with exactly @perm, by an entry of
 * @page_size.
 */
static int iommufd_test_md_check_pte(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	u64 iova = cmd->check_pte.iova, length = cmd->check_pte.length;
	u64 page_size = cmd->check_pte.page_size;
	unsigned long want = 0, off, mask;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	int rc = 0;
	u64 end;
	void *entry;

	if (cmd->check_pte.__reserved ||
	    cmd->check_pte.perm & ~(IOMMU_IOAS_MAP_READABLE |
				    IOMMU_IOAS_MAP_WRITEABLE))
		return -EOPNOTSUPP;
	if (!length || iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    (page_size != MOCK_IO_PAGE_SIZE &&
	     page_size != MOCK_HUGE_PAGE_SIZE))
		return -EINVAL;
	if (check_add_overflow(iova, length, &end))
		return -EOVERFLOW;
	if (cmd->check_pte.perm & IOMMU_IOAS_MAP_READABLE)
		want |= MOCK_PFN_READ;
	if (cmd->check_pte.perm & IOMMU_IOAS_MAP_WRITEABLE)
		want |= MOCK_PFN_WRITE;
	if (page_size == MOCK_HUGE_PAGE_SIZE)
		want |= MOCK_PFN_HUGE;
	mask = MOCK_PFN_READ | MOCK_PFN_WRITE | MOCK_PFN_HUGE;

	mock = iommufd_test_get_mock_domain(ucmd, cmd->id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);
	for (off = 0; off < length; off += MOCK_IO_PAGE_SIZE) {
		entry = xa_load(&mock->pfns, (iova + off) / MOCK_IO_PAGE_SIZE);
		if (!entry || (xa_to_value(entry) & mask) != want) {
			rc = -EINVAL;
			break;
		}
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/*
 * A test access: an in-kernel access held by a file (CREATE_ACCESS), whose
 * pinned ranges (ACCESS_PAGES) are items with IDs of their own.
 */
struct selftest_access {
	struct iommufd_access *access;
	struct iommufd_ctx *ictx;
	bool needs_pin_pages;		/* MOCK_FLAGS_ACCESS_CREATE_* */
	struct mutex lock;		/* protects items and next_id */
	struct list_head items;
	unsigned int next_id;
};

struct selftest_access_item {
	struct list_head items_elm;
	unsigned long iova;
	unsigned long length;
	unsigned int id;
};

/* Largest ACCESS_RW: its bounce buffer is the caller's to pay for. */
#define SELFTEST_ACCESS_RW_MAX	(16 * 1024 * 1024)

/* Unpin and forget one item; under the access's lock. */
static void selftest_access_item_unpin(struct selftest_access *staccess,
				       struct selftest_access_item *item)
{
	lockdep_assert_held(&staccess->lock);

	iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
	list_del(&item->items_elm);
	kfree(item);
}

/*
 * Unpin what overlaps [iova, iova + length - 1], as a driver does.  Like
 * mdma, i915 and vfio-ap, a length of 0 is nothing to unpin: iommufd must
 * never hand out one that wrapped.
 */
static void selftest_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;
	unsigned long last;

	if (!length)
		return;
	last = iova + length - 1;
	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, items_elm) {
		if (item->iova > last || item->iova + item->length - 1 < iova)
			continue;
		selftest_access_item_unpin(staccess, item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = selftest_access_unmap,
};

/* MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = selftest_access_unmap,
};

static int selftest_access_release(struct inode *inode, struct file *filep)
{
	struct selftest_access *staccess = filep->private_data;
	struct selftest_access_item *item, *tmp;

	/* Unpins everything. */
	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, items_elm)
		selftest_access_item_unpin(staccess, item);
	mutex_unlock(&staccess->lock);
	iommufd_access_destroy(staccess->access);
	iommufd_ctx_put(staccess->ictx);
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations selftest_access_fops = {
	.release = selftest_access_release,
};

/* The test access behind an fd; drop the file reference with fput(). */
static struct selftest_access *selftest_access_get(int fd, struct file **file)
{
	*file = fget(fd);
	if (!*file)
		return ERR_PTR(-EBADF);
	/* Another kind of file: EBADFD, as mainline answers. */
	if ((*file)->f_op != &selftest_access_fops) {
		fput(*file);
		return ERR_PTR(-EBADFD);
	}
	return (*file)->private_data;
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd, u32 ioas_id,
				      unsigned int flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct file *file;
	u32 access_id;
	int fdno, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	INIT_LIST_HEAD(&staccess->items);
	mutex_init(&staccess->lock);
	staccess->ictx = ucmd->ictx;
	staccess->needs_pin_pages =
		flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;

	fdno = get_unused_fd_flags(O_CLOEXEC);
	if (fdno < 0) {
		rc = fdno;
		goto err_free;
	}
	staccess->access = iommufd_access_create(ucmd->ictx,
						 staccess->needs_pin_pages ?
						 &selftest_access_ops_pin :
						 &selftest_access_ops,
						 staccess, &access_id);
	if (IS_ERR(staccess->access)) {
		rc = PTR_ERR(staccess->access);
		goto err_fd;
	}
	rc = iommufd_access_attach(staccess->access, ioas_id);
	if (rc)
		goto err_destroy;
	cmd->create_access.out_access_fd = fdno;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_destroy;

	file = anon_inode_getfile("[iommufd_test_access]", &selftest_access_fops,
				  staccess, O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_destroy;
	}
	/* The access lives in the iommufd: keep it open as long. */
	iommufd_ctx_get(ucmd->ictx);
	fd_install(fdno, file);
	return 0;

err_destroy:
	iommufd_access_destroy(staccess->access);
err_fd:
	put_unused_fd(fdno);
err_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return rc;
}

/* Pin [iova, iova + length) through the access; check the pages are uptr's. */
static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->access_pages.uptr);
	unsigned long length = cmd->access_pages.length;
	unsigned long iova = cmd->access_pages.iova;
	u32 flags = cmd->access_pages.flags;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct page **pages, *upage;
	unsigned long npages, i;
	struct file *file;
	int rc;

	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (!length || (iova | length) & ~PAGE_MASK)
		return -EINVAL;
	/* The page array must stay a sane allocation. */
	if (length >> PAGE_SHIFT > INT_MAX / sizeof(*pages))
		return -ENOMEM;

	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	/* Only an access made to pin pages may, as mainline's test ABI */
	if (!staccess->needs_pin_pages) {
		fput(file);
		return -EOPNOTSUPP;
	}

	npages = length >> PAGE_SHIFT;
	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		rc = -ENOMEM;
		goto out_free;
	}
	/*
	 * Pin and list the item under the lock the unmap callback takes, so
	 * that the callback never misses pages pinned.
	 */
	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      flags & MOCK_FLAGS_ACCESS_WRITE ?
					      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;

	/* The access must see the very pages of the user's buffer. */
	for (i = 0; uptr && i != npages; i++) {
		rc = get_user_pages_fast((uintptr_t)uptr + i * PAGE_SIZE, 1, 0,
					 &upage);
		if (rc != 1) {
			rc = rc < 0 ? rc : -EFAULT;
			goto out_unpin;
		}
		put_page(upage);
		rc = 0;
		/* Other pages than the user's: EBADE, as mainline answers */
		if (upage != pages[i]) {
			rc = -EBADE;
			goto out_unpin;
		}
	}

	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	list_add_tail(&item->items_elm, &staccess->items);
	cmd->access_pages.out_access_pages_id = item->id;
	item = NULL;
	mutex_unlock(&staccess->lock);
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	goto out_free;

out_unpin:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(item);
	kvfree(pages);
	fput(file);
	return rc;
}

/* Unpin what the test names, pinned or not: see IOMMU_TEST_OP_ACCESS_UNPIN */
static int iommufd_test_access_unpin(struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess;
	struct file *file;

	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	/* As ACCESS_PAGES: the unmap callback sees the items unchanged. */
	mutex_lock(&staccess->lock);
	iommufd_access_unpin_pages(staccess->access, cmd->access_unpin.iova,
				   cmd->access_unpin.length);
	mutex_unlock(&staccess->lock);
	fput(file);
	return 0;
}

static int iommufd_test_access_item_destroy(int fd, unsigned int item_id)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct file *file;
	int rc = -ENOENT;

	staccess = selftest_access_get(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, items_elm) {
		if (item->id != item_id)
			continue;
		selftest_access_item_unpin(staccess, item);
		rc = 0;
		break;
	}
	mutex_unlock(&staccess->lock);
	fput(file);
	return rc;
}

/* Copy between the user's buffer and IOVA space through the access. */
static int iommufd_test_access_rw(struct iommu_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long length = cmd->access_rw.length;
	unsigned long iova = cmd->access_rw.iova;
	u32 flags = cmd->access_rw.flags;
	struct selftest_access *staccess;
	struct file *file;
	void *buf;
	int rc;

	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;
	if (!length || length > SELFTEST_ACCESS_RW_MAX)
		return -EINVAL;

	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	buf = kvzalloc(length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & MOCK_ACCESS_RW_WRITE) {
		rc = copy_from_user(buf, uptr, length) ? -EFAULT : 0;
		if (!rc)
			rc = iommufd_access_rw(staccess->access, iova, buf,
					       length, IOMMUFD_ACCESS_RW_WRITE);
	} else {
		rc = iommufd_access_rw(staccess->access, iova, buf, length, 0);
		if (!rc && copy_to_user(uptr, buf, length))
			rc = -EFAULT;
	}
	kvfree(buf);
out_put:
	fput(file);
	return rc;
}

static int iommufd_test_access_replace_ioas(int fd, u32 ioas_id)
{
	struct selftest_access *staccess;
	struct file *file;
	int rc;

	staccess = selftest_access_get(fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access, ioas_id);
	fput(file);
	return rc;
}

/*
 * How many times @page is pinned (FOLL_PIN), for pages pinned fewer than
 * GUP_PIN_COUNTING_BIAS times and with fewer plain references.
 */
static unsigned int mock_page_pins(struct page *page)
{
	struct page *head = compound_head(page);

	if (PageCompound(page))
		return head_compound_pincount(head);
	return page_ref_count(page) / GUP_PIN_COUNTING_BIAS;
}

/* Check that every page of [uptr, uptr + length) is pinned @refs times. */
static int iommufd_test_md_check_refs(void __user *uptr, size_t length,
				      unsigned int refs)
{
	unsigned long addr = (uintptr_t)uptr, end;
	struct page *page;
	int rc;

	/* No page at all checks nothing, as on mainline. */
	if ((addr | length) & ~PAGE_MASK)
		return -EINVAL;
	if (check_add_overflow(addr, length, &end))
		return -EOVERFLOW;

	for (; addr != end; addr += PAGE_SIZE) {
		rc = get_user_pages_fast(addr, 1, 0, &page);
		if (rc != 1)
			return rc < 0 ? rc : -EFAULT;
		rc = mock_page_pins(page) == refs ? 0 : -EIO;
		put_page(page);
		if (rc)
			return rc;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* Reserve an IOVA range of an IOAS, as a device's reserved region does. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, u32 ioas_id,
				     u64 start, u64 length)
{
	struct iommufd_ioas *ioas;
	u64 last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * IOMMU_TEST_OP_DIRTY: as if the devices of the mock page table @hwpt_id
 * wrote the pages of [iova, iova + length), inside the mock aperture, whose
 * bits are set in the user bitmap at @uptr, a bit for each @page_size
 * bytes: while tracking is on, their writable entries, a large one whole,
 * become dirty.  out_nr_dirty returns the number of bits set.  Mainline's
 * selftests use a @page_size of MOCK_PAGE_SIZE, the mock's page.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	u64 iova = cmd->dirty.iova, length = cmd->dirty.length;
	u64 page_size = cmd->dirty.page_size;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	unsigned long nbits, i, n, val;
	unsigned long *bitmap;
	u64 nr_dirty = 0;
	void *entry;
	int rc;

	if (!length || !is_power_of_2(page_size) ||
	    page_size < MOCK_IO_PAGE_SIZE || (iova | length) % page_size ||
	    iova < MOCK_APERTURE_START || iova > MOCK_APERTURE_LAST ||
	    length > MOCK_APERTURE_LAST - iova + 1)
		return -EINVAL;
	/* At most the aperture's mock pages: 2^20 bits */
	nbits = length / page_size;
	mock = iommufd_test_get_mock_domain(ucmd, cmd->id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);
	bitmap = kvcalloc(BITS_TO_LONGS(nbits), sizeof(long),
			  GFP_KERNEL_ACCOUNT);
	if (!bitmap) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (copy_from_user(bitmap, u64_to_user_ptr(cmd->dirty.uptr),
			   DIV_ROUND_UP(nbits, BITS_PER_BYTE))) {
		rc = -EFAULT;
		goto out_free;
	}

	/* Against unmaps, as a device's write goes through the IOMMU */
	down_write(&hwpt->ioas->iopt.iova_rwsem);
	for_each_set_bit(i, bitmap, nbits) {
		nr_dirty++;
		if (!mock->dirty_tracking)
			continue;
		/* Dirty already: the rest of a large entry marked */
		xa_for_each_range(&mock->pfns, n, entry,
				  (iova + i * page_size) / MOCK_IO_PAGE_SIZE,
				  (iova + (i + 1) * page_size - 1) /
					  MOCK_IO_PAGE_SIZE) {
			val = xa_to_value(entry);
			if ((val & MOCK_PFN_WRITE) && !(val & MOCK_PFN_DIRTY))
				mock_domain_mark_dirty(mock, n, val, true);
		}
		cond_resched();
	}
	up_write(&hwpt->ioas->iopt.iova_rwsem);
	cmd->dirty.out_nr_dirty = nr_dirty;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kvfree(bitmap);
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return iommufd_test_mock_domain(ucmd, cmd, 0);
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd,
						cmd->mock_domain_flags.dev_flags);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd->id,
						 cmd->check_map.iova,
						 cmd->check_map.length,
						 cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_PTE:
		return iommufd_test_md_check_pte(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(u64_to_user_ptr(cmd->check_refs.uptr),
						  cmd->check_refs.length,
						  cmd->check_refs.refs);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/*
		 * Pages per pinning call for this iommufd; a limit above the
		 * batch changes nothing.  Mainline 6.12 refuses a limit
		 * below 12 (and so 0), which it was seen to do: so does this.
		 */
		if (cmd->memory_limit.limit < 12)
			return -EINVAL;
		WRITE_ONCE(ucmd->ictx->test_pin_batch, cmd->memory_limit.limit);
		return 0;
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd->id,
						  cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(cmd->id,
			cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_ACCESS_UNPIN:
		return iommufd_test_access_unpin(cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(cmd->id,
			cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

static void mock_iommu_unregister(struct mock_iommu *mi)
{
	iommu_device_unregister_bus(&mi->iommu, &mi->bus, &mi->nb);
	iommu_device_sysfs_remove(&mi->iommu);
	bus_unregister(&mi->bus);
}

static int mock_iommu_register(struct mock_iommu *mi)
{
	int rc;

	rc = bus_register(&mi->bus);
	if (rc)
		return rc;
	/* The IOMMU in sysfs, which the devices it serves link to */
	rc = iommu_device_sysfs_add(&mi->iommu, NULL, NULL, "%s",
				    mi->bus.name);
	if (rc)
		goto err_bus;
	rc = iommu_device_register_bus(&mi->iommu, mi->ops, &mi->bus, &mi->nb);
	if (rc)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mi->iommu);
err_bus:
	bus_unregister(&mi->bus);
	return rc;
}

int __init iommufd_test_init(void)
{
	int kind, rc;

	fail_iommufd_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	iommufd_debugfs_dir = debugfs_create_dir("iommufd", NULL);
	debugfs_create_bool("mock_dev_noncoherent", 0600, iommufd_debugfs_dir,
			    &mock_dev_noncoherent);
	debugfs_create_bool("mock_dev_resv_regions", 0600, iommufd_debugfs_dir,
			    &mock_dev_resv_regions);
	debugfs_create_bool("mock_dev_incoherent_dma", 0600,
			    iommufd_debugfs_dir, &mock_dev_incoherent_dma);
	debugfs_create_bool("mock_domain_late_setup", 0600, iommufd_debugfs_dir,
			    &mock_domain_late_setup);

	for (kind = 0; kind != MOCK_IOMMU_NUM; kind++) {
		rc = mock_iommu_register(&mock_iommus[kind]);
		if (rc)
			goto err_unregister;
	}
	return 0;

err_unregister:
	while (kind--)
		mock_iommu_unregister(&mock_iommus[kind]);
	debugfs_remove_recursive(iommufd_debugfs_dir);
	debugfs_remove_recursive(fail_iommufd_dir);
	return rc;
}

void iommufd_test_exit(void)
{
	int kind;

	for (kind = MOCK_IOMMU_NUM; kind--;)
		mock_iommu_unregister(&mock_iommus[kind]);
	debugfs_remove_recursive(iommufd_debugfs_dir);
	debugfs_remove_recursive(fail_iommufd_dir);
}
