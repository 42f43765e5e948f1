/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd: the /dev/iommu user API.
 *
 * The layout, numbering and values of everything in this file are those of
 * mainline Linux (as of 6.12), so that programs built against mainline's
 * header run unchanged on a kernel carrying this series.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/**
 * DOC: General ioctl format
 *
 * Every ioctl takes a pointer to a structure whose first __u32 is @size, the
 * number of bytes of the structure as userspace knows it.  This lets the
 * structures grow: the kernel reads @size bytes and requires that whatever
 * lies beyond the part it knows is zero, so a program built against a newer
 * header works on an older kernel as long as it does not use what that
 * kernel lacks.  A @size smaller than the first version of a structure is
 * rejected.
 *
 * The errnos have one meaning throughout:
 *
 *  - ENOTTY: this ioctl number does not exist.
 *  - E2BIG: the structure has non-zero bytes beyond what the kernel knows.
 *  - EOPNOTSUPP: the structure is understood, but a field holds a value
 *    (a flag, an operation, a type) that the kernel does not support.
 *  - EINVAL: everything was understood, but a field's value is wrong.
 *  - ENOENT: an ID or an IOVA given does not exist.
 *  - ENOMEM: out of memory.
 *  - EOVERFLOW: arithmetic on the given values overflowed.
 *
 * Single ioctls document further errnos of their own.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: the ID of the object to destroy
 *
 * Destroys an object of the iommufd, of any type that userspace may destroy.
 * Fails with EBUSY while something else still uses the object: another
 * object or a kernel user that depends on it, or another system call in
 * progress on it (the destroy does not wait for that call to end).
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: must be 0
 * @out_ioas_id: returns the ID of the new IOAS
 *
 * Creates an IO address space (IOAS): a map from IO virtual addresses
 * (IOVAs) to user memory, which every page table attached to it mirrors.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - a range of IOVA
 * @start: the first IOVA of the range
 * @last: the last IOVA of the range, included
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: the number of entries @allowed_iovas has room for;
 *             out: the number of ranges the IOAS has
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 * @out_iova_alignment: returns the alignment IOVAs given to MAP and COPY
 *                      must have
 *
 * Reports the IOVA ranges in which the IOAS accepts mappings.  A new IOAS
 * accepts almost all of the IOVA space; each device attached narrows it to
 * what its IOMMU can translate and to outside its reserved regions, and
 * detaching a device may widen it again, so the ranges are worth reading
 * after every attach and detach.
 *
 * When @num_iovas is smaller than the number of ranges, the call fails with
 * EMSGSIZE and sets @num_iovas to the number needed; call again with a
 * larger array.
 *
 * Both ends of a mapping must be multiples of @out_iova_alignment::
 *
 *   iova % out_iova_alignment == 0
 *   (iova + length) % out_iova_alignment == 0
 *
 * It is 1 when any IOVA will do and never more than PAGE_SIZE.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to change
 * @num_iovas: the number of entries in @allowed_iovas
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Promises that the given ranges stay usable: from now on IOVA_RANGES never
 * reports less than these ranges, and attaching a device that cannot
 * translate all of them fails.  The call itself fails when the IOAS already
 * cannot offer all of them.
 *
 * The kernel also places mappings without FIXED_IOVA only inside the
 * allowed ranges while there are any; they do not confine mappings with
 * FIXED_IOVA.  Each call replaces the whole list; an empty list removes
 * the promise.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: map at the IOVA given; without it the kernel
 *                             picks the IOVA and returns it
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write through the mapping
 * @IOMMU_IOAS_MAP_READABLE: devices may read through the mapping
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: a combination of enum iommufd_ioas_map_flags
 * @ioas_id: the IOAS to map into
 * @__reserved: must be 0
 * @user_va: the start of the user memory to map
 * @length: the number of bytes to map
 * @iova: in, with IOMMU_IOAS_MAP_FIXED_IOVA: where to map; out: where the
 *        mapping was placed
 *
 * Maps user memory at an IOVA.  The memory is pinned while a page table
 * attached to the IOAS needs it (at once when one is attached), or an
 * in-kernel access asks for it.  With FIXED_IOVA the whole IOVA range must
 * be free (EEXIST otherwise: a mapping is never replaced); without it the
 * kernel picks a free range outside the reserved ranges and, when allowed
 * ranges are set, inside them.  When the reply cannot be written back the
 * call fails with EFAULT, and the mapping stays.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: a combination of enum iommufd_ioas_map_flags
 * @dst_ioas_id: the IOAS to map into
 * @src_ioas_id: the IOAS to copy the mappings from
 * @length: the number of bytes to copy
 * @dst_iova: in, with IOMMU_IOAS_MAP_FIXED_IOVA: where to map; out: where
 *            the copy was placed
 * @src_iova: the first IOVA of the range in the source IOAS
 *
 * Maps in one IOAS the memory that mappings of another (or the same) IOAS
 * map.  @src_iova and @length may name any range the source maps without
 * a hole, across mappings and from any offset in them (ENOENT otherwise).
 * Each source mapping the range covers becomes one mapping of the
 * destination, at consecutive IOVAs, which IOMMU_IOAS_UNMAP removes whole.
 * The copy shares the memory: a page pinned for one mapping is not pinned
 * or charged again, which makes a copy cheaper than a new map.  As for
 * MAP, a reply that cannot be written back fails the call with EFAULT and
 * the copy stays.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to unmap from
 * @iova: the start of the IOVA range to unmap
 * @length: in: the length of the range; out: the number of bytes unmapped
 *
 * Removes every mapping inside the range.  A mapping is removed whole or
 * not at all: a range that cuts through a mapping fails and changes
 * nothing.  @iova 0 with @length U64_MAX removes all mappings.  Fails with
 * ENOENT when the range holds no mapping.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - options of IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE:
 *    How pinned memory is charged against RLIMIT_MEMLOCK: 0 (the default)
 *    charges the user, 1 the process (mm->locked_vm).  Setting it needs
 *    CAP_SYS_RESOURCE and is only possible before the iommufd holds any
 *    object.  It applies to the whole iommufd: @object_id must be 0.
 * @IOMMU_OPTION_HUGE_PAGES:
 *    1 (the default) maps physically contiguous memory with IOMMU pages as
 *    large as the page table allows; 0 maps every PAGE_SIZE page on its
 *    own, which is mostly of use for measurements.  It applies to an IOAS:
 *    @object_id is its ID.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - operations of IOMMU_OPTION
 * @IOMMU_OPTION_OP_SET: set the option to @val64
 * @IOMMU_OPTION_OP_GET: return the option's value in @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: one of enum iommufd_option
 * @op: one of enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option belongs to, or 0 for a global option
 * @val64: the value to set, or the value read
 *
 * Reads or changes one simple option of the iommufd or of one of its
 * objects.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - operations of IOMMU_VFIO_IOAS
 * @IOMMU_VFIO_IOAS_GET: return the IOAS the VFIO compatibility path uses
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the IOAS it uses
 * @IOMMU_VFIO_IOAS_CLEAR: forget the IOAS it uses
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: in, for SET: the IOAS to use; out, for GET: the IOAS in use
 * @op: one of enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * The VFIO container API has no notion of an IOAS ID, so when an iommufd
 * stands in for a container (VFIO_GROUP_SET_CONTAINER, or /dev/vfio/vfio
 * served by iommufd) all of it acts on one IOAS, the compatibility IOAS.
 * It is the one SET chose, or one the first such use creates; GET fails
 * while there is none.  A device already attached keeps the IOAS it got;
 * SET and CLEAR never destroy an IOAS.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the page table may be the parent (second
 *                                stage) of nested page tables
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the page table tracks dirty pages; a
 *                                   device whose IOMMU cannot is refused
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id names the fault queue that receives
 *                             the page table's faults
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - attributes of an Intel VT-d first-stage
 *                                page table
 * @IOMMU_VTD_S1_SRE: supervisor requests are allowed
 * @IOMMU_VTD_S1_EAFE: extended access flag is enabled
 * @IOMMU_VTD_S1_WPE: write protection is enabled
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - an Intel VT-d first-stage page table owned by
 *                            userspace (IOMMU_HWPT_DATA_VTD_S1)
 * @flags: a combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: the address of the page table's root
 * @addr_width: the width of the addresses it translates
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * enum iommu_hwpt_data_type - kinds of data given to IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_DATA_NONE: none: a page table the kernel manages
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: a combination of enum iommufd_hwpt_alloc_flags
 * @dev_id: the bound device whose IOMMU the page table is made for
 * @pt_id: the IOAS to mirror, or the parent page table of a nested one
 * @out_hwpt_id: returns the ID of the new page table
 * @__reserved: must be 0
 * @data_type: one of enum iommu_hwpt_data_type
 * @data_len: the length of the data at @data_uptr
 * @data_uptr: user pointer to the data of @data_type
 * @fault_id: the fault queue's ID, when IOMMU_HWPT_FAULT_ID_VALID is set
 * @__reserved2: must be 0
 *
 * Creates a hardware page table (HWPT): an IOMMU domain of the IOMMU driver
 * behind @dev_id, the same kind of object an attach to an IOAS creates by
 * itself.
 *
 * With @pt_id an IOAS and @data_type IOMMU_HWPT_DATA_NONE, the kernel owns
 * the page table and fills it with the IOAS's mappings; NEST_PARENT makes
 * it usable as the second stage of nested page tables.  With @pt_id such a
 * parent and a @data_type of the IOMMU's own, the new page table is a first
 * stage that userspace owns, described by the data.  @data_len is 0 with
 * IOMMU_HWPT_DATA_NONE, and @data_uptr is then not read; other data types
 * require both.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: read-only mappings must not be
 *                                         used in a nesting parent page
 *                                         table (Intel erratum 772415)
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - what IOMMU_GET_HW_INFO reports of Intel VT-d
 * @flags: a combination of enum iommu_hw_info_vtd_flags
 * @__reserved: must be 0
 * @cap_reg: the IOMMU's Capability Register, as the VT-d specification
 *           defines it
 * @ecap_reg: the IOMMU's Extended Capability Register, likewise
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_type - kinds of data IOMMU_GET_HW_INFO returns
 * @IOMMU_HW_INFO_TYPE_NONE: the IOMMU driver reports nothing
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_capabilities - generic IOMMU capabilities
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU tracks dirty pages:
 *                               IOMMU_HWPT_SET_DIRTY_TRACKING and
 *                               IOMMU_HWPT_GET_DIRTY_BITMAP work
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the device may set the PASID's Execute
 *                               Requested bit (meaningless without PASID)
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the device may set the PASID's Privileged
 *                               Mode Requested bit (likewise)
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: must be 0
 * @dev_id: the bound device whose IOMMU to describe
 * @data_len: in: the length of the buffer at @data_uptr; out: the length of
 *            the data the kernel has
 * @data_uptr: user pointer to a buffer for the data of @out_data_type
 * @out_data_type: returns one of enum iommu_hw_info_type
 * @out_max_pasid_log2: returns the number of PASID bits the device supports,
 *                      0 when it has no PASID
 * @__reserved: must be 0
 * @out_capabilities: returns a combination of enum iommufd_hw_capabilities
 *
 * Describes the IOMMU behind a device, so that a VMM can offer its guest a
 * virtual IOMMU whose page tables the real one can use.  The kernel writes
 * at most @data_len bytes and zeroes the rest of a larger buffer; a
 * @data_len of 0 is allowed and only reports the length.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: turn tracking on (off when clear)
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: a combination of enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: the page table
 * @__reserved: must be 0
 *
 * Turns dirty page tracking of a page table on or off.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: read the dirty bits and leave them
 *                                        set, as before an unmap of the
 *                                        same range
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: the page table
 * @flags: a combination of enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: the IOVA the first bit of the bitmap stands for
 * @length: the length of the IOVA range to report
 * @page_size: how many bytes of IOVA each bit stands for
 * @data: user pointer to the bitmap, an array of __u64
 *
 * Sets a bit for every dirty page of the range and, unless NO_CLEAR is
 * given, clears the dirty state in the page table.  The bit of an IOVA is::
 *
 *   n = (iova - @iova) / page_size;
 *   data[n / 64] & (1ULL << (n % 64))
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - kinds of IOMMU_HWPT_INVALIDATE
 *                                        requests
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of
 *                                           struct iommu_hwpt_vtd_s1_invalidate
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed: the caches of the
 *                            upper levels of the page table may stay
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - an Intel VT-d first-stage cache
 *                                       invalidation request
 * @addr: the first address to invalidate, 4 KiB aligned
 * @npages: the number of 4 KiB pages to invalidate
 * @flags: a combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 *
 * Tells the IOMMU which part of a userspace-owned first-stage page table
 * changed.  @addr 0 with @npages U64_MAX invalidates everything.  Device
 * TLBs (ATS) are invalidated along.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: the nested page table whose caches to invalidate
 * @data_uptr: user pointer to an array of requests of @data_type
 * @data_type: one of enum iommu_hwpt_invalidate_data_type
 * @entry_len: the size of one request
 * @entry_num: in: the number of requests; out: the number handled
 * @__reserved: must be 0
 *
 * Invalidates IOMMU caches after userspace changed a page table it owns.
 * With @entry_num 0 nothing is done and only @data_type is checked.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: @pasid is valid
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: the last fault of its group
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID		= (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE		= (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access a fault asks for
 * @IOMMU_PGFAULT_PERM_READ: read
 * @IOMMU_PGFAULT_PERM_WRITE: write
 * @IOMMU_PGFAULT_PERM_EXEC: execute (the PASID's Execute Requested bit)
 * @IOMMU_PGFAULT_PERM_PRIV: privileged (the PASID's Privileged Mode
 *                           Requested bit)
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ			= (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE		= (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC			= (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV			= (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - a page fault read from a fault queue
 * @flags: a combination of enum iommu_hwpt_pgfault_flags
 * @dev_id: the device that faulted
 * @pasid: the PASID of the request
 * @grpid: the page request group index
 * @perm: a combination of enum iommu_hwpt_pgfault_perm
 * @__reserved: must be 0
 * @addr: the faulting address
 * @length: how much the device expects to access from @addr, as a hint for
 *          faulting in ahead; 0 when it gives none
 * @cookie: identifies the fault's group; the response to the last fault of
 *          a group carries it back
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - answers to a page fault
 * @IOMMUFD_PAGE_RESP_SUCCESS: the fault was resolved: the device may retry
 *                             (PCIe "Success")
 * @IOMMUFD_PAGE_RESP_INVALID: it was not: the device must not retry (PCIe
 *                             "Invalid Request")
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - the answer written to a fault queue
 * @cookie: the cookie of the fault group answered
 * @code: one of enum iommufd_page_response_code
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - ioctl(IOMMU_FAULT_QUEUE_ALLOC)
 * @size: sizeof(struct iommu_fault_alloc)
 * @flags: must be 0
 * @out_fault_id: returns the ID of the new fault queue
 * @out_fault_fd: returns a file descriptor to read faults from and write
 *                responses to
 *
 * Creates a queue through which userspace handles the IO page faults of the
 * page tables that name it.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

#endif
