#!/usr/bin/env python3
"""Tests of mk/series.py on a made-up base: assembly, refusal of a patch
that does not apply, write-back of edits, and protection of unsynced work."""
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

SERIES = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'series.py')

BASE = {
    'Makefile': 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 99\nEXTRAVERSION =\n',
    'drivers/iommu/core.c': ''.join(f'line {i}\n' for i in range(1, 41)),
    'include/linux/core.h': '#define A 1\n#define B 2\n#define C 3\n',
    # As in Debian's linux-source: every top-level entry is ignored.
    '.gitignore': '*.o\n/*\n!/debian/\n',
}

PATCH = '''From: A Developer <dev@example.org>
Subject: [PATCH] core: Change line 20

Line 20 must say why.

Signed-off-by: A Developer <dev@example.org>
---
 drivers/iommu/core.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/drivers/iommu/core.c b/drivers/iommu/core.c
--- a/drivers/iommu/core.c
+++ b/drivers/iommu/core.c
@@ -19,3 +19,3 @@ line 18
 line 19
-line 20
+line twenty
 line 21
'''


def sh(*args, cwd, check=True, env=None):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if check and p.returncode:
        raise AssertionError(f'{args} failed: {p.stdout}{p.stderr}')
    return p


class Series(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.repo = os.path.join(self.tmp, 'repo')
        self.linux = os.path.join(self.repo, 'build', 'linux')
        src = os.path.join(self.tmp, 'src', 'linux-source-6.1')
        for path, text in BASE.items():
            self.write(os.path.join(src, path), text)
        self.tarball = os.path.join(self.tmp, 'base.tar.xz')
        with tarfile.open(self.tarball, 'w:xz') as t:
            t.add(src, arcname='linux-source-6.1')
        os.makedirs(os.path.join(self.repo, 'mk'))
        shutil.copy(SERIES, os.path.join(self.repo, 'mk', 'series.py'))
        sh('git', 'init', '-q', cwd=self.repo)
        for k, v in (('user.name', 'A Developer'),
                     ('user.email', 'dev@example.org')):
            sh('git', 'config', k, v, cwd=self.repo)
        self.write(os.path.join(self.repo, 'patches', 'series'),
                   'change-line-20.patch\n')
        self.write(os.path.join(self.repo, 'patches',
                                'change-line-20.patch'), PATCH)
        self.write(os.path.join(self.repo, 'drivers/iommu/new.c'), 'new\n')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    @staticmethod
    def write(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read()

    def series(self, cmd, check=True, force=False):
        env = {'BASE_TARBALL': self.tarball}
        if force:
            env['FORCE'] = '1'
        return sh(sys.executable, os.path.join(self.repo, 'mk', 'series.py'),
                  cmd, cwd=self.repo, check=check, env=env)

    def log(self):
        return sh('git', 'log', '--format=%s', cwd=self.linux).stdout.split(
            '\n')[:-1]

    def test_assemble(self):
        out = self.series('tree').stdout
        self.assertIn('base Linux 6.1.99', out)
        self.assertEqual(self.log(), ['series: new files',
                                      'core: Change line 20', 'Linux 6.1.99'])
        core = self.read(os.path.join(self.linux, 'drivers/iommu/core.c'))
        self.assertIn('line twenty\n', core)
        self.assertEqual(self.read(os.path.join(
            self.linux, 'drivers/iommu/new.c')), 'new\n')
        author = sh('git', 'log', '-1', '--format=%an', 'HEAD^',
                    cwd=self.linux).stdout.strip()
        self.assertEqual(author, 'A Developer')

    def test_only_changed_files_rewritten(self):
        self.series('tree')
        core = os.path.join(self.linux, 'drivers/iommu/core.c')
        new = os.path.join(self.linux, 'drivers/iommu/new.c')
        old = (os.stat(core).st_mtime_ns, os.stat(new).st_mtime_ns)
        time.sleep(0.05)
        self.write(os.path.join(self.repo, 'drivers/iommu/new.c'), 'newer\n')
        self.series('tree')
        self.assertEqual(os.stat(core).st_mtime_ns, old[0])
        self.assertNotEqual(os.stat(new).st_mtime_ns, old[1])
        self.assertEqual(self.read(new), 'newer\n')

    def test_patch_that_does_not_apply(self):
        self.series('tree')
        head = sh('git', 'rev-parse', 'HEAD', cwd=self.linux).stdout
        bad = PATCH.replace('-line 20', '-line 2O')
        self.write(os.path.join(self.repo, 'patches',
                                'change-line-20.patch'), bad)
        self.write(os.path.join(self.repo, 'drivers/iommu/new.c'), 'newer\n')
        p = self.series('tree', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('patch change-line-20.patch does not apply', p.stderr)
        self.assertIn('failing hunk in drivers/iommu/core.c', p.stderr)
        self.assertIn('-line 2O', p.stderr)
        # Nothing of the new state reached build/linux.
        self.assertEqual(head, sh('git', 'rev-parse', 'HEAD',
                                  cwd=self.linux).stdout)
        self.assertEqual(self.read(os.path.join(
            self.linux, 'drivers/iommu/new.c')), 'new\n')

    def test_base_file_in_repository_refused(self):
        self.write(os.path.join(self.repo, 'include/linux/core.h'), 'x\n')
        p = self.series('tree', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('include/linux/core.h', p.stderr)

    def test_sync(self):
        self.series('tree')
        # An uncommitted edit of a file the patch touches joins the patch.
        core = os.path.join(self.linux, 'drivers/iommu/core.c')
        self.write(core, self.read(core).replace('line 30\n', 'line 30!\n'))
        # A new file made in build/linux is copied back.
        self.write(os.path.join(self.linux, 'drivers/iommu/other.c'), 'o\n')
        # A commit touching another base file becomes a new patch.
        head = os.path.join(self.linux, 'include/linux/core.h')
        self.write(head, self.read(head).replace('B 2', 'B 22'))
        sh('git', 'commit', '-q', '-s', '-m', 'core: Make B larger',
           '-m', 'Because it must.', 'include/linux/core.h', cwd=self.linux)
        self.series('sync')
        patch = self.read(os.path.join(self.repo, 'patches',
                                       'change-line-20.patch'))
        self.assertIn('+line twenty', patch)
        self.assertIn('+line 30!', patch)
        self.assertIn('Line 20 must say why.', patch)
        self.assertNotIn('Series-Patch', patch)
        self.assertEqual(self.read(os.path.join(self.repo, 'patches',
                                                'series')),
                         'change-line-20.patch\ncore-make-b-larger.patch\n')
        new_patch = self.read(os.path.join(self.repo, 'patches',
                                           'core-make-b-larger.patch'))
        self.assertIn('+#define B 22', new_patch)
        self.assertIn('Signed-off-by: A Developer', new_patch)
        self.assertEqual(self.read(os.path.join(
            self.repo, 'drivers/iommu/other.c')), 'o\n')
        # Assembling again gives the same content, with nothing to refuse,
        # also after the repository changed since the write-back.
        self.write(os.path.join(self.repo, 'drivers/iommu/other.c'), 'p\n')
        self.series('tree')
        self.assertEqual(self.read(os.path.join(
            self.linux, 'drivers/iommu/other.c')), 'p\n')
        self.assertEqual(self.log()[:3], ['series: new files',
                                          'core: Make B larger',
                                          'core: Change line 20'])
        self.assertEqual(sh('git', 'status', '--porcelain', cwd=self.linux)
                         .stdout, '')

    def test_sync_refuses_to_undo_repository_changes(self):
        self.series('tree')
        new = os.path.join(self.repo, 'drivers/iommu/new.c')
        self.write(new, 'edited in the repository\n')
        p = self.series('sync', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('repository changed', p.stderr)
        self.assertEqual(self.read(new), 'edited in the repository\n')

    def test_sync_refuses_orphan_change(self):
        self.series('tree')
        head = os.path.join(self.linux, 'include/linux/core.h')
        self.write(head, self.read(head).replace('A 1', 'A 11'))
        p = self.series('sync', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('include/linux/core.h', p.stderr)

    def test_unsynced_work_protected(self):
        self.series('tree')
        head = os.path.join(self.linux, 'include/linux/core.h')
        self.write(head, 'edited\n')
        p = self.series('tree', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('make sync', p.stderr)
        self.assertEqual(self.read(head), 'edited\n')
        self.series('tree', force=True)
        self.assertEqual(self.read(head), BASE['include/linux/core.h'])


if __name__ == '__main__':
    unittest.main()
