#!/usr/bin/env python3
"""Tests of mk/series_check.py's record of passed builds: a prefix is
reported as built only when what kbuild reads is that of a build that
passed."""
import importlib.util
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'series_check', os.path.join(os.path.dirname(HERE), 'series_check.py'))
series_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(series_check)


def sh(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


class BuildKey(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.tree = os.path.join(self.tmp, 'linux')
        files = {
            'drivers/vfio/group.c': 'int a;\n',
            'Documentation/driver-api/vfio.rst': 'VFIO\n',
            'Documentation/Kconfig': 'menu "doc"\nendmenu\n',
            'tools/testing/selftests/vfio/t.c': 'int main(void) {}\n',
            'tools/objtool/check.c': 'int b;\n',
            'MAINTAINERS': 'VFIO\n',
        }
        for path, text in files.items():
            self.write(os.path.join(self.tree, path), text)
        self.frag = os.path.join(self.tmp, 'a.config')
        self.write(self.frag, 'CONFIG_VFIO=y\n')
        sh('git', 'init', '-q', cwd=self.tree)
        self.commit()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    @staticmethod
    def write(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def commit(self):
        sh('git', 'add', '-A', cwd=self.tree)
        sh('git', '-c', 'user.name=T', '-c', 'user.email=t@example.org',
           'commit', '-q', '--allow-empty', '-m', 'x', cwd=self.tree)

    def key(self):
        return series_check.build_key(self.tree, [self.frag])

    def change(self, path):
        first = self.key()
        with open(os.path.join(self.tree, path), 'a') as f:
            f.write('/* more */\n')
        self.commit()
        return first, self.key()

    def test_what_kbuild_reads_changes_the_key(self):
        for path in ('drivers/vfio/group.c', 'Documentation/Kconfig',
                     'tools/objtool/check.c'):
            before, after = self.change(path)
            self.assertNotEqual(before, after, path)

    def test_what_kbuild_does_not_read_keeps_it(self):
        for path in ('Documentation/driver-api/vfio.rst', 'MAINTAINERS',
                     'tools/testing/selftests/vfio/t.c'):
            before, after = self.change(path)
            self.assertEqual(before, after, path)

    def test_configuration_and_environment_change_the_key(self):
        before = self.key()
        self.write(self.frag, 'CONFIG_VFIO=m\n')
        self.assertNotEqual(before, self.key())
        second = self.key()
        os.environ['KCFLAGS'] = '-O1'
        try:
            self.assertNotEqual(second, self.key())
        finally:
            del os.environ['KCFLAGS']
        self.assertEqual(second, self.key())

    def test_record(self):
        work = os.path.join(self.tmp, 'work')
        os.makedirs(work)
        self.assertEqual(series_check.built_before(work), {})
        series_check.record_built(work, 'k1', '0001-a.patch (on)')
        self.assertEqual(series_check.built_before(work),
                         {'k1': '0001-a.patch (on)'})


if __name__ == '__main__':
    unittest.main()
