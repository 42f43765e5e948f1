#!/usr/bin/env python3
"""Tests of testbed/results.py on made-up logs: it must count results,
catch kernel splats and unfinished runs, and close with the count line."""
import os
import subprocess
import sys
import tempfile
import unittest

RESULTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'results.py')

GOOD_TAP = '''@@ PLAN prog_a prog_b
@@ BEGIN prog_a
TAP version 13
1..3
ok 1 global.one
# a comment: not ok 9 is not a result
ok 2 global.two # SKIP no device
not ok 3 global.three
@@ END prog_a 1
@@ BEGIN prog_b
ok 1 fix.t
@@ END prog_b 0
@@ KMEMLEAK
@@ KMEMLEAK END
@@ DONE
'''

CLEAN_CONSOLE = '''[    1.0] Run /init as init process
[    2.0] testbed: BEGIN prog_a
[    2.1] DMAR: [DMA Write NO_PASID] Request device [00:04.0] fault addr 0x1000
[    2.2] testbed: END prog_a 1
'''


ALLOWED = """# made up
virtio prog_a: global.two
any p: fix.t1
bench guest: kmemleak
"""


def run(tap, console, lint=None, config=None):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, 'allowed'), 'w') as f:
            f.write(ALLOWED)
        if tap is not None:
            with open(os.path.join(d, 'tap.log'), 'w') as f:
                f.write(tap)
        if console is not None:
            with open(os.path.join(d, 'console.log'), 'w') as f:
                f.write(console)
        args = [sys.executable, RESULTS]
        if lint is not None:
            path = os.path.join(d, 'lint.tap')
            if lint:
                with open(path, 'w') as f:
                    f.write(lint)
            args += ['--tap', 'lint=' + path]
        args += ['--allowed-skips', os.path.join(d, 'allowed')]
        if config:
            args += ['--config', config]
        p = subprocess.run(args + [d], capture_output=True, text=True)
        return p.returncode, p.stdout.strip().split('\n')


class Results(unittest.TestCase):
    def test_failure_says_why(self):
        """A failed test's note carries its assertion lines, and only
        its own."""
        tap = GOOD_TAP.replace(
            'not ok 3 global.three',
            '#  RUN           global.three ...\n'
            '# t.c:12:three:Expected 0 (0) == errno (22)\n'
            '# three: Test terminated by assertion\n'
            '#          FAIL  global.three\n'
            'not ok 3 global.three')
        rc, out = run(tap, CLEAN_CONSOLE, config='virtio')
        self.assertIn('FAIL  prog_a: global.three  '
                      '(t.c:12:three:Expected 0 (0) == errno (22))', out)
        self.assertEqual(rc, 1)

    def test_counts(self):
        rc, out = run(GOOD_TAP, CLEAN_CONSOLE, config='virtio')
        self.assertEqual(out[-1], '2 passed, 1 failed, 1 skipped')
        self.assertIn('FAIL  prog_a: global.three', out)
        self.assertIn('SKIP  prog_a: global.two  (no device)', out)
        self.assertEqual(rc, 1)

    def test_skip_not_allowed(self):
        """A skip fails unless allowed for the run's configuration."""
        tap = GOOD_TAP.replace('not ok 3', 'ok 3').replace(
            'prog_a 1', 'prog_a 0')
        rc, out = run(tap, CLEAN_CONSOLE, config='intel')
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  prog_a: global.two  (skipped: no device; not '
                      'in testbed/allowed-skips for this configuration)', out)
        rc, out = run(tap, CLEAN_CONSOLE, config='intel,virtio')
        self.assertEqual(rc, 0)

    def test_plan_mismatch(self):
        """Fewer results than the TAP plan promised is a failure."""
        tap = ('@@ PLAN p\n@@ BEGIN p\n1..3\nok 1 a\nok 2 b\n'
               '@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n')
        rc, out = run(tap, CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  p: 2 results for a plan of 3', out)
        rc, out = run(tap, CLEAN_CONSOLE,
                      lint='TAP version 13\n1..2\nok 1 a\n')
        self.assertIn('FAIL  lint: 1 results for a plan of 2', out)

    def test_program_never_ran(self):
        """Every program of the runner's plan must begin and end."""
        tap = '@@ PLAN p q\n@@ BEGIN p\nok 1 a\n@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n'
        rc, out = run(tap, CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  q: never ran', out)
        rc, out = run('@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n', CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  guest: no plan of the programs to run', out)

    def test_several_runs(self):
        """Each run is read with its own tags and named after its dir."""
        tap = GOOD_TAP.replace('not ok 3', 'ok 3').replace(
            'prog_a 1', 'prog_a 0')
        with tempfile.TemporaryDirectory() as d:
            for name in ('run', 'run-virtio'):
                os.mkdir(os.path.join(d, name))
                for f, text in (('tap.log', tap),
                                ('console.log', CLEAN_CONSOLE)):
                    with open(os.path.join(d, name, f), 'w') as fd:
                        fd.write(text)
            with open(os.path.join(d, 'allowed'), 'w') as f:
                f.write(ALLOWED)
            p = subprocess.run(
                [sys.executable, RESULTS, '--allowed-skips',
                 os.path.join(d, 'allowed'), os.path.join(d, 'run=intel'),
                 os.path.join(d, 'run-virtio=virtio')],
                capture_output=True, text=True)
            out = p.stdout.strip().split('\n')
        self.assertEqual(p.returncode, 1)
        self.assertIn('SKIP  run-virtio/prog_a: global.two  (no device)',
                      out)
        self.assertTrue(any(ln.startswith('FAIL  run/prog_a: global.two')
                            for ln in out))
        self.assertEqual(out[-1], '6 passed, 1 failed, 1 skipped')

    def test_not_ok_with_directive(self):
        """not ok fails whatever its directive says."""
        for directive in ('TODO later', 'XFAIL known', 'SKIP why'):
            tap = ('@@ PLAN p\n@@ BEGIN p\nok 1 a\nnot ok 2 b # %s\n'
                   '@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n' % directive)
            rc, out = run(tap, CLEAN_CONSOLE)
            self.assertEqual(rc, 1, directive)
            self.assertEqual(out[-1], '1 passed, 1 failed, 0 skipped')

    def test_harness_skip_without_name(self):
        tap = ('@@ PLAN p\n@@ BEGIN p\n#  RUN           fix.t1 ...\n'
               '#      SKIP      no slot\nok 1 # SKIP no slot\n'
               '#  RUN           fix.t2 ...\nok 2 fix.t2\n'
               '@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n')
        rc, out = run(tap, CLEAN_CONSOLE)
        self.assertIn('SKIP  p: fix.t1  (no slot)', out)
        self.assertIn('PASS  p: fix.t2', out)
        self.assertEqual(out[-1], '1 passed, 0 failed, 1 skipped')
        self.assertEqual(rc, 0)

    def test_all_pass(self):
        tap = GOOD_TAP.replace('not ok 3', 'ok 3').replace(
            'prog_a 1', 'prog_a 0')
        rc, out = run(tap, CLEAN_CONSOLE, config='virtio')
        self.assertEqual(out[-1], '3 passed, 0 failed, 1 skipped')
        self.assertEqual(rc, 0)

    def test_splats(self):
        tap = '@@ PLAN p\n@@ BEGIN p\nok 1 t\n@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n'
        for splat in (
                'WARNING: CPU: 1 PID: 77 at drivers/iommu/x.c:10 f+0x1/0x2',
                'BUG: KASAN: use-after-free in foo+0x10/0x20',
                'BUG: sleeping function called from invalid context at x',
                'WARNING: possible circular locking dependency detected',
                'INFO: task p:77 blocked for more than 120 seconds.',
                'general protection fault, probably for non-canonical',
                'Oops: 0000 [#1] PREEMPT SMP',
                'BUG kmalloc-64 (Not tainted): Redzone overwritten',
                'BUG iommufd_pages (Tainted: G        W         ): Poison '
                'overwritten',
                'list_del corruption. next->prev should be ffff8880, but '
                'was dead000000000122',
                'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) '
                '== 0)',
                'kmemleak: Kernel memory leak detector disabled'):
            console = ('[ 1.0] testbed: BEGIN p\n[ 1.5] %s\n'
                       '[ 2.0] testbed: END p 0\n' % splat)
            rc, out = run(tap, console)
            self.assertEqual(rc, 1, splat)
            self.assertIn('FAIL  kernel splat during p: ' + splat, out)
            self.assertEqual(out[-1], '1 passed, 1 failed, 0 skipped')

    def test_expected_warning(self):
        tap = '@@ PLAN p\n@@ BEGIN p\nok 1 t\n@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n'
        warn = ('[ 1.5] WARNING: CPU: 1 PID: 77 at drivers/iommu/iommufd/'
                'access.c:300 iommufd_access_detach+0x8d/0xa0\n')
        other = ('[ 1.6] WARNING: CPU: 1 PID: 77 at drivers/iommu/iommufd/'
                 'pages.c:10 iopt_unpin+0x1/0x2\n')
        begin = '[ 1.0] testbed: BEGIN p\n'
        expect = '[ 1.1] testbed: EXPECT WARN iommufd_access_detach\n'
        end = '[ 1.9] testbed: EXPECT END\n'
        done = '[ 2.0] testbed: END p 0\n'
        # Expected, and seen: no failure.
        rc, out = run(tap, begin + expect + warn + end + done)
        self.assertEqual((rc, out[-1]), (0, '1 passed, 0 failed, 0 skipped'))
        # The same warning outside the bracket is a splat.
        rc, out = run(tap, begin + expect + end + warn + done)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  expected kernel warning in iommufd_access_detach'
                      ' not seen during p', out)
        self.assertIn('FAIL  kernel splat during p: ' + warn[7:-1], out)
        # Another function's warning inside the bracket is a splat.
        rc, out = run(tap, begin + expect + warn + other + end + done)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  kernel splat during p: ' + other[7:-1], out)
        self.assertEqual(out[-1], '1 passed, 1 failed, 0 skipped')
        # A bracket the test never closed ends with its program.
        rc, out = run(tap, begin + expect + done + warn)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  expected kernel warning in iommufd_access_detach'
                      ' not seen during p', out)
        self.assertIn('FAIL  kernel splat during between tests: ' +
                      warn[7:-1], out)

    def test_kmemleak(self):
        leak = '''unreferenced object 0xffff888004a1b200 (size 64):
  comm "iommufd", pid 80, jiffies 4294901234 (age 8.100s)
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace:
    [<000000001f2e3d4c>] __kmem_cache_alloc_node+0x1c0/0x2a0
    [<000000005a6b7c8d>] kmalloc_trace+0x26/0x60
    [<00000000aabbccdd>] iopt_alloc_area+0x20/0x90
    [<0000000011223344>] iommufd_ioas_map+0x120/0x1c0
unreferenced object 0xffff888004a1b300 (size 4096):
  comm "swapper", pid 1, jiffies 4294901000 (age 9.000s)
  backtrace:
    [<000000001f2e3d4c>] __kmalloc+0x40/0x90
'''
        tap = ('@@ PLAN p\n@@ BEGIN p\nok 1 t\n@@ END p 0\n@@ KMEMLEAK\n' +
               leak + '@@ KMEMLEAK END\n@@ DONE\n')
        rc, out = run(tap, CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  kmemleak: 64-byte object leaked, allocated by '
                      'iopt_alloc_area+0x20/0x90  (in iommufd)', out)
        self.assertIn('FAIL  kmemleak: 4096-byte object leaked, allocated '
                      'by an unknown caller  (in swapper)', out)
        self.assertEqual(out[-1], '1 passed, 2 failed, 0 skipped')

    def test_no_kmemleak_scan(self):
        tap = '@@ PLAN p\n@@ BEGIN p\nok 1 t\n@@ END p 0\n%s@@ DONE\n'
        rc, out = run(tap % '', CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  guest: no kmemleak scan at the end of the run '
                      '(CONFIG_DEBUG_KMEMLEAK, debugfs)', out)
        rc, out = run(tap % '@@ KMEMLEAK OFF\n', CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  guest: kmemleak was off or turned itself off; '
                      'no leak was looked for', out)
        self.assertEqual(out[-1], '1 passed, 1 failed, 0 skipped')
        # A kernel built without kmemleak: allowed only where it is meant
        rc, out = run(tap % '@@ KMEMLEAK NOT BUILT\n', CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  guest: kmemleak  (the kernel was built without '
                      'it)', out)
        rc, out = run(tap % '@@ KMEMLEAK NOT BUILT\n', CLEAN_CONSOLE,
                      config='bench')
        self.assertEqual(rc, 0)
        self.assertIn('SKIP  guest: kmemleak  (the kernel was built without '
                      'it)', out)

    def test_unfinished(self):
        rc, out = run('@@ PLAN p\n@@ BEGIN p\nok 1 t\n', CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  p: did not finish (guest stopped)', out)
        self.assertIn('FAIL  guest: the test run did not finish', out)

    def test_no_output(self):
        rc, out = run(None, None)
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1], '0 passed, 2 failed, 0 skipped')

    def test_crash_and_timeout(self):
        tap = ('@@ PLAN a b c\n@@ BEGIN a\n@@ END a 139\n@@ BEGIN b\n'
               'ok 1 t\n@@ END b 137\n'
               '@@ BEGIN c\n@@ END c 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n')
        rc, out = run(tap, CLEAN_CONSOLE)
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  a: exited with status 139', out)
        self.assertIn('FAIL  b: killed at its time limit', out)
        self.assertIn('FAIL  c: ran no test', out)

    def test_lint(self):
        tap = '@@ PLAN p\n@@ BEGIN p\nok 1 t\n@@ END p 0\n@@ KMEMLEAK\n@@ KMEMLEAK END\n@@ DONE\n'
        rc, out = run(tap, CLEAN_CONSOLE, lint='ok 1 a\nnot ok 2 b\n')
        self.assertEqual(rc, 1)
        self.assertIn('FAIL  lint: b', out)
        rc, out = run(tap, CLEAN_CONSOLE, lint='')
        self.assertIn('FAIL  lint: did not run to the end', out)


if __name__ == '__main__':
    unittest.main()
