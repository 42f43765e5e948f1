#!/usr/bin/env python3
"""Read a test run's logs and print its results.

  results.py [--tap NAME=FILE]... [--config TAG,...]
             [--allowed-skips FILE] RUNDIR[=TAG,...]...

RUNDIR holds tap.log (the guest runner's stream: "@@ PLAN prog ...", then
kselftest TAP between "@@ BEGIN prog" / "@@ END prog status" markers, then
"@@ DONE") and console.log (the guest's console: the kernel log).  Each
--tap adds the results of a host-side TAP file (the lint, the rig's own
tests), named after NAME; a missing or empty file is a failure.

A run passes only when it is complete: every program of the plan began
and ended, and each TAP stream has as many results as its "1..N" plan
says.  "not ok" fails whatever its directive.  A skipped test fails unless
testbed/allowed-skips (or --allowed-skips FILE) allows it for one of the
configuration's TAGs (--config, e.g. "intel" or "virtio,nogroup", or
RUNDIR=TAGS for one run; "any" always applies).  With several RUNDIRs,
each result is named after its run's directory.

Prints a line per test, then, last, "N passed, N failed, N skipped".
Exits 1 on any failed test, on a guest that did not finish, and on any
kernel splat in console.log; a splat counts as a failed test named after
its first line and the program that was running.  A test may expect a
warning: see EXPECT below.
"""
import os
import re
import sys

RESULT = re.compile(r'^(not ok|ok) \d+ ?(.*?)(?:\s*#\s*(SKIP|TODO|XFAIL)\b\s*(.*))?$')
# 6.1's kselftest harness leaves the name out of a skipped test's result
# line: it is on the "#  RUN name ..." line before it.
RUN = re.compile(r'^#\s+RUN\s+(\S+) \.\.\.$')
BEGIN = re.compile(r'^@@ BEGIN (\S+)$')
PLAN = re.compile(r'^@@ PLAN ?(.*)$')
TAP_PLAN = re.compile(r'^1\.\.(\d+)')
ALLOWED_SKIPS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'allowed-skips')
END = re.compile(r'^@@ END (\S+) (\d+)$')
LEAK = re.compile(r'^unreferenced object (0x[0-9a-f]+) \(size (\d+)\)')
LEAK_FRAME = re.compile(r'^\[<[0-9a-f]+>\] (\S+)')
# Allocators a leak's backtrace passes through before naming its caller.
ALLOCATORS = re.compile(r'^(kmemleak_|slab_post_alloc_hook|kmem_cache_alloc|'
                        r'__kmem_cache_alloc|__kmalloc|kmalloc|kzalloc|'
                        r'kvmalloc|__kvmalloc|kvzalloc|kcalloc|krealloc|'
                        r'kvrealloc|'
                        r'__vmalloc|vmalloc|vzalloc|kmemdup|kstrdup|'
                        r'kasprintf|kvasprintf|mempool_alloc|pcpu_alloc|'
                        r'mas_alloc_nodes|mas_preallocate|'
                        r'__alloc_pages|alloc_pages|xas_alloc|xas_nomem|'
                        r'__xa_alloc|xa_alloc|__xa_insert|xa_store|'
                        r'__xa_store|__xa_cmpxchg|xas_create|xas_store)')
LEAK_COMM = re.compile(r'^comm "([^"]*)"')

# First lines of the kernel's reports of a bug (the rest of each report is
# indented or follows a "cut here" line).
SPLATS = [re.compile(p) for p in (
    r'WARNING: ',                       # WARN*(), lockdep, RCU lockdep
    r'BUG: ',                           # BUG(), KASAN, sleep in atomic, ...
    r'kernel BUG at ',
    r'Oops',
    r'general protection fault',
    r'Unable to handle kernel',
    r'Kernel panic',
    r'UBSAN: ',
    r'INFO: task .* blocked for more than',   # hung task
    r'INFO: rcu_\w+ (self-)?detected stall',
    r'rcu: INFO: .* detected stalls',
    r'watchdog: BUG: soft lockup',
    r'sleeping function called from invalid context',
    r'possible circular locking dependency',
    r'inconsistent lock state',
    r'possible recursive locking',
    r'suspicious RCU usage',
    r'BUG \S+ \((Not tainted|Tainted: [^)]*)\): ',  # SLUB debug: kmalloc-64...
    r'list_(add|del) corruption',       # DEBUG_LIST
    r'page dumped because: ',           # DEBUG_VM page checks
    r'kmemleak: Kernel memory leak detector disabled',
)]
KTIME = re.compile(r'^\[\s*\d+\.\d+\]\s?')
MARK = re.compile(r'testbed: (BEGIN|END) (\S+)')
# A test that makes the kernel warn on purpose (a driver that breaks a
# rule of the API) brackets it with "testbed: EXPECT WARN <function>" and
# "testbed: EXPECT END": inside, a WARN*() report whose location is that
# function is expected and not a splat; any other splat still is, and a
# bracket with no such warning fails.
EXPECT = re.compile(r'testbed: EXPECT (WARN (\S+)|END)$')
WARN_AT = re.compile(r'^WARNING: CPU: \d+ PID: \d+ at \S+ ([\w.]+)\+0x')


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace').replace('\r', '')


def read_allowed_skips(path, tags):
    """The "prog: test" names (or "prog: *") allowed to skip under tags."""
    allowed = set()
    if not os.path.exists(path):
        return allowed
    for line in read(path).split('\n'):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        tag, name = line.split(None, 1)
        if tag == 'any' or tag in tags:
            allowed.add(name.strip())
    return allowed


def skip_allowed(name, allowed):
    prog = name.split(': ', 1)[0]
    return name in allowed or prog + ': *' in allowed


def parse_tap(text, prefix, results, allowed=frozenset()):
    """Add (status, name, note) for each TAP result line in text; a plan
    that does not match the results is a failure."""
    count = 0
    plan = None
    running = None
    said = []
    for line in text.split('\n'):
        m = TAP_PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = RUN.match(line.strip())
        if m:
            running = m.group(1)
            said = []
            continue
        if line.startswith('# ') and running and ':' in line:
            said.append(line[2:].strip())
            continue
        m = RESULT.match(line.strip())
        if not m:
            continue
        ok, name, directive, reason = m.groups()
        name = name or running or 'unnamed test'
        running = None
        why, said = said, []
        count += 1
        if ok == 'not ok':
            # What the test said before failing: its assertion lines
            why = '; '.join(l for l in why
                            if not l.endswith(('Test terminated by assertion',
                                               'FAIL'))
                            and 'Test failed at step' not in l)[-400:]
            note = f'not ok # {directive}' if directive else ''
            results.append(('FAIL', prefix + name,
                            '; '.join(x for x in (note, why) if x)))
        elif directive == 'SKIP' and not skip_allowed(prefix + name,
                                                      allowed):
            results.append(('FAIL', prefix + name,
                            f'skipped: {reason or "no reason"}; not in '
                            'testbed/allowed-skips for this configuration'))
        elif directive == 'SKIP':
            results.append(('SKIP', prefix + name, reason or ''))
        else:
            results.append(('PASS', prefix + name, ''))
    if plan is not None and plan != count:
        results.append(('FAIL', prefix + f'{count} results for a plan of '
                        f'{plan}', ''))
    return count


def parse_run(rundir, label, allowed, results):
    """The results of one boot of the test machine, named after label."""
    before = len(results)
    parse_guest(rundir, results, allowed)
    parse_console(rundir, results)
    if label:
        results[before:] = [(st, f'{label}/{name}', note)
                            for st, name, note in results[before:]]


def parse_guest(rundir, results, allowed=frozenset()):
    tap_path = os.path.join(rundir, 'tap.log')
    if not os.path.exists(tap_path):
        results.append(('FAIL', 'guest: no test output (did it boot?)', ''))
        return
    prog = None
    body = []
    done = False
    planned = None
    ended = []
    leaks = None
    scanned = False
    for line in read(tap_path).split('\n'):
        line = line.strip()
        m = PLAN.match(line)
        if m and planned is None:
            planned = m.group(1).split()
            continue
        m = BEGIN.match(line)
        if m:
            prog, body = m.group(1), []
            continue
        m = END.match(line)
        if m and prog:
            ended.append(prog)
            status = int(m.group(2))
            before = len(results)
            n = parse_tap('\n'.join(body), prog + ': ', results, allowed)
            failed = any(r[0] == 'FAIL' for r in results[before:])
            if status == 137:
                results.append(('FAIL', f'{prog}: killed at its time limit',
                                ''))
            elif status and not failed:
                results.append(('FAIL', f'{prog}: exited with status '
                                f'{status}', ''))
            elif not n:
                results.append(('FAIL', f'{prog}: ran no test', ''))
            prog = None
            continue
        if line == '@@ DONE':
            done = True
            continue
        if line == '@@ KMEMLEAK':
            leaks = []
            continue
        if line == '@@ KMEMLEAK NOT BUILT':
            if skip_allowed('guest: kmemleak', allowed):
                results.append(('SKIP', 'guest: kmemleak',
                                'the kernel was built without it'))
            else:
                results.append(('FAIL', 'guest: kmemleak', 'the kernel was '
                                'built without it'))
            scanned = True
            continue
        if line == '@@ KMEMLEAK OFF':
            results.append(('FAIL', 'guest: kmemleak was off or turned '
                            'itself off; no leak was looked for', ''))
            scanned = True
            continue
        if line == '@@ KMEMLEAK END':
            parse_leaks(leaks, results)
            leaks = None
            scanned = True
            continue
        if leaks is not None:
            leaks.append(line)
            continue
        if prog:
            body.append(line)
    if prog:
        parse_tap('\n'.join(body), prog + ': ', results, allowed)
        results.append(('FAIL', f'{prog}: did not finish (guest stopped)',
                        ''))
    if not done:
        results.append(('FAIL', 'guest: the test run did not finish', ''))
    if done and not scanned:
        results.append(('FAIL', 'guest: no kmemleak scan at the end of the '
                        'run (CONFIG_DEBUG_KMEMLEAK, debugfs)', ''))
    if planned is None:
        results.append(('FAIL', 'guest: no plan of the programs to run', ''))
        return
    for p in planned:
        if p not in ended and p != prog:
            results.append(('FAIL', f'{p}: never ran', ''))


def parse_leaks(lines, results):
    """A failure for each object kmemleak reports, named after the first
    function of its allocation backtrace that is not an allocator."""
    size = None
    caller = None
    comm = None

    def report():
        if size is not None:
            results.append(('FAIL', f'kmemleak: {size}-byte object leaked, '
                            f'allocated by {caller or "an unknown caller"}',
                            f'in {comm}' if comm else ''))
    for line in lines:
        m = LEAK.match(line)
        if m:
            report()
            size, caller, comm = m.group(2), None, None
            continue
        m = LEAK_COMM.match(line)
        if m and size is not None:
            comm = m.group(1)
            continue
        m = LEAK_FRAME.match(line)
        if m and size is not None and caller is None and \
                not ALLOCATORS.match(m.group(1)):
            caller = m.group(1)
    report()


def parse_console(rundir, results):
    path = os.path.join(rundir, 'console.log')
    if not os.path.exists(path):
        results.append(('FAIL', 'guest: no console log', ''))
        return
    running = 'boot'
    expected = None     # the function an expected warning names
    seen = 0            # warnings of it seen inside the bracket

    def end_expect():
        if expected is not None and not seen:
            results.append(('FAIL', f'expected kernel warning in {expected} '
                            f'not seen during {running}', ''))
    for line in read(path).split('\n'):
        msg = KTIME.sub('', line.strip())
        m = MARK.search(msg)
        if m:
            end_expect()
            expected = None
            running = m.group(2) if m.group(1) == 'BEGIN' else 'between tests'
            continue
        m = EXPECT.search(msg)
        if m:
            end_expect()
            expected, seen = m.group(2), 0
            continue
        m = WARN_AT.match(msg)
        if m and expected is not None and m.group(1) == expected:
            seen += 1
            continue
        if any(p.search(msg) for p in SPLATS):
            results.append(('FAIL', f'kernel splat during {running}: {msg}',
                            ''))
    end_expect()


def main():
    args = sys.argv[1:]
    taps = []
    tags = []
    skips_file = ALLOWED_SKIPS
    while len(args) >= 2 and args[0] in ('--tap', '--config',
                                         '--allowed-skips'):
        if args[0] == '--tap' and '=' in args[1]:
            taps.append(args[1].split('=', 1))
        elif args[0] == '--config':
            tags += [t for t in args[1].split(',') if t]
        elif args[0] == '--allowed-skips':
            skips_file = args[1]
        else:
            break
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    results = []
    for name, path in taps:
        if not os.path.exists(path):
            results.append(('FAIL', f'{name}: did not run to the end', ''))
        elif not parse_tap(read(path), f'{name}: ', results):
            results.append(('FAIL', f'{name}: reported nothing', ''))
    # RUNDIR, or RUNDIR=TAGS for a run of its own configuration; with
    # several runs each result is named after its run's directory.
    for arg in args:
        rundir, _, run_tags = arg.partition('=')
        run_tags = [t for t in run_tags.split(',') if t] or tags
        label = os.path.basename(os.path.normpath(rundir)) \
            if len(args) > 1 else ''
        parse_run(rundir, label, read_allowed_skips(skips_file, run_tags),
                  results)
    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
    for status, name, note in results:
        counts[status] += 1
        print(f'{status}  {name}' + (f'  ({note})' if note else ''))
    for arg in args:
        print(f'logs: {os.path.abspath(arg.partition("=")[0])}')
    print(f'{counts["PASS"]} passed, {counts["FAIL"]} failed, '
          f'{counts["SKIP"]} skipped')
    sys.exit(1 if counts['FAIL'] or not counts['PASS'] else 0)


if __name__ == '__main__':
    main()
