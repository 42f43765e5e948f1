/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test-only iommufd uAPI, present with CONFIG_IOMMUFD_TEST: a mock
 * IOMMU driver and hooks into iommufd's internals for the selftests.
 *
 * Op numbers, structure layout and constants are those of mainline Linux
 * (as of 6.12), so that external test suites and fuzzer descriptions
 * written for mainline work unchanged.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
	IOMMU_TEST_OP_TRIGGER_IOPF,
};

/*
 * Ops of this series that mainline does not have, numbered far above
 * mainline's so that the two sets never meet.
 *
 * IOMMU_TEST_OP_MD_CHECK_PTE: every mock page of [iova, iova + length) of
 * the mock page table @id is mapped with exactly the permissions @perm
 * (IOMMU_IOAS_MAP_READABLE and IOMMU_IOAS_MAP_WRITEABLE) by an entry of
 * @page_size bytes (the mock's small page, PAGE_SIZE / 2, or its large
 * one, 512 small pages, which only MOCK_FLAGS_DEVICE_HUGE_IOVA domains
 * have).  EINVAL when a page differs or is not mapped.
 *
 * IOMMU_TEST_OP_ACCESS_UNPIN: hand [iova, iova + length) of
 * @access_unpin to iommufd_access_unpin_pages() on the access whose file
 * is @id, as a driver would, right or wrong: for the tests of how a range
 * that was never pinned is refused (a kernel warning, nothing unpinned).
 * A range an IOMMU_TEST_OP_ACCESS_PAGES item holds must be left to
 * IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, which would otherwise unpin it twice.
 */
enum {
	IOMMU_TEST_OP_MD_CHECK_PTE = 1 << 16,
	IOMMU_TEST_OP_ACCESS_UNPIN,
};

/* The IOVA range the mock IOMMU domain translates. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* access_pages.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/*
 * create_access.flags: an access made without NEEDS_PIN_PAGES can read and
 * write (ACCESS_RW) but not pin (ACCESS_PAGES answers EOPNOTSUPP).
 */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
};

/* The mock nested domain's IOTLB entries. */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/*
 * The argument of IOMMU_TEST_CMD: @op selects the operation, @id the object
 * it acts on, and the member of the union named after the operation holds
 * its arguments and results.  @last marks the end of the structure, so that
 * offsetofend(struct iommu_test_cmd, last) is its minimum size.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			/* the ID of the iommufd device the mock device bound */
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			/* MOCK_FLAGS_DEVICE_* of the mock device */
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__u32 perm;
			__u32 __reserved;
		} check_pte;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
		} access_unpin;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* What IOMMU_GET_HW_INFO reports for a mock device. */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* A data type of IOMMU_HWPT_ALLOC that no real IOMMU driver uses. */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/**
 * struct iommu_hwpt_selftest - data of a mock nested page table
 *                              (IOMMU_HWPT_DATA_SELFTEST)
 * @iotlb: the value every IOTLB entry starts with, IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* Invalidation data types of IOMMU_HWPT_INVALIDATE for the mock driver. */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/**
 * struct iommu_hwpt_invalidate_selftest - a mock IOTLB invalidation request
 *                                         (IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @iotlb_id: the IOTLB entry to reset; ignored with
 *            IOMMU_TEST_INVALIDATE_FLAG_ALL, which resets all of them
 */
struct iommu_hwpt_invalidate_selftest {
#define IOMMU_TEST_INVALIDATE_FLAG_ALL	0x1
	__u32 flags;
	__u32 iotlb_id;
};

#endif
