#!/usr/bin/env python3
"""Tests of mk/series.py on a made-up base: assembly, refusal of a patch
that does not apply, the map of new files, write-back of edits, protection
of unsynced work, and the export for git am."""
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
        self.write(os.path.join(self.repo, 'patches', 'new-files'),
                   '# map\ndrivers/iommu/new.c  change-line-20.patch\n')
        self.write(os.path.join(self.repo, 'patches', 'cover-letter'),
                   'A made-up series\n\nIt changes a line.\n')

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
        self.assertEqual(self.log(), ['core: Change line 20', 'Linux 6.1.99'])
        # The new file arrives with the patch the map names.
        self.assertEqual(sh('git', 'show', '--format=', '--name-status',
                            'HEAD', cwd=self.linux).stdout,
                         'M\tdrivers/iommu/core.c\nA\tdrivers/iommu/new.c\n')
        core = self.read(os.path.join(self.linux, 'drivers/iommu/core.c'))
        self.assertIn('line twenty\n', core)
        self.assertEqual(self.read(os.path.join(
            self.linux, 'drivers/iommu/new.c')), 'new\n')
        author = sh('git', 'log', '-1', '--format=%an', 'HEAD',
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
        # An uncommitted edit of a new file goes to the root.
        self.write(os.path.join(self.linux, 'drivers/iommu/new.c'), 'new!\n')
        # A commit touching another base file and adding a file becomes a
        # new patch, which the map names for the file.
        head = os.path.join(self.linux, 'include/linux/core.h')
        self.write(head, self.read(head).replace('B 2', 'B 22'))
        self.write(os.path.join(self.linux, 'drivers/iommu/other.c'), 'o\n')
        sh('git', 'add', '-f', 'drivers/iommu/other.c', cwd=self.linux)
        sh('git', 'commit', '-q', '-s', '-m', 'core: Make B larger',
           '-m', 'Because it must.', 'include/linux/core.h',
           'drivers/iommu/other.c', cwd=self.linux)
        self.series('sync')
        patch = self.read(os.path.join(self.repo, 'patches',
                                       'change-line-20.patch'))
        self.assertIn('+line twenty', patch)
        self.assertIn('+line 30!', patch)
        self.assertIn('Line 20 must say why.', patch)
        self.assertNotIn('Series-Patch', patch)
        self.assertNotIn('new.c', patch)
        self.assertEqual(self.read(os.path.join(self.repo, 'patches',
                                                'series')),
                         'change-line-20.patch\ncore-make-b-larger.patch\n')
        new_patch = self.read(os.path.join(self.repo, 'patches',
                                           'core-make-b-larger.patch'))
        self.assertIn('+#define B 22', new_patch)
        self.assertNotIn('other.c', new_patch)
        self.assertIn('Signed-off-by: A Developer', new_patch)
        self.assertEqual(self.read(os.path.join(
            self.repo, 'drivers/iommu/other.c')), 'o\n')
        self.assertEqual(self.read(os.path.join(
            self.repo, 'drivers/iommu/new.c')), 'new!\n')
        self.assertEqual(self.read(os.path.join(
            self.repo, 'patches', 'new-files')),
            '# map\ndrivers/iommu/new.c    change-line-20.patch\n'
            'drivers/iommu/other.c  core-make-b-larger.patch\n')
        # Assembling again gives the same content, with nothing to refuse,
        # also after the repository changed since the write-back.
        self.write(os.path.join(self.repo, 'drivers/iommu/other.c'), 'p\n')
        self.series('tree')
        self.assertEqual(self.read(os.path.join(
            self.linux, 'drivers/iommu/other.c')), 'p\n')
        self.assertEqual(self.log()[:2], ['core: Make B larger',
                                          'core: Change line 20'])
        self.assertEqual(sh('git', 'status', '--porcelain', cwd=self.linux)
                         .stdout, '')

    def test_sync_new_file_changed_by_two_commits(self):
        """A new file that a later commit changes moves into the patches:
        each commit's patch carries its part."""
        self.series('tree')
        new = os.path.join(self.linux, 'drivers/iommu/new.c')
        self.write(new, 'new\nmore\n')
        sh('git', 'commit', '-q', '-s', '-m', 'new: Say more', '-m', 'More.',
           'drivers/iommu/new.c', cwd=self.linux)
        out = self.series('sync').stdout
        self.assertIn('lives in the patches now', out)
        self.assertFalse(os.path.exists(os.path.join(
            self.repo, 'drivers/iommu/new.c')))
        first = self.read(os.path.join(self.repo, 'patches',
                                       'change-line-20.patch'))
        self.assertIn('+++ b/drivers/iommu/new.c\n@@ -0,0 +1 @@\n+new\n',
                      first)
        second = self.read(os.path.join(self.repo, 'patches',
                                        'new-say-more.patch'))
        self.assertIn(' new\n+more\n', second)
        self.assertEqual(self.read(os.path.join(
            self.repo, 'patches', 'new-files')), '# map\n')
        work = sh('git', 'rev-parse', 'HEAD^{tree}', cwd=self.linux).stdout
        self.series('tree')
        self.assertEqual(sh('git', 'rev-parse', 'HEAD^{tree}',
                            cwd=self.linux).stdout, work)

    def test_sync_refuses_uncommitted_new_file(self):
        self.series('tree')
        self.write(os.path.join(self.linux, 'drivers/iommu/loose.c'), 'l\n')
        p = self.series('sync', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('no commit adds these new files', p.stderr)
        self.assertIn('drivers/iommu/loose.c', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(
            self.repo, 'drivers/iommu/loose.c')))

    def test_sync_refuses_two_commits_of_one_patch(self):
        """A commit split in two keeps the trailer in both halves when
        made with "commit -c": the patch would be written twice."""
        self.series('tree')
        msg = sh('git', 'log', '-1', '--format=%B', cwd=self.linux).stdout
        head = os.path.join(self.linux, 'include/linux/core.h')
        self.write(head, self.read(head).replace('C 3', 'C 33'))
        sh('git', 'commit', '-q', '-m', msg, 'include/linux/core.h',
           cwd=self.linux)
        before = self.read(os.path.join(self.repo, 'patches',
                                        'change-line-20.patch'))
        p = self.series('sync', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('change-line-20.patch', p.stderr)
        self.assertEqual(before, self.read(os.path.join(
            self.repo, 'patches', 'change-line-20.patch')))

    def test_sync_mode_of_new_file(self):
        self.series('tree')
        os.chmod(os.path.join(self.linux, 'drivers/iommu/new.c'), 0o755)
        self.series('sync')
        self.assertEqual(os.stat(os.path.join(
            self.repo, 'drivers/iommu/new.c')).st_mode & 0o777, 0o755)

    def test_sync_refuses_top_level_new_file(self):
        self.series('tree')
        self.write(os.path.join(self.linux, 'TOPNEW'), 't\n')
        sh('git', 'add', '-f', 'TOPNEW', cwd=self.linux)
        sh('git', 'commit', '-q', '-s', '-m', 'top: Add a file', '-m', 'Why.',
           cwd=self.linux)
        p = self.series('sync', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('TOPNEW', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.repo, 'TOPNEW')))

    def test_export_refuses_empty_patch(self):
        self.write(os.path.join(self.repo, 'patches', 'new-files'), '')
        os.remove(os.path.join(self.repo, 'drivers/iommu/new.c'))
        self.write(os.path.join(self.repo, 'patches', 'empty.patch'),
                   'From: A Developer <dev@example.org>\n'
                   'Subject: [PATCH] core: Nothing\n\nNothing.\n\n'
                   'Signed-off-by: A Developer <dev@example.org>\n---\n\n')
        self.write(os.path.join(self.repo, 'patches', 'series'),
                   'change-line-20.patch\nempty.patch\n')
        self.series('tree')
        p = sh(sys.executable, os.path.join(self.repo, 'mk', 'series.py'),
               'export', os.path.join(self.tmp, 'out'), cwd=self.repo,
               check=False, env={'BASE_TARBALL': self.tarball})
        self.assertEqual(p.returncode, 1)
        self.assertIn('empty.patch changes nothing', p.stderr)

    def test_map_checked(self):
        nf = os.path.join(self.repo, 'patches', 'new-files')
        cases = [
            # A root file the map does not name.
            (lambda: self.write(os.path.join(self.repo, 'drivers/x.c'), 'x'),
             'drivers/x.c'),
            # A file named that the root does not have.
            (lambda: self.write(nf, self.read(nf) +
                                'drivers/gone.c  change-line-20.patch\n'),
             'drivers/gone.c'),
            # A patch not in the series.
            (lambda: self.write(nf, '# map\ndrivers/iommu/new.c  '
                                'other.patch\n'), 'other.patch'),
        ]
        for make_bad, named in cases:
            saved = self.read(nf)
            make_bad()
            p = self.series('tree', check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn(named, p.stderr)
            # Nothing was assembled.
            self.assertEqual(self.log(), ['Linux 6.1.99'])
            self.write(nf, saved)
            if os.path.exists(os.path.join(self.repo, 'drivers/x.c')):
                os.remove(os.path.join(self.repo, 'drivers/x.c'))
        self.series('tree')

    def test_patch_changing_whole_file_refused(self):
        patch = PATCH + (
            'diff --git a/drivers/iommu/new.c b/drivers/iommu/new.c\n'
            '--- a/drivers/iommu/new.c\n+++ b/drivers/iommu/new.c\n'
            '@@ -1 +1 @@\n-new\n+old\n')
        self.write(os.path.join(self.repo, 'patches',
                                'change-line-20.patch'), patch)
        p = self.series('tree', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('arrive whole', p.stderr)
        self.assertIn('drivers/iommu/new.c', p.stderr)

    def test_export(self):
        self.series('tree')
        out = os.path.join(self.tmp, 'out')
        p = sh(sys.executable, os.path.join(self.repo, 'mk', 'series.py'),
               'export', out, cwd=self.repo,
               env={'BASE_TARBALL': self.tarball})
        self.assertIn('1 patches', p.stdout)
        self.assertEqual(sorted(os.listdir(out)),
                         ['0000-cover-letter.patch',
                          '0001-core-Change-line-20.patch'])
        cover = self.read(os.path.join(out, '0000-cover-letter.patch'))
        self.assertIn('Subject: [PATCH 6.1 0/1] A made-up series', cover)
        self.assertIn('It changes a line.', cover)
        self.assertIn('drivers/iommu/new.c', cover)
        one = self.read(os.path.join(out, '0001-core-Change-line-20.patch'))
        self.assertIn('Subject: [PATCH 6.1 1/1] core: Change line 20', one)
        self.assertNotIn('Series-Patch', one)
        self.assertIn('+new\n', one)
        # git am onto the base gives the assembled tree.
        am = os.path.join(self.tmp, 'am')
        sh('git', 'clone', '-q', '--branch', 'base', self.linux, am,
           cwd=self.tmp)
        sh('git', '-c', 'user.name=X', '-c', 'user.email=x@example.org', 'am',
           '-q', os.path.join(out, '0001-core-Change-line-20.patch'), cwd=am)
        self.assertEqual(
            sh('git', 'rev-parse', 'HEAD^{tree}', cwd=am).stdout,
            sh('git', 'rev-parse', 'HEAD^{tree}', cwd=self.linux).stdout)

    def test_export_needs_signoff(self):
        self.write(os.path.join(self.repo, 'patches', 'change-line-20.patch'),
                   PATCH.replace('Signed-off-by: A Developer '
                                 '<dev@example.org>\n', ''))
        self.series('tree')
        p = sh(sys.executable, os.path.join(self.repo, 'mk', 'series.py'),
               'export', os.path.join(self.tmp, 'out'), cwd=self.repo,
               check=False, env={'BASE_TARBALL': self.tarball})
        self.assertEqual(p.returncode, 1)
        self.assertIn('change-line-20.patch has no "Signed-off-by', p.stderr)

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
