#!/usr/bin/env python3
"""Run the Python tests of the build and the test rig, writing TAP.

  unittest_tap.py OUT.tap DIR...

Discovers test_*.py in each DIR, runs them, prints and writes one TAP line
per test.  Exits 1 when a test failed.
"""
import sys
import unittest


class Tap(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tap = []

    def _add(self, test, ok, note=''):
        name = test.id()
        self.tap.append(f'{"ok" if ok else "not ok"} {len(self.tap) + 1} '
                        f'{name}{note}')

    def addSuccess(self, test):
        super().addSuccess(test)
        self._add(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._add(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self._add(test, False)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._add(test, True, f' # SKIP {reason}')


def main():
    out, dirs = sys.argv[1], sys.argv[2:]
    suite = unittest.TestSuite()
    for d in dirs:
        suite.addTests(unittest.defaultTestLoader.discover(d, top_level_dir=d))
    result = unittest.TextTestRunner(resultclass=Tap, verbosity=0).run(suite)
    with open(out, 'w') as f:
        f.write(f'TAP version 13\n1..{len(result.tap)}\n')
        f.write('\n'.join(result.tap) + '\n')
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
