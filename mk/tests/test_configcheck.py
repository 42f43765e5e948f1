#!/usr/bin/env python3
"""Tests of mk/configcheck.py: an option of a fragment that did not take
effect is named and fails the check."""
import os
import subprocess
import sys
import tempfile
import unittest

CHECK = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'configcheck.py')

CONFIG = '''CONFIG_A=y
CONFIG_B=m
# CONFIG_C is not set
CONFIG_S="text"
'''


class ConfigCheck(unittest.TestCase):
    def check(self, fragment):
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, '.config')
            frag = os.path.join(d, 'frag.config')
            with open(cfg, 'w') as f:
                f.write(CONFIG)
            with open(frag, 'w') as f:
                f.write(fragment)
            p = subprocess.run([sys.executable, CHECK, cfg, frag],
                               capture_output=True, text=True)
            return p.returncode, p.stdout + p.stderr

    def test_all_took_effect(self):
        rc, out = self.check('# comment\nCONFIG_A=y\nCONFIG_B=m\n'
                             '# CONFIG_C is not set\n'
                             '# CONFIG_MISSING is not set\n'
                             'CONFIG_S="text"\n')
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, '')

    def test_named_when_not(self):
        rc, out = self.check('CONFIG_A=y\nCONFIG_B=y\nCONFIG_MISSING=y\n'
                             'CONFIG_A_NOT=y\n# CONFIG_A is not set\n')
        self.assertEqual(rc, 1)
        self.assertIn('CONFIG_B: wanted y, got m', out)
        self.assertIn('CONFIG_MISSING: wanted y, got not set', out)
        self.assertIn('CONFIG_A_NOT: wanted y, got not set', out)

    def test_later_fragment_wins(self):
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, '.config')
            on = os.path.join(d, 'on.config')
            off = os.path.join(d, 'off.config')
            with open(cfg, 'w') as f:
                f.write(CONFIG)
            with open(on, 'w') as f:
                f.write('CONFIG_D=y\nCONFIG_A=y\n')
            with open(off, 'w') as f:
                f.write('# CONFIG_D is not set\n')
            p = subprocess.run([sys.executable, CHECK, cfg, on, off],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout)
            p = subprocess.run([sys.executable, CHECK, cfg, off, on],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn('on.config: CONFIG_D: wanted y, got not set',
                          p.stdout)


if __name__ == '__main__':
    unittest.main()
