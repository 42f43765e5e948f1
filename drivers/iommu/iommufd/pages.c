// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinning user memory for an IOAS, and charging it against RLIMIT_MEMLOCK.
 *
 * A range of user memory is pinned with FOLL_LONGTERM when it is mapped,
 * in batches, and stays pinned, once, for as long as any area maps it:
 * IOAS_COPY and every page table attached to the IOAS use the same pins.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* Pages pinned by one call of pin_user_pages_fast(). */
#define IOPT_PIN_BATCH	512

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

static int iopt_pages_pin_all(struct iopt_pages *pages, unsigned long batch)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int n;

	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	while (done < pages->npages) {
		n = min(pages->npages - done, batch);
		if (iommufd_should_fail())
			n = -EFAULT;
		else
			n = pin_user_pages_fast(pages->uptr + done * PAGE_SIZE,
						n, gup_flags,
						pages->pages + done);
		if (n <= 0) {
			unpin_user_pages(pages->pages, done);
			return n ? n : -EFAULT;
		}
		done += n;
		if (fatal_signal_pending(current)) {
			unpin_user_pages(pages->pages, done);
			return -EINTR;
		}
	}
	return 0;
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

	/* The array of pinned pages must stay a sane allocation. */
	if ((ALIGN(end, PAGE_SIZE) - ALIGN_DOWN(uptr, PAGE_SIZE)) >> PAGE_SHIFT >
	    INT_MAX / sizeof(struct page *))
		return ERR_PTR(-ENOMEM);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	pages->uptr = ALIGN_DOWN(uptr, PAGE_SIZE);
	pages->npages = (ALIGN(end, PAGE_SIZE) - pages->uptr) >> PAGE_SHIFT;
	pages->writable = writable;
	pages->account_mode = ictx->account_mode;

	pages->pages = kvcalloc(pages->npages, sizeof(*pages->pages),
				GFP_KERNEL_ACCOUNT);
	if (!pages->pages) {
		rc = -ENOMEM;
		goto err_free;
	}

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
	kvfree(pages->pages);
err_free:
	kfree(pages);
	return ERR_PTR(rc);
}

static void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Devices, and accesses, may have written to writable pages. */
	unpin_user_pages_dirty_lock(pages->pages, pages->npages,
				    pages->writable);
	iopt_pages_unaccount(pages);
	free_uid(pages->source_user);
	mmdrop(pages->source_mm);
	kvfree(pages->pages);
	kfree(pages);
}

void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}
