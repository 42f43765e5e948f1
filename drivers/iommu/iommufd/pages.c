// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user memory behind the mappings of an IOAS: pinning it, charging it
 * against RLIMIT_MEMLOCK, and handing it to page tables and accesses.
 *
 * A struct iopt_pages stands for a range of user memory.  Nothing of it is
 * pinned when it is mapped; each page is pinned at most once, however many
 * users it has, and only while one of them needs it:
 *
 * - A page table needs what its area maps.  An area mapped into an IOAS
 *   that has page tables "fills" its range of the pages: a struct
 *   iopt_fill, in @fill_itree, holds every page of the range as runs of
 *   physically contiguous pages, which a page table maps with as few IOMMU
 *   pages as each allows.  A page another fill or an access holds already
 *   is taken from there; the others are pinned.
 * - An access needs the pages it asks for.  Each pin_pages call is an
 *   access pin: an index range in @access_itree.  A page covered by at
 *   least one access pin is in @access_pages, taken from a fill or pinned.
 *
 * So a page is pinned exactly while a fill or an access pin covers it, and
 * charged the same way; the last of them to go unpins and uncharges it.
 *
 * Releasing never fails and never allocates: unfilling and dropping an
 * access pin only unpin and free.
 */
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* Pages pinned by one call of the GUP functions: a page of pointers. */
#define IOPT_PIN_BATCH		(PAGE_SIZE / sizeof(struct page *))

/**
 * struct iopt_run - physically contiguous pages of a struct iopt_pages
 * @pfn: the page frame of the first page
 * @index: the index of the first page in the struct iopt_pages; the run
 *	ends where the next one starts, or after the last page of its fill
 */
struct iopt_run {
	unsigned long pfn;
	unsigned long index;
};

/* Runs are kept in chunks of a page, so no array grows with a mapping. */
#define IOPT_RUNS_PER_CHUNK	(PAGE_SIZE / sizeof(struct iopt_run))

struct iopt_run_chunk {
	struct iopt_run runs[IOPT_RUNS_PER_CHUNK];
};

/**
 * struct iopt_fill - the pages of a range, held for page tables
 * @node: the page index range [start, last] in iopt_pages::fill_itree
 * @pages: the memory
 * @users: the areas holding the fill: those of the same range share it
 *	(IOAS_COPY of a whole mapping), under the pages' mutex
 * @run_chunks: the runs, struct iopt_run_chunk by chunk number
 * @nr_runs: the number of runs
 * @nr_chunks: the number of chunks, room for nr_chunks *
 *	IOPT_RUNS_PER_CHUNK runs
 *
 * The runs do not change while the fill exists, but for the cut of a
 * fill with one user (iopt_fill_split()): its users read them without the
 * pages' mutex.
 */
struct iopt_fill {
	struct interval_tree_node node;
	struct iopt_pages *pages;
	unsigned int users;
	struct xarray run_chunks;
	unsigned long nr_runs;
	unsigned long nr_chunks;
};

/**
 * struct iopt_access_pin - pages an access pinned through an area
 * @node: the page index range [start, last] in iopt_pages::access_itree
 * @id: the pin call, its access and the area
 * @users: the pin_pages calls with this @id and range not unpinned yet
 */
struct iopt_access_pin {
	struct interval_tree_node node;
	struct iopt_pin_id id;
	unsigned int users;
};

/**
 * struct iopt_pages - user memory mapped by one or more areas
 * @kref: one reference per area (IOAS_COPY makes more than one)
 * @mutex: protects everything below that changes, and is taken after
 *	io_pagetable::iova_rwsem
 * @uptr: the page-aligned user address of the first page
 * @npages: the number of pages
 * @writable: pinned for writing (IOMMU_IOAS_MAP_WRITEABLE)
 * @account_mode: enum iommufd_account_mode the pages are charged in
 * @pin_batch: the most pages one GUP call pins
 * @source_mm: the mm the memory belongs to, for mm->locked_vm and
 *	mm->pinned_vm (held with mmgrab()), and to pin from
 * @source_task: the process that mapped the memory, whose RLIMIT_MEMLOCK
 *	applies whoever pins it later (held with get_task_struct())
 * @source_user: the user charged in IOMMUFD_ACCOUNT_USER mode
 * @source_cap_ipc_lock: @source_task had CAP_IPC_LOCK when it mapped the
 *	memory: no limit, and nothing charged against one
 * @fill_itree: the fills (struct iopt_fill)
 * @access_itree: the access pins (struct iopt_access_pin)
 * @access_pages: page index -> struct page, for every page an access pin
 *	covers
 * @nr_access_pages: the number of entries in @access_pages
 */
struct iopt_pages {
	struct kref kref;
	struct mutex mutex;	/* see above */
	unsigned long uptr;
	unsigned long npages;
	bool writable;
	u8 account_mode;
	unsigned long pin_batch;
	struct mm_struct *source_mm;
	struct task_struct *source_task;
	struct user_struct *source_user;
	bool source_cap_ipc_lock;
	struct rb_root_cached fill_itree;
	struct rb_root_cached access_itree;
	struct xarray access_pages;
	unsigned long nr_access_pages;
};

/* Charge @n pages against RLIMIT_MEMLOCK, per user or per process. */
static int iopt_pages_charge_memlock(struct iopt_pages *pages,
				     unsigned long n)
{
	struct mm_struct *mm = pages->source_mm;
	unsigned long limit, cur;
	int rc;

	if (pages->account_mode == IOMMUFD_ACCOUNT_MM) {
		mmap_write_lock(mm);
		rc = __account_locked_vm(mm, n, true, pages->source_task,
					 false);
		mmap_write_unlock(mm);
		return rc;
	}
	limit = task_rlimit(pages->source_task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_add_return(n, &pages->source_user->locked_vm);
	if (cur > limit) {
		atomic_long_sub(n, &pages->source_user->locked_vm);
		return -ENOMEM;
	}
	return 0;
}

static void iopt_pages_uncharge_memlock(struct iopt_pages *pages,
					unsigned long n)
{
	if (pages->account_mode == IOMMUFD_ACCOUNT_MM) {
		mmap_write_lock(pages->source_mm);
		__account_locked_vm(pages->source_mm, n, false,
				    pages->source_task, false);
		mmap_write_unlock(pages->source_mm);
	} else {
		atomic_long_sub(n, &pages->source_user->locked_vm);
	}
}

/*
 * Charge @n pages, against the limit of the process that mapped them:
 * pinning may happen later, in another process or a kernel thread.  A
 * mapper with CAP_IPC_LOCK has no limit and is charged nothing against
 * it (as on mainline); the pages count in the mm's pinned_vm (VmPin)
 * either way.
 */
static int iopt_pages_account(struct iopt_pages *pages, unsigned long n)
{
	int rc;

	if (!n)
		return 0;
	if (!pages->source_cap_ipc_lock) {
		rc = iopt_pages_charge_memlock(pages, n);
		if (rc)
			return rc;
	}
	atomic64_add(n, &pages->source_mm->pinned_vm);
	return 0;
}

static void iopt_pages_unaccount(struct iopt_pages *pages, unsigned long n)
{
	if (!n)
		return;
	atomic64_sub(n, &pages->source_mm->pinned_vm);
	if (!pages->source_cap_ipc_lock)
		iopt_pages_uncharge_memlock(pages, n);
}

/*
 * A long-term pin for reading of a private mapping: 6.1's GUP unshares
 * only anonymous pages shared with another process, not a page of a
 * private file mapping that was never written, nor the shared zero page.
 * The process's first write would give it a page of its own, and the pin
 * would keep the device on the old one.  Pinning such memory for writing,
 * forced, breaks the sharing now, as mainline's unsharing does (since
 * 6.2); the IOMMU still maps it read-only.  Not for hugetlb, where 6.1
 * refuses a forced write, nor under userfaultfd write protection, whose
 * monitor would see a write that never happened: there the old page stays
 * pinned, as before.  Returns how many of the @n pages from @addr lie in
 * the same mapping, which the flags are right for.
 */
static unsigned long iopt_ro_private_flags(struct mm_struct *mm,
					   unsigned long addr, unsigned long n,
					   unsigned int *gup_flags)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);

	vma = vma_lookup(mm, addr);
	if (!vma)
		return n;	/* GUP fails it */
	n = min(n, (vma->vm_end - addr) >> PAGE_SHIFT);
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE | VM_READ)) ==
	    (VM_MAYWRITE | VM_READ) && !is_vm_hugetlb_page(vma) &&
	    !userfaultfd_wp(vma))
		*gup_flags |= FOLL_WRITE | FOLL_FORCE;
	return n;
}

/*
 * Pin up to @n pages from page @index on, from the mm that mapped them,
 * in the calling process or another one (a later attach, a kernel
 * thread); fault injection makes it fail under test.  Returns the number
 * pinned, at least one, or an errno of GUP: -EFAULT when the memory is
 * gone (its process too, perhaps), -EINTR on a fatal signal.
 */
static long iopt_pages_gup(struct iopt_pages *pages, unsigned long index,
			   unsigned long n, struct page **out,
			   unsigned int gup_flags)
{
	unsigned long addr = pages->uptr + index * PAGE_SIZE;
	struct mm_struct *mm = pages->source_mm;
	bool ro_longterm;
	long rc;

	lockdep_assert_held(&pages->mutex);
	if (iommufd_should_fail())
		return -EFAULT;
	n = min(n, pages->pin_batch);
	ro_longterm = (gup_flags & (FOLL_LONGTERM | FOLL_WRITE)) ==
		      FOLL_LONGTERM;
	if (current->mm == mm && !ro_longterm) {
		rc = pin_user_pages_fast(addr, n, gup_flags, out);
	} else {
		if (!mmget_not_zero(mm))
			return -EFAULT;
		/* FOLL_LONGTERM wants the lock held throughout (no @locked). */
		if (mmap_read_lock_killable(mm)) {
			mmput(mm);
			return -EINTR;
		}
		if (ro_longterm)
			n = iopt_ro_private_flags(mm, addr, n, &gup_flags);
		/* Not a foreign access when it is the caller's own memory */
		if (current->mm == mm)
			rc = pin_user_pages(addr, n, gup_flags, out, NULL);
		else
			rc = pin_user_pages_remote(mm, addr, n, gup_flags, out,
						   NULL, NULL);
		mmap_read_unlock(mm);
		mmput(mm);
	}
	return rc ? rc : -EFAULT;
}

/* Charge and pin up to @n pages from @index on: iopt_pages_gup(). */
static long iopt_pages_pin_charged(struct iopt_pages *pages,
				   unsigned long index, unsigned long n,
				   struct page **out, unsigned int gup_flags)
{
	long got;
	int rc;

	n = min(n, pages->pin_batch);
	rc = iopt_pages_account(pages, n);
	if (rc)
		return rc;
	got = iopt_pages_gup(pages, index, n, out, gup_flags);
	iopt_pages_unaccount(pages, got < 0 ? n : n - got);
	return got;
}

static struct iopt_run *iopt_fill_run(struct iopt_fill *fill, unsigned long i)
{
	struct iopt_run_chunk *chunk;

	chunk = xa_load(&fill->run_chunks, i / IOPT_RUNS_PER_CHUNK);
	return &chunk->runs[i % IOPT_RUNS_PER_CHUNK];
}

/*
 * A reader's place in the runs of a fill: the chunk it looked up last, so
 * that a walk in order looks one up for each IOPT_RUNS_PER_CHUNK runs
 * rather than for each run.
 */
struct iopt_runs_cursor {
	struct iopt_fill *fill;
	unsigned long chunk_no;
	struct iopt_run_chunk *chunk;
};

static void iopt_runs_cursor_init(struct iopt_runs_cursor *c,
				  struct iopt_fill *fill)
{
	c->fill = fill;
	c->chunk_no = ULONG_MAX;
	c->chunk = NULL;
}

static struct iopt_run *iopt_runs_at(struct iopt_runs_cursor *c,
				     unsigned long i)
{
	if (i / IOPT_RUNS_PER_CHUNK != c->chunk_no) {
		c->chunk_no = i / IOPT_RUNS_PER_CHUNK;
		c->chunk = xa_load(&c->fill->run_chunks, c->chunk_no);
	}
	return &c->chunk->runs[i % IOPT_RUNS_PER_CHUNK];
}

/* The index after the last page of run @i. */
static unsigned long iopt_runs_end_at(struct iopt_runs_cursor *c,
				      unsigned long i)
{
	return i + 1 < c->fill->nr_runs ? iopt_runs_at(c, i + 1)->index :
					  c->fill->node.last + 1;
}

/* Make room for @more runs. */
static int iopt_fill_reserve_runs(struct iopt_fill *fill, unsigned long more)
{
	struct iopt_run_chunk *chunk;
	int rc;

	while (fill->nr_chunks * IOPT_RUNS_PER_CHUNK < fill->nr_runs + more) {
		chunk = kmalloc(sizeof(*chunk), GFP_KERNEL_ACCOUNT);
		if (!chunk)
			return -ENOMEM;
		rc = xa_err(xa_store(&fill->run_chunks, fill->nr_chunks, chunk,
				     GFP_KERNEL_ACCOUNT));
		if (rc) {
			kfree(chunk);
			return rc;
		}
		fill->nr_chunks++;
	}
	return 0;
}

static void iopt_fill_free(struct iopt_fill *fill)
{
	struct iopt_run_chunk *chunk;
	unsigned long i;

	xa_for_each(&fill->run_chunks, i, chunk)
		kfree(chunk);
	xa_destroy(&fill->run_chunks);
	kfree(fill);
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
 * Add the @n pages of @batch, the pages from index @index on, to the runs
 * of @fill, which have room for them.  Most pages extend the last run:
 * those are found by comparing struct page pointers, which costs less
 * than page_to_pfn() for every page.
 */
static void iopt_fill_add_runs(struct iopt_runs_cursor *tail,
			       struct page **batch, unsigned long index,
			       unsigned long n)
{
	struct iopt_fill *fill = tail->fill;
	unsigned long i, pfn, next_pfn = 0;
	struct page *next_page = NULL;
	struct iopt_run *run = NULL;

	if (fill->nr_runs) {
		run = iopt_runs_at(tail, fill->nr_runs - 1);
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
		if (run && pfn == next_pfn) {
			next_pfn++;
			continue;
		}
		run = iopt_runs_at(tail, fill->nr_runs++);
		run->pfn = pfn;
		run->index = index + i;
		next_pfn = pfn + 1;
	}
}

/* The run of @fill holding page @index. */
static unsigned long iopt_fill_find_run(struct iopt_fill *fill,
					unsigned long index)
{
	unsigned long lo = 0, hi = fill->nr_runs - 1, mid;

	/* The run holding @index is one of runs lo to hi. */
	while (lo < hi) {
		mid = hi - (hi - lo) / 2;
		if (iopt_fill_run(fill, mid)->index <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Page @index of @fill's range. */
static struct page *iopt_fill_page(struct iopt_fill *fill, unsigned long index)
{
	struct iopt_run *run;

	run = iopt_fill_run(fill, iopt_fill_find_run(fill, index));
	return pfn_to_page(run->pfn + (index - run->index));
}

/* The @n pages of @fill from index @index on, in @out. */
static void iopt_fill_pages(struct iopt_fill *fill, unsigned long index,
			    unsigned long n, struct page **out)
{
	unsigned long i = iopt_fill_find_run(fill, index), end, k = 0;
	struct iopt_runs_cursor c;
	struct iopt_run *run;

	iopt_runs_cursor_init(&c, fill);
	while (k < n) {
		run = iopt_runs_at(&c, i);
		end = iopt_runs_end_at(&c, i++);
		for (; k < n && index + k < end; k++)
			out[k] = pfn_to_page(run->pfn + (index + k - run->index));
	}
}

/* A fill of @pages holding page @index, or NULL. */
static struct iopt_fill *iopt_pages_fill_at(struct iopt_pages *pages,
					    unsigned long index)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&pages->fill_itree, index, index);
	return node ? container_of(node, struct iopt_fill, node) : NULL;
}

/* Page @index if a fill or an access holds it (pinned), or NULL. */
static struct page *iopt_pages_held_page(struct iopt_pages *pages,
					 unsigned long index)
{
	struct iopt_fill *fill;
	struct page *page;

	lockdep_assert_held(&pages->mutex);

	page = xa_load(&pages->access_pages, index);
	if (page)
		return page;
	fill = iopt_pages_fill_at(pages, index);
	return fill ? iopt_fill_page(fill, index) : NULL;
}

/*
 * The first page after @index, up to @last, that a fill or an access
 * holds, or @last + 1; @index itself is not held.
 */
static unsigned long iopt_pages_next_held(struct iopt_pages *pages,
					  unsigned long index,
					  unsigned long last)
{
	struct interval_tree_node *node;
	unsigned long held = index;

	if (!xa_find(&pages->access_pages, &held, last, XA_PRESENT))
		held = last + 1;
	node = interval_tree_iter_first(&pages->fill_itree, index, last);
	if (node)
		held = min(held, node->start);
	return held;
}

/*
 * Unpin the @n pages from @page on, which are the pages from index @index
 * on, except those an access holds.  Returns the number unpinned.
 */
static unsigned long iopt_pages_unpin_unheld(struct iopt_pages *pages,
					     struct page *page,
					     unsigned long index,
					     unsigned long n, bool dirty)
{
	unsigned long cur = index, end = index + n, held, unpinned = 0;
	unsigned long calls = 0;

	while (cur < end) {
		/*
		 * The caller bounds the work between two reschedules: a
		 * test kernel checks that a step makes no more calls than
		 * a batch.
		 */
		WARN_ON_ONCE(IS_ENABLED(CONFIG_IOMMUFD_TEST) &&
			     ++calls > min(pages->pin_batch, IOPT_PIN_BATCH));
		held = cur;
		if (!pages->nr_access_pages ||
		    !xa_find(&pages->access_pages, &held, end - 1, XA_PRESENT))
			held = end;
		if (held > cur) {
			unpin_user_page_range_dirty_lock(nth_page(page,
								  cur - index),
							 held - cur, dirty);
			unpinned += held - cur;
		}
		cur = held + 1;
	}
	return unpinned;
}

/*
 * The last page of the step of unpinning that starts at page @cur, which is
 * @page, and may go on to page @max: as much as costs a batch between two
 * reschedules.  Unpinning costs a call per folio, so a step is a batch of
 * folios, or of pages when the first is a small folio; it is a batch of
 * pages when an access holds a page of it, as then every page held costs
 * a lookup and a call.
 */
static unsigned long iopt_unpin_step_last(struct iopt_pages *pages,
					  struct page *page,
					  unsigned long cur,
					  unsigned long max)
{
	unsigned long batch = min(pages->pin_batch, IOPT_PIN_BATCH), n = batch;
	unsigned long first = cur, left = max - cur, nr, held;
	struct folio *folio = page_folio(page);

	if (!folio_test_large(folio))
		return cur + min(left, batch - 1);
	/* left counts the pages after the step's current folio */
	while (true) {
		nr = folio_nr_pages(folio) -
		     (page_to_pfn(page) - folio_pfn(folio));
		if (nr > left || !--n)
			break;
		cur += nr;
		left -= nr;
		page = nth_page(page, nr);
		folio = page_folio(page);
	}
	cur += min(left, nr - 1);
	held = first;
	if (pages->nr_access_pages &&
	    xa_find(&pages->access_pages, &held, cur, XA_PRESENT))
		cur = min(cur, first + batch - 1);
	return cur;
}

/*
 * Unpin pages [first, last] of @fill's runs, except those an access
 * holds.  Returns the number unpinned.
 */
static unsigned long iopt_fill_unpin_range(struct iopt_fill *fill,
					   unsigned long first,
					   unsigned long last, bool dirty)
{
	unsigned long i = iopt_fill_find_run(fill, first), cur = first, e;
	unsigned long run_last, unpinned = 0;
	struct iopt_runs_cursor c;
	struct iopt_run *run;
	struct page *page;

	iopt_runs_cursor_init(&c, fill);
	while (cur <= last) {
		run = iopt_runs_at(&c, i);
		page = pfn_to_page(run->pfn + (cur - run->index));
		run_last = iopt_runs_end_at(&c, i) - 1;
		e = iopt_unpin_step_last(fill->pages, page, cur,
					 min(run_last, last));
		unpinned += iopt_pages_unpin_unheld(fill->pages, page, cur,
						    e - cur + 1, dirty);
		cur = e + 1;
		if (e == run_last)
			i++;
		cond_resched();
	}
	return unpinned;
}

/*
 * Unpin the pages of @fill's runs before index @end that no other fill in
 * the tree and no access holds.  Returns the number unpinned.
 */
static unsigned long iopt_fill_unpin(struct iopt_fill *fill,
				     unsigned long end, bool dirty)
{
	struct iopt_pages *pages = fill->pages;
	unsigned long first = fill->node.start, last, cur, unpinned = 0;
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	if (!fill->nr_runs || end <= first)
		return 0;
	last = min(end - 1, fill->node.last);
	/* The stretches no other fill covers, in order */
	cur = first;
	for (node = interval_tree_iter_first(&pages->fill_itree, first, last);
	     node; node = interval_tree_iter_next(node, first, last)) {
		if (node->start > cur)
			unpinned += iopt_fill_unpin_range(fill, cur,
							  node->start - 1,
							  dirty);
		if (node->last >= last)
			return unpinned;
		cur = max(cur, node->last + 1);
	}
	return unpinned + iopt_fill_unpin_range(fill, cur, last, dirty);
}

/*
 * Add to @fill's runs pages [first, last] of @other's range, which follow
 * the pages @fill has.
 */
static int iopt_fill_copy_runs(struct iopt_runs_cursor *tail,
			       struct iopt_fill *other, unsigned long first,
			       unsigned long last)
{
	unsigned long i = iopt_fill_find_run(other, first), cur = first, end;
	struct iopt_fill *fill = tail->fill;
	struct iopt_run *run, *prev;
	struct iopt_runs_cursor c;
	unsigned long pfn;
	int rc;

	iopt_runs_cursor_init(&c, other);
	while (cur <= last) {
		run = iopt_runs_at(&c, i);
		pfn = run->pfn + (cur - run->index);
		end = min(iopt_runs_end_at(&c, i) - 1, last);
		prev = fill->nr_runs ? iopt_runs_at(tail, fill->nr_runs - 1) :
				       NULL;
		/* A run is extended by what follows it, without a field. */
		if (!prev || prev->pfn + (cur - prev->index) != pfn) {
			rc = iopt_fill_reserve_runs(fill, 1);
			if (rc)
				return rc;
			run = iopt_runs_at(tail, fill->nr_runs++);
			run->pfn = pfn;
			run->index = cur;
		}
		cur = end + 1;
		i++;
		if (!(i % IOPT_RUNS_PER_CHUNK))
			cond_resched();
	}
	return 0;
}

/*
 * Make the runs of every page of @fill's range: those other fills and
 * accesses hold are taken from them, the others pinned and charged.
 */
static int iopt_fill_pin(struct iopt_fill *fill)
{
	struct iopt_pages *pages = fill->pages;
	unsigned long cur = fill->node.start, last = fill->node.last, n;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct iopt_runs_cursor tail;
	struct iopt_fill *other;
	struct page **batch;
	long got;
	int rc;

	lockdep_assert_held(&pages->mutex);

	iopt_runs_cursor_init(&tail, fill);
	batch = kmalloc_array(min3(pages->pin_batch, IOPT_PIN_BATCH,
				   last - cur + 1),
			      sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	while (cur <= last) {
		/* Nothing held by others: the usual case, without lookups */
		if (!pages->nr_access_pages &&
		    RB_EMPTY_ROOT(&pages->fill_itree.rb_root)) {
			batch[0] = NULL;
			n = min3(last - cur + 1, pages->pin_batch,
				 IOPT_PIN_BATCH);
			goto pin;
		}
		other = iopt_pages_fill_at(pages, cur);
		if (other) {
			/* Its pages, accesses' included, in bulk */
			rc = iopt_fill_copy_runs(&tail, other, cur,
						 min(last, other->node.last));
			if (rc)
				goto err_unpin;
			cur = min(last, other->node.last) + 1;
			continue;
		}
		batch[0] = xa_load(&pages->access_pages, cur);
		n = batch[0] ? 1 :
			min3(iopt_pages_next_held(pages, cur, last) - cur,
			     pages->pin_batch, IOPT_PIN_BATCH);
pin:
		/* Room first, so that pinned pages always have their runs. */
		rc = iopt_fill_reserve_runs(fill, n);
		if (rc)
			goto err_unpin;
		if (!batch[0]) {
			got = iopt_pages_pin_charged(pages, cur, n, batch,
						     gup_flags);
			if (got < 0) {
				rc = got;
				goto err_unpin;
			}
			n = got;
		}
		iopt_fill_add_runs(&tail, batch, cur, n);
		cur += n;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto err_unpin;
		}
		cond_resched();
	}
	kfree(batch);
	return 0;

err_unpin:
	iopt_pages_unaccount(pages, iopt_fill_unpin(fill, cur, false));
	kfree(batch);
	return rc;
}

/**
 * iopt_alloc_pages() - stand for a range of user memory
 * @ictx: the iommufd, whose accounting mode applies
 * @uptr: the start of the memory
 * @length: its length in bytes, not zero
 * @writable: to be pinned for writing
 *
 * Nothing is pinned or charged, and the memory need not exist yet.
 *
 * Context: Process context, in the process owning the memory.
 *
 * Return: the pages with one reference, ERR_PTR(-EOVERFLOW) for a range
 * that wraps, or ERR_PTR(-ENOMEM).
 */
struct iopt_pages *iopt_alloc_pages(struct iommufd_ctx *ictx,
				    unsigned long uptr, unsigned long length,
				    bool writable)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (check_add_overflow(uptr, length, &end) ||
	    end > ALIGN_DOWN(ULONG_MAX, PAGE_SIZE))
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	pages->uptr = ALIGN_DOWN(uptr, PAGE_SIZE);
	pages->npages = (ALIGN(end, PAGE_SIZE) - pages->uptr) >> PAGE_SHIFT;
	pages->writable = writable;
	pages->account_mode = ictx->account_mode;
	pages->pin_batch = iommufd_pin_batch(ictx, IOPT_PIN_BATCH);
	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	pages->source_task = get_task_struct(current->group_leader);
	pages->source_user = get_uid(current_user());
	pages->source_cap_ipc_lock = capable(CAP_IPC_LOCK);
	pages->fill_itree = RB_ROOT_CACHED;
	pages->access_itree = RB_ROOT_CACHED;
	xa_init_flags(&pages->access_pages, XA_FLAGS_ACCOUNT);
	return pages;
}

static void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Each area gives its fill and its access pins back first. */
	WARN_ON(pages->nr_access_pages ||
		!RB_EMPTY_ROOT(&pages->fill_itree.rb_root) ||
		!RB_EMPTY_ROOT(&pages->access_itree.rb_root));
	xa_destroy(&pages->access_pages);
	free_uid(pages->source_user);
	put_task_struct(pages->source_task);
	mmdrop(pages->source_mm);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

/* Take a reference for another area. */
void iopt_pages_get(struct iopt_pages *pages)
{
	kref_get(&pages->kref);
}

void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}

/* The user address of byte @byte of @pages. */
unsigned long iopt_pages_uptr(struct iopt_pages *pages, unsigned long byte)
{
	return pages->uptr + byte;
}

bool iopt_pages_writable(struct iopt_pages *pages)
{
	return pages->writable;
}

/* The fill of @pages with range [first, last] exactly, or NULL. */
static struct iopt_fill *iopt_pages_fill_of(struct iopt_pages *pages,
					    unsigned long first,
					    unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&pages->mutex);

	for (node = interval_tree_iter_first(&pages->fill_itree, first, first);
	     node; node = interval_tree_iter_next(node, first, first))
		if (node->start == first && node->last == last)
			return container_of(node, struct iopt_fill, node);
	return NULL;
}

/* A new fill of [first, last], with no runs and one user. */
static struct iopt_fill *iopt_fill_alloc(struct iopt_pages *pages,
					 unsigned long first,
					 unsigned long last)
{
	struct iopt_fill *fill;

	fill = kzalloc(sizeof(*fill), GFP_KERNEL_ACCOUNT);
	if (!fill)
		return NULL;
	fill->pages = pages;
	fill->users = 1;
	fill->node.start = first;
	fill->node.last = last;
	xa_init_flags(&fill->run_chunks, XA_FLAGS_ACCOUNT);
	return fill;
}

/**
 * iopt_pages_fill() - hold a range of the memory for a page table
 * @pages: the memory
 * @first: the index of the first page
 * @last: the index of the last page
 *
 * The pages no other fill or access holds already are pinned and charged.
 * A fill of the same range, if there is one, is shared rather than made
 * again.
 *
 * Context: Process context; may sleep.  Takes the pages' mutex.
 *
 * Return: the fill, whose runs iopt_pages_map() maps, or ERR_PTR(-ENOMEM)
 * beyond RLIMIT_MEMLOCK or for want of memory, -EFAULT when the memory is
 * gone, -EINTR on a fatal signal.  On failure nothing changed.
 */
struct iopt_fill *iopt_pages_fill(struct iopt_pages *pages,
				  unsigned long first, unsigned long last)
{
	struct iopt_fill *fill;
	int rc;

	mutex_lock(&pages->mutex);
	fill = iopt_pages_fill_of(pages, first, last);
	/* One that is shared by too many already is made again. */
	if (fill && fill->users < UINT_MAX) {
		fill->users++;
		goto out_unlock;
	}
	fill = iopt_fill_alloc(pages, first, last);
	if (!fill) {
		fill = ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	rc = iopt_fill_pin(fill);
	if (rc) {
		iopt_fill_free(fill);
		fill = ERR_PTR(rc);
		goto out_unlock;
	}
	interval_tree_insert(&fill->node, &pages->fill_itree);
out_unlock:
	mutex_unlock(&pages->mutex);
	return fill;
}

/**
 * iopt_pages_unfill() - undo iopt_pages_fill()
 * @fill: the fill
 *
 * When its last user goes, the pages no other fill or access holds are
 * unpinned and uncharged.
 *
 * Context: Process context; may sleep.  Takes the pages' mutex.
 */
void iopt_pages_unfill(struct iopt_fill *fill)
{
	struct iopt_pages *pages = fill->pages;

	mutex_lock(&pages->mutex);
	if (--fill->users) {
		mutex_unlock(&pages->mutex);
		return;
	}
	interval_tree_remove(&fill->node, &pages->fill_itree);
	/* Devices may have written to writable pages. */
	iopt_pages_unaccount(pages, iopt_fill_unpin(fill, fill->node.last + 1,
						    pages->writable));
	mutex_unlock(&pages->mutex);
	iopt_fill_free(fill);
}

/**
 * iopt_fill_split() - cut a fill in two
 * @fillp: the fill of pages [first, last]
 * @left_last: the last page *@fillp keeps, at least first
 * @right_first: the first page of the new fill, at most last:
 *	@left_last, when the cut is inside that page, or @left_last + 1
 *
 * The new fill holds pages [@right_first, last]; *@fillp then holds
 * [first, @left_last]: the fill itself, cut, or, when other areas share
 * it and keep it whole, a new fill that replaces it in *@fillp.  Nothing
 * is pinned or unpinned: a page both keep is held by both.
 *
 * Context: Process context; may sleep.  The caller excludes its own
 * readers of the fill's runs.  Takes the pages' mutex.
 *
 * Return: the new fill, or ERR_PTR(-ENOMEM) with *@fillp unchanged;
 * ERR_PTR(-EINVAL) for a cut outside the fill, a kernel bug.
 */
struct iopt_fill *iopt_fill_split(struct iopt_fill **fillp,
				  unsigned long left_last,
				  unsigned long right_first)
{
	struct iopt_fill *fill = *fillp, *left = NULL, *right;
	struct iopt_pages *pages = fill->pages;
	struct iopt_runs_cursor tail;
	unsigned long keep, i;
	int rc;

	if (WARN_ON(left_last < fill->node.start ||
		    right_first > fill->node.last ||
		    right_first > left_last + 1 || right_first < left_last))
		return ERR_PTR(-EINVAL);
	right = iopt_fill_alloc(pages, right_first, fill->node.last);
	if (!right)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&pages->mutex);
	iopt_runs_cursor_init(&tail, right);
	rc = iopt_fill_copy_runs(&tail, fill, right_first, fill->node.last);
	if (rc)
		goto err_unlock;
	if (fill->users > 1) {
		/* The runs of a shared fill do not change: a copy is cut. */
		left = iopt_fill_alloc(pages, fill->node.start, left_last);
		if (!left) {
			rc = -ENOMEM;
			goto err_unlock;
		}
		iopt_runs_cursor_init(&tail, left);
		rc = iopt_fill_copy_runs(&tail, fill, fill->node.start,
					 left_last);
		if (rc)
			goto err_unlock;
		fill->users--;
		interval_tree_insert(&left->node, &pages->fill_itree);
		*fillp = left;
	} else {
		/* The runs past the one holding @left_last go, with their chunks. */
		keep = iopt_fill_find_run(fill, left_last) + 1;
		for (i = DIV_ROUND_UP(keep, IOPT_RUNS_PER_CHUNK);
		     i < fill->nr_chunks; i++)
			kfree(xa_erase(&fill->run_chunks, i));
		fill->nr_chunks = DIV_ROUND_UP(keep, IOPT_RUNS_PER_CHUNK);
		fill->nr_runs = keep;
		interval_tree_remove(&fill->node, &pages->fill_itree);
		fill->node.last = left_last;
		interval_tree_insert(&fill->node, &pages->fill_itree);
	}
	interval_tree_insert(&right->node, &pages->fill_itree);
	mutex_unlock(&pages->mutex);
	return right;

err_unlock:
	mutex_unlock(&pages->mutex);
	if (left)
		iopt_fill_free(left);
	iopt_fill_free(right);
	return ERR_PTR(rc);
}

/**
 * iopt_fill_phys() - the physical address of a byte of a fill
 * @fill: the fill
 * @byte: the byte's offset in its pages, inside the fill's range
 *
 * Return: its physical address.
 */
phys_addr_t iopt_fill_phys(struct iopt_fill *fill, unsigned long byte)
{
	return page_to_phys(iopt_fill_page(fill, byte >> PAGE_SHIFT)) +
	       offset_in_page(byte);
}

/* A walk over the pages of a fill, run by run. */
struct iopt_pages_walk {
	struct iopt_runs_cursor c;
	unsigned long byte;	/* the byte of the memory to map next */
	unsigned long left;	/* the bytes left to map */
	unsigned long run;	/* the run holding @byte */
};

static void iopt_pages_walk_start(struct iopt_pages_walk *walk,
				  struct iopt_fill *fill, unsigned long byte,
				  unsigned long length)
{
	iopt_runs_cursor_init(&walk->c, fill);
	walk->byte = byte;
	walk->left = length;
	walk->run = iopt_fill_find_run(fill, byte >> PAGE_SHIFT);
}

/*
 * The next piece of physically contiguous memory, of at most @max bytes
 * (a power of two): its first page and its offset in it.  Returns the
 * length of the piece, or 0 at the end of the walk.
 */
static unsigned long iopt_pages_walk_next(struct iopt_pages_walk *walk,
					  unsigned long max,
					  struct page **page,
					  unsigned int *offset)
{
	unsigned long run_end, len;
	struct iopt_run *run;

	if (!walk->left)
		return 0;
	run = iopt_runs_at(&walk->c, walk->run);
	*page = pfn_to_page(run->pfn + (walk->byte >> PAGE_SHIFT) -
			    run->index);
	run_end = iopt_runs_end_at(&walk->c, walk->run) << PAGE_SHIFT;
	*offset = offset_in_page(walk->byte);
	/* Up to the next multiple of @max, so that pieces stay aligned. */
	len = min3(run_end - walk->byte, walk->left,
		   max - (walk->byte & (max - 1)));
	walk->byte += len;
	walk->left -= len;
	if (walk->byte == run_end)
		walk->run++;
	return len;
}

/* iommu_map_sg(), which may fail under test. */
static ssize_t iopt_iommu_map_sg(struct iommu_domain *domain,
				 unsigned long iova, struct scatterlist *sgl,
				 unsigned int n, int prot)
{
	if (iommufd_should_fail())
		return -ENOMEM;
	return iommu_map_sg(domain, iova, sgl, n, prot);
}

/* Runs given to one iommu_map_sg(): a page of scatterlist entries. */
#define IOPT_MAP_SG_ENTS	(PAGE_SIZE / sizeof(struct scatterlist))
/* The most one entry takes: its length is an unsigned int. */
#define IOPT_MAP_SG_MAX		SZ_1G

/* iommu_map(), which may fail under test. */
static int iopt_iommu_map(struct iommu_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t size, int prot)
{
	if (iommufd_should_fail())
		return -ENOMEM;
	return iommu_map(domain, iova, paddr, size, prot);
}

/*
 * Map page by page (IOMMU_OPTION_HUGE_PAGES off): iommu_map_sg() would
 * merge contiguous pages into larger IOMMU pages.
 */
static int iopt_pages_map_small(struct iopt_fill *fill,
				struct iommu_domain *domain, unsigned long iova,
				unsigned long byte, unsigned long length,
				int prot)
{
	unsigned long done = 0, len;
	struct iopt_pages_walk walk;
	unsigned int offset;
	struct page *page;
	int rc;

	iopt_pages_walk_start(&walk, fill, byte, length);
	while ((len = iopt_pages_walk_next(&walk, PAGE_SIZE, &page, &offset))) {
		rc = iopt_iommu_map(domain, iova + done,
				    page_to_phys(page) + offset, len, prot);
		if (rc) {
			if (done)
				WARN_ON(iommu_unmap(domain, iova, done) !=
					done);
			return rc;
		}
		done += len;
		cond_resched();
	}
	return 0;
}

/**
 * iopt_pages_map() - map part of a fill into a page table
 * @fill: the caller's fill, whose runs do not change while it holds it
 * @domain: the page table
 * @iova: where to map it
 * @byte: the offset in the fill's pages of the first byte to map, inside
 *	its range
 * @length: the number of bytes
 * @prot: IOMMU_READ and/or IOMMU_WRITE
 * @large_pages: map physically contiguous memory with the largest IOMMU
 *	pages it allows; else no IOMMU page is larger than PAGE_SIZE
 *
 * With large pages, the runs go to iommu_map_sg() a page of scatterlist
 * entries at a time, which maps each run with as few IOMMU pages as it
 * can and syncs the IOTLB once.
 *
 * Context: Process context; may sleep.
 *
 * Return: 0, -ENOMEM, or an error of the IOMMU driver's map; on failure
 * nothing is mapped.
 */
int iopt_pages_map(struct iopt_fill *fill, struct iommu_domain *domain,
		   unsigned long iova, unsigned long byte, unsigned long length,
		   int prot, bool large_pages)
{
	unsigned long done = 0, batch, len, ents;
	struct iopt_pages_walk walk;
	struct scatterlist *sgl;
	unsigned int offset, n;
	struct page *page;
	ssize_t mapped;
	int rc = 0;

	if (!large_pages)
		return iopt_pages_map_small(fill, domain, iova, byte, length,
					    prot);
	/* Pieces: at most one a run, plus one for each IOPT_MAP_SG_MAX. */
	ents = min(IOPT_MAP_SG_ENTS, fill->nr_runs + length / IOPT_MAP_SG_MAX);
	sgl = kmalloc_array(ents, sizeof(*sgl), GFP_KERNEL);
	if (!sgl)
		return -ENOMEM;
	iopt_pages_walk_start(&walk, fill, byte, length);
	while (walk.left) {
		sg_init_table(sgl, ents);
		n = 0;
		batch = 0;
		while (n < ents &&
		       (len = iopt_pages_walk_next(&walk, IOPT_MAP_SG_MAX,
						   &page, &offset))) {
			sg_set_page(&sgl[n++], page, len, offset);
			batch += len;
		}
		sg_mark_end(&sgl[n - 1]);
		mapped = iopt_iommu_map_sg(domain, iova + done, sgl, n, prot);
		if (mapped < 0) {
			rc = mapped;
			if (done)
				WARN_ON(iommu_unmap(domain, iova, done) !=
					done);
			break;
		}
		/* iommu_map_sg() maps all or nothing. */
		WARN_ON(mapped != batch);
		done += batch;
		cond_resched();
	}
	kfree(sgl);
	return rc;
}

static struct iopt_access_pin *
iopt_pages_find_access_pin(struct iopt_pages *pages,
			   const struct iopt_pin_id *id, unsigned long first,
			   unsigned long last)
{
	struct interval_tree_node *node;
	struct iopt_access_pin *pin;

	for (node = interval_tree_iter_first(&pages->access_itree, first,
					     first);
	     node; node = interval_tree_iter_next(node, first, first)) {
		pin = container_of(node, struct iopt_access_pin, node);
		if (node->start == first && node->last == last &&
		    pin->id.area == id->area && pin->id.owner == id->owner &&
		    pin->id.iova == id->iova &&
		    pin->id.iova_last == id->iova_last)
			return pin;
	}
	return NULL;
}

/*
 * Take pages [first, last] out of @access_pages; those no fill holds are
 * unpinned.  Returns the number unpinned, to uncharge.
 */
static unsigned long iopt_pages_release_held(struct iopt_pages *pages,
					     unsigned long first,
					     unsigned long last)
{
	unsigned long i, unpinned = 0;
	struct page *page;

	for (i = first; ; i++) {
		page = xa_erase(&pages->access_pages, i);
		if (page) {
			pages->nr_access_pages--;
			if (!iopt_pages_fill_at(pages, i)) {
				unpin_user_pages_dirty_lock(&page, 1,
							    pages->writable);
				unpinned++;
			}
		}
		if (i == last)
			break;
		if (!((i + 1 - first) % IOPT_PIN_BATCH))
			cond_resched();
	}
	return unpinned;
}

/*
 * Release the pages of [first, last] that no access pin covers: after one
 * was removed, or to unwind one that was never inserted.
 */
static void iopt_pages_release_uncovered(struct iopt_pages *pages,
					 unsigned long first,
					 unsigned long last)
{
	struct interval_tree_node *node;
	unsigned long cur = first, unpinned = 0;

	lockdep_assert_held(&pages->mutex);

	/* In order of start; access pins may overlap each other. */
	for (node = interval_tree_iter_first(&pages->access_itree, first,
					     last);
	     node; node = interval_tree_iter_next(node, first, last)) {
		if (node->start > cur)
			unpinned += iopt_pages_release_held(pages, cur,
							    node->start - 1);
		if (node->last >= last)
			goto out;
		cur = max(cur, node->last + 1);
	}
	unpinned += iopt_pages_release_held(pages, cur, last);
out:
	iopt_pages_unaccount(pages, unpinned);
}

/*
 * Put the @n pages of @page, the pages from index @index on, in
 * @access_pages.  Returns how many were stored: fewer than @n when memory
 * ran out.
 */
static unsigned long iopt_pages_store_held(struct iopt_pages *pages,
					   unsigned long index,
					   struct page **page, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (xa_is_err(xa_store(&pages->access_pages, index + i,
				       page[i], GFP_KERNEL_ACCOUNT)))
			break;
		pages->nr_access_pages++;
	}
	return i;
}

/*
 * Hold pages [first, last] for an access pin not inserted yet: put those
 * not held already in @access_pages, pinning and charging them if not
 * filled.  Pins straight into @out, which has room for the range.  On
 * failure, nothing changed.
 */
static int iopt_pages_hold(struct iopt_pages *pages, unsigned long first,
			   unsigned long last, struct page **out)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long cur = first, held, n, stored;
	struct iopt_fill *fill;
	struct page **batch;
	long got;
	int rc;

	lockdep_assert_held(&pages->mutex);

	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	while (cur <= last) {
		held = cur;
		if (!xa_find(&pages->access_pages, &held, last, XA_PRESENT))
			held = last + 1;
		if (held == cur) {
			/* Held by an access already: nothing to do */
			if (!(++cur % IOPT_PIN_BATCH))
				cond_resched();
			continue;
		}
		/* [cur, held - 1]: pages no access holds; split by fills */
		batch = out + (cur - first);
		fill = iopt_pages_fill_at(pages, cur);
		if (fill) {
			n = min3(held - 1, fill->node.last,
				 cur + IOPT_PIN_BATCH - 1) - cur + 1;
			iopt_fill_pages(fill, cur, n, batch);
			got = n;
		} else {
			n = min3(iopt_pages_next_held(pages, cur, held - 1),
				 held, cur + pages->pin_batch) - cur;
			got = iopt_pages_pin_charged(pages, cur, n, batch,
						     gup_flags);
			if (got < 0) {
				rc = got;
				goto err_release;
			}
		}
		stored = iopt_pages_store_held(pages, cur, batch, got);
		cur += stored;
		if (stored < got) {
			if (!fill) {
				unpin_user_pages(batch + stored, got - stored);
				iopt_pages_unaccount(pages, got - stored);
			}
			rc = -ENOMEM;
			goto err_release;
		}
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto err_release;
		}
		cond_resched();
	}
	return 0;

err_release:
	/* What this call stored: the pages no access pin covers. */
	if (cur > first)
		iopt_pages_release_uncovered(pages, first, cur - 1);
	return rc;
}

/**
 * iopt_pages_access_pin() - pin pages for an access
 * @pages: the memory
 * @id: the pin call, the access and the area it reaches the memory through
 * @first: the index of the first page
 * @last: the index of the last page
 * @out: receives the last - first + 1 pages
 *
 * Pages no page table or access holds are pinned and charged; the others
 * are not pinned again.  The pages stay until iopt_pages_access_unpin()
 * with the same @id and range.
 *
 * Context: Process context; may sleep.  Takes the pages' mutex.
 *
 * Return: 0; -ENOMEM beyond RLIMIT_MEMLOCK or for want of memory; -EFAULT
 * when the memory is gone; -EINTR on a fatal signal; -EOVERFLOW when the
 * same pin is held UINT_MAX times already.
 */
int iopt_pages_access_pin(struct iopt_pages *pages,
			  const struct iopt_pin_id *id, unsigned long first,
			  unsigned long last, struct page **out)
{
	struct iopt_access_pin *pin;
	unsigned long i;
	int rc = 0;

	mutex_lock(&pages->mutex);
	pin = iopt_pages_find_access_pin(pages, id, first, last);
	if (pin) {
		if (pin->users == UINT_MAX) {
			rc = -EOVERFLOW;
			goto out_unlock;
		}
		pin->users++;
	} else {
		pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
		if (!pin) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		rc = iopt_pages_hold(pages, first, last, out);
		if (rc) {
			kfree(pin);
			goto out_unlock;
		}
		pin->node.start = first;
		pin->node.last = last;
		pin->id = *id;
		pin->users = 1;
		interval_tree_insert(&pin->node, &pages->access_itree);
	}
	for (i = 0; i <= last - first; i++) {
		out[i] = xa_load(&pages->access_pages, first + i);
		if (!((i + 1) % IOPT_PIN_BATCH))
			cond_resched();
	}
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_access_pinned() - is there an access pin to drop?
 * @pages: the memory
 * @id: the pin given to iopt_pages_access_pin()
 * @first: the index of the first page given to it
 * @last: the index of the last page given to it
 *
 * Return: true when iopt_pages_access_unpin() may be called with the same
 * arguments.
 */
bool iopt_pages_access_pinned(struct iopt_pages *pages,
			      const struct iopt_pin_id *id,
			      unsigned long first, unsigned long last)
{
	bool found;

	mutex_lock(&pages->mutex);
	found = iopt_pages_find_access_pin(pages, id, first, last);
	mutex_unlock(&pages->mutex);
	return found;
}

/**
 * iopt_pages_access_unpin() - undo iopt_pages_access_pin()
 * @pages: the memory
 * @id: the pin given to iopt_pages_access_pin()
 * @first: the index of the first page given to it
 * @last: the index of the last page given to it
 *
 * Pages nothing holds any more are unpinned and uncharged.
 *
 * Context: Process context; may sleep.  Takes the pages' mutex.
 *
 * Return: 0, or -ENOENT, changing nothing, when there is no such pin.
 */
int iopt_pages_access_unpin(struct iopt_pages *pages,
			    const struct iopt_pin_id *id, unsigned long first,
			    unsigned long last)
{
	struct iopt_access_pin *pin;
	int rc = 0;

	mutex_lock(&pages->mutex);
	pin = iopt_pages_find_access_pin(pages, id, first, last);
	if (!pin) {
		rc = -ENOENT;
	} else if (!--pin->users) {
		interval_tree_remove(&pin->node, &pages->access_itree);
		kfree(pin);
		iopt_pages_release_uncovered(pages, first, last);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/*
 * Copy between @data and @len bytes of @page from @offset; returns
 * nothing, as the page is held.
 */
static void iopt_copy_page(struct page *page, unsigned long offset,
			   void *data, unsigned long len, bool write)
{
	if (write)
		memcpy_to_page(page, offset, data, len);
	else
		memcpy_from_page(data, page, offset, len);
}

/**
 * iopt_pages_rw() - copy between a kernel buffer and the memory
 * @pages: the memory
 * @byte: the offset in @pages of the first byte
 * @data: the kernel buffer
 * @len: the number of bytes
 * @write: copy @data to the memory, rather than from it
 *
 * Through the pinned pages where there are; any other page is pinned for
 * the copy only, from the mm that mapped the memory, and not charged.
 *
 * Context: Process context, or a kernel thread; may sleep.  Takes the
 * pages' mutex.
 *
 * Return: 0, or -EFAULT when a page is gone.
 */
int iopt_pages_rw(struct iopt_pages *pages, unsigned long byte, void *data,
		  unsigned long len, bool write)
{
	unsigned long index, offset, chunk;
	struct page *page;
	int rc = 0;
	long got;

	mutex_lock(&pages->mutex);
	while (len) {
		index = byte >> PAGE_SHIFT;
		offset = offset_in_page(byte);
		chunk = min(len, PAGE_SIZE - offset);
		page = iopt_pages_held_page(pages, index);
		if (page) {
			iopt_copy_page(page, offset, data, chunk, write);
		} else {
			/* Pinned for the copy only */
			got = iopt_pages_gup(pages, index, 1, &page,
					     write ? FOLL_WRITE : 0);
			if (got < 0) {
				rc = got;
				break;
			}
			iopt_copy_page(page, offset, data, chunk, write);
			unpin_user_page_range_dirty_lock(page, 1, write);
		}
		data += chunk;
		byte += chunk;
		len -= chunk;
		cond_resched();
	}
	mutex_unlock(&pages->mutex);
	return rc;
}
