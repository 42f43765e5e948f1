#!/usr/bin/env python3
"""Read a test run's logs and print its results.

  results.py [--tap NAME=FILE]... RUNDIR

RUNDIR holds tap.log (the guest runner's stream: kselftest TAP between
"@@ BEGIN prog" / "@@ END prog status" markers, then "@@ DONE") and
console.log (the guest's console: the kernel log).  Each --tap adds the
results of a host-side TAP file (the lint, the rig's own tests), named
after NAME; a missing or empty file is a failure.

Prints a line per test, then, last, "N passed, N failed, N skipped".
Exits 1 on any failed test, on a guest that did not finish, and on any
kernel splat in console.log; a splat counts as a failed test named after
its first line and the program that was running.
"""
import os
import re
import sys

RESULT = re.compile(r'^(not ok|ok) \d+ ?(.*?)(?:\s*#\s*(SKIP|TODO|XFAIL)\b\s*(.*))?$')
# 6.1's kselftest harness leaves the name out of a skipped test's result
# line: it is on the "#  RUN name ..." line before it.
RUN = re.compile(r'^#\s+RUN\s+(\S+) \.\.\.$')
BEGIN = re.compile(r'^@@ BEGIN (\S+)$')
END = re.compile(r'^@@ END (\S+) (\d+)$')

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
)]
KTIME = re.compile(r'^\[\s*\d+\.\d+\]\s?')
MARK = re.compile(r'testbed: (BEGIN|END) (\S+)')


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace').replace('\r', '')


def parse_tap(text, prefix, results):
    """Add (status, name, note) for each TAP result line in text."""
    count = 0
    running = None
    for line in text.split('\n'):
        m = RUN.match(line.strip())
        if m:
            running = m.group(1)
            continue
        m = RESULT.match(line.strip())
        if not m:
            continue
        ok, name, directive, reason = m.groups()
        name = name or running or 'unnamed test'
        running = None
        count += 1
        if directive == 'SKIP':
            results.append(('SKIP', prefix + name, reason or ''))
        elif ok == 'ok' or directive in ('TODO', 'XFAIL'):
            results.append(('PASS', prefix + name, ''))
        else:
            results.append(('FAIL', prefix + name, ''))
    return count


def parse_guest(rundir, results):
    tap_path = os.path.join(rundir, 'tap.log')
    if not os.path.exists(tap_path):
        results.append(('FAIL', 'guest: no test output (did it boot?)', ''))
        return
    prog = None
    body = []
    done = False
    for line in read(tap_path).split('\n'):
        line = line.strip()
        m = BEGIN.match(line)
        if m:
            prog, body = m.group(1), []
            continue
        m = END.match(line)
        if m and prog:
            status = int(m.group(2))
            before = len(results)
            n = parse_tap('\n'.join(body), prog + ': ', results)
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
        if prog:
            body.append(line)
    if prog:
        parse_tap('\n'.join(body), prog + ': ', results)
        results.append(('FAIL', f'{prog}: did not finish (guest stopped)',
                        ''))
    if not done:
        results.append(('FAIL', 'guest: the test run did not finish', ''))


def parse_console(rundir, results):
    path = os.path.join(rundir, 'console.log')
    if not os.path.exists(path):
        results.append(('FAIL', 'guest: no console log', ''))
        return
    running = 'boot'
    for line in read(path).split('\n'):
        msg = KTIME.sub('', line.strip())
        m = MARK.search(msg)
        if m:
            running = m.group(2) if m.group(1) == 'BEGIN' else 'between tests'
            continue
        if any(p.search(msg) for p in SPLATS):
            results.append(('FAIL', f'kernel splat during {running}: {msg}',
                            ''))


def main():
    args = sys.argv[1:]
    taps = []
    while len(args) >= 2 and args[0] == '--tap' and '=' in args[1]:
        taps.append(args[1].split('=', 1))
        args = args[2:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rundir = args[0]
    results = []
    for name, path in taps:
        if not os.path.exists(path):
            results.append(('FAIL', f'{name}: did not run to the end', ''))
        elif not parse_tap(read(path), f'{name}: ', results):
            results.append(('FAIL', f'{name}: reported nothing', ''))
    parse_guest(rundir, results)
    parse_console(rundir, results)
    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
    for status, name, note in results:
        counts[status] += 1
        print(f'{status}  {name}' + (f'  ({note})' if note else ''))
    print(f'logs: {os.path.abspath(rundir)}')
    print(f'{counts["PASS"]} passed, {counts["FAIL"]} failed, '
          f'{counts["SKIP"]} skipped')
    sys.exit(1 if counts['FAIL'] or not counts['PASS'] else 0)


if __name__ == '__main__':
    main()
