// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinning user memory for an IOAS, and charging it against RLIMIT_MEMLOCK.
 *
 * A range of user memory is pinned with FOLL_LONGTERM when it is mapped,
 * in batches, and stays pinned, once, for as long as any area maps it:
 * IOAS_COPY and every page table attached to the IOAS use the same pins.
 *
 * The pinned memory is kept as runs of physically contiguous pages, found
 * batch by batch as the pages are pinned.  A page table maps a run with
 * one iommu_map(), in the largest IOMMU pages it allows; the pages are
 * not looked at again when the memory is copied or another page table is
 * filled.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* Pages pinned by one call of pin_user_pages_fast(): a page of pointers. */
#define IOPT_PIN_BATCH	(PAGE_SIZE / sizeof(struct page *))
/* The fewest runs the array has room for. */
#define IOPT_MIN_RUNS	16

static int iopt_pages_account(struct iopt_pages *pages)
{
	unsigned long limit, cur;
	int rc;

	if (pages->account_mode == IOMMUFD_ACCOUNT_MM) {
		rc = account_locked_vm(pages->source_mm, pages->npages, true);
		if (rc)
			return rc;
	} else if (!capable(CAP_IPC_LOCK)) {
		limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		cur = atomic_long_add_return(pages->npages,
					     &pages->source_user->locked_vm);
		if (cur > limit) {
			atomic_long_sub(pages->npages,
					&pages->source_user->locked_vm);
			return -ENOMEM;
		}
	} else {
		atomic_long_add(pages->npages, &pages->source_user->locked_vm);
	}
	atomic64_add(pages->npages, &pages->source_mm->pinned_vm);
	return 0;
}

static void iopt_pages_unaccount(struct iopt_pages *pages)
{
	atomic64_sub(pages->npages, &pages->source_mm->pinned_vm);
	if (pages->account_mode == IOMMUFD_ACCOUNT_MM)
		account_locked_vm(pages->source_mm, pages->npages, false);
	else
		atomic_long_sub(pages->npages, &pages->source_user->locked_vm);
}

/*
 * Unpin the pages of the runs; @end is the index after the last page of
 * the last run.
 */
static void iopt_pages_unpin(struct iopt_pages *pages, unsigned long end,
			     bool dirty)
{
	unsigned long i, next;

	for (i = 0; i < pages->nr_runs; i++) {
		next = i + 1 < pages->nr_runs ? pages->runs[i + 1].index : end;
		unpin_user_page_range_dirty_lock(pfn_to_page(pages->runs[i].pfn),
						 next - pages->runs[i].index,
						 dirty);
	}
}

/* Make room for @more runs. */
static int iopt_pages_reserve_runs(struct iopt_pages *pages,
				   unsigned long more)
{
	size_t old_size, new_size;
	unsigned long max_runs;
	struct iopt_run *runs;

	if (pages->nr_runs + more <= pages->max_runs)
		return 0;
	max_runs = max3(2 * pages->max_runs, pages->nr_runs + more,
			(unsigned long)IOPT_MIN_RUNS);
	old_size = array_size(pages->max_runs, sizeof(*runs));
	new_size = array_size(max_runs, sizeof(*runs));
	/* Larger than kvmalloc() allows: memory too fragmented to track. */
	if (new_size > INT_MAX)
		return -ENOMEM;
	runs = kvrealloc(pages->runs, old_size, new_size, GFP_KERNEL_ACCOUNT);
	if (!runs)
		return -ENOMEM;
	pages->runs = runs;
	pages->max_runs = max_runs;
	return 0;
}

/*
 * Whether the struct page of @pfn follows that of @pfn - 1 in the memory
 * map: always, but where a SPARSEMEM map without VMEMMAP starts a new
 * section (see nth_page()).
 */
static bool iopt_memmap_follows(unsigned long pfn)
{
#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
	return pfn & (PAGES_PER_SECTION - 1);
#else
	return true;
#endif
}

/*
 * Add the @n pages of @batch, pinned at page index @index, to the runs.
 * Most pages extend the last run: those are found by comparing struct
 * page pointers, which costs less than page_to_pfn() for every page.
 */
static void iopt_pages_add_runs(struct iopt_pages *pages,
				struct page **batch, unsigned long index,
				unsigned long n)
{
	bool extend = pages->nr_runs;
	unsigned long i, pfn, next_pfn = 0;
	struct page *next_page = NULL;
	struct iopt_run *run;

	if (extend) {
		run = &pages->runs[pages->nr_runs - 1];
		next_pfn = run->pfn + (index - run->index);
	}
	for (i = 0; i < n; i++) {
		/* The page after the last one extends its run. */
		if (batch[i] == next_page && iopt_memmap_follows(next_pfn)) {
			next_pfn++;
			next_page++;
			continue;
		}
		pfn = page_to_pfn(batch[i]);
		next_page = batch[i] + 1;
		if (extend && pfn == next_pfn) {
			next_pfn++;
			continue;
		}
		run = &pages->runs[pages->nr_runs++];
		run->pfn = pfn;
		run->index = index + i;
		next_pfn = pfn + 1;
		extend = true;
	}
}

static int iopt_pages_pin_all(struct iopt_pages *pages, unsigned long batch)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	struct page **pinned;
	unsigned long done = 0;
	long n;
	int rc;

	batch = min3(batch, IOPT_PIN_BATCH, pages->npages);
	pinned = kmalloc_array(batch, sizeof(*pinned), GFP_KERNEL);
	if (!pinned)
		return -ENOMEM;
	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	while (done < pages->npages) {
		n = min(pages->npages - done, batch);
		/* Room first, so that a pinned batch always has its runs. */
		rc = iopt_pages_reserve_runs(pages, n);
		if (rc)
			goto err_unpin;
		if (iommufd_should_fail())
			n = -EFAULT;
		else
			n = pin_user_pages_fast(pages->uptr + done * PAGE_SIZE,
						n, gup_flags, pinned);
		if (n <= 0) {
			rc = n ? n : -EFAULT;
			goto err_unpin;
		}
		iopt_pages_add_runs(pages, pinned, done, n);
		done += n;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto err_unpin;
		}
	}
	kfree(pinned);
	return 0;

err_unpin:
	iopt_pages_unpin(pages, done, false);
	kvfree(pages->runs);
	pages->runs = NULL;
	pages->nr_runs = 0;
	pages->max_runs = 0;
	kfree(pinned);
	return rc;
}

/**
 * iopt_pages_pin() - pin user memory and charge it
 * @ictx: the iommufd, whose accounting mode applies
 * @uptr: the start of the memory
 * @length: its length in bytes, not zero
 * @writable: pin for writing
 *
 * Return: the pinned pages with one reference, or ERR_PTR(-EOVERFLOW) for a
 * range that wraps, -ENOMEM beyond RLIMIT_MEMLOCK, -EFAULT for memory that
 * cannot be pinned.
 */
struct iopt_pages *iopt_pages_pin(struct iommufd_ctx *ictx,
				  unsigned long uptr, unsigned long length,
				  bool writable)
{
	struct iopt_pages *pages;
	unsigned long end;
	int rc;

	if (check_add_overflow(uptr, length, &end) ||
	    end > ALIGN_DOWN(ULONG_MAX, PAGE_SIZE))
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	pages->uptr = ALIGN_DOWN(uptr, PAGE_SIZE);
	pages->npages = (ALIGN(end, PAGE_SIZE) - pages->uptr) >> PAGE_SHIFT;
	pages->writable = writable;
	pages->account_mode = ictx->account_mode;
	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	pages->source_user = get_uid(current_user());

	rc = iopt_pages_account(pages);
	if (rc)
		goto err_put;
	rc = iopt_pages_pin_all(pages, iommufd_pin_batch(ictx, IOPT_PIN_BATCH));
	if (rc)
		goto err_unaccount;
	return pages;

err_unaccount:
	iopt_pages_unaccount(pages);
err_put:
	free_uid(pages->source_user);
	mmdrop(pages->source_mm);
	kfree(pages);
	return ERR_PTR(rc);
}

static void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Devices, and accesses, may have written to writable pages. */
	iopt_pages_unpin(pages, pages->npages, pages->writable);
	iopt_pages_unaccount(pages);
	free_uid(pages->source_user);
	mmdrop(pages->source_mm);
	kvfree(pages->runs);
	kfree(pages);
}

void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}

/**
 * iopt_pages_find_run() - the run holding a page
 * @pages: the pinned memory
 * @index: the index of a page, below @pages->npages
 *
 * Return: the index in @pages->runs of the run holding page @index.
 */
unsigned long iopt_pages_find_run(struct iopt_pages *pages,
				  unsigned long index)
{
	unsigned long lo = 0, hi = pages->nr_runs - 1, mid;

	/* The run holding @index is one of runs[lo] to runs[hi]. */
	while (lo < hi) {
		mid = hi - (hi - lo) / 2;
		if (pages->runs[mid].index <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/**
 * iopt_pages_page() - a page of pinned memory
 * @pages: the pinned memory
 * @index: the index of the page, below @pages->npages
 *
 * Return: the page.
 */
struct page *iopt_pages_page(struct iopt_pages *pages, unsigned long index)
{
	struct iopt_run *run = &pages->runs[iopt_pages_find_run(pages, index)];

	return pfn_to_page(run->pfn + (index - run->index));
}
