#!/usr/bin/env python3
"""Check the exported series the way a maintainer takes it.

Usage: series_check.py LINUX SERIES WORK TAP FRAGMENT... [--off FRAGMENT...]

Applies SERIES (the files of "make series") with git am to a checkout of
the base (tag "base" of LINUX) in WORK/linux, checks that the result is
byte-identical to the tree "make tree" assembled, then, patch by patch:
checkpatch --strict on the patch, and a build of the tree up to that patch
(bzImage and modules) with the test configuration (the FRAGMENTs) and with
the series' new options off (the FRAGMENTs, then the --off ones).  Writes
TAP to TAP and stops at the first patch that does not build, naming it.

Kernel objects stay in WORK/obj-on and WORK/obj-off, and WORK/linux is
moved between prefixes with git checkout, which rewrites only the files
that differ: each prefix rebuilds what its patch changed.  A build passes
when make succeeds and prints no warning.  A build that passed is
recorded in WORK/built (the tree but for selftests and .rst files, the
configuration fragments, the build command, the compiler, the linker and
this script, hashed) and not done again: a prefix whose sources are those
of a prefix built before (a patch of documentation or selftests only, or
the same series again) is reported as built, naming the earlier build.
SERIES_CHECK_FROM=N in the environment builds from patch N on (checkpatch
still runs on every patch), for a developer who knows the earlier
prefixes build.  One run at a time: a second waits for the first.
"""
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# checkpatch's spdxcheck.py needs Debian's python3 with python3-ply/-git.
ENV = dict(os.environ, PATH='/usr/bin:' + os.environ.get('PATH', ''),
           GIT_COMMITTER_NAME='series check',
           GIT_COMMITTER_EMAIL='series-check@localhost',
           GIT_COMMITTER_DATE='1700000000 +0000',
           # Paths relative to the object directory in ccache's hashes, so
           # that a check in another clone (CI's) hits the cache.  The
           # kernels built here are not booted: __FILE__ reading
           # "../linux/..." is harmless in them, not in the test kernel.
           CCACHE_BASEDIR=os.path.dirname(HERE))
# Checkpatch asks whether MAINTAINERS needs updating for every added
# file; the series adds its MAINTAINERS entries in patches of their own.
CHECKPATCH_IGNORE = 'FILE_PATH_CHANGES'


class Fail(Exception):
    pass


def run(cmd, cwd, log=None, check=False):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    out = p.stdout + p.stderr
    if log:
        with open(log, 'w') as f:
            f.write(out)
    if check and p.returncode:
        raise Fail(f'{" ".join(cmd)} failed:\n{out.strip()}')
    return p.returncode, out


def git(*args, cwd):
    return run(['git', *args], cwd, check=True)[1]


class Tap:
    def __init__(self, path):
        self.path = path
        self.lines = []
        self.failed = 0
        # The plan, once known: a run that stops short of it (killed, or
        # crashed before writing a failure) reads as failed.
        self.planned = None

    def result(self, ok, name, detail=''):
        self.failed += not ok
        n = len(self.lines) + 1
        self.lines.append(f'{"ok" if ok else "not ok"} {n} {name}')
        if not ok and detail:
            self.lines += ['# ' + ln for ln in detail.rstrip().split('\n')]
        print(f'{"ok" if ok else "not ok"} {n} {name}')
        if not ok and detail:
            print(detail.rstrip())
        self.write()

    def write(self):
        n = self.planned or sum(1 for ln in self.lines
                                if not ln.startswith('#'))
        with open(self.path, 'w') as f:
            f.write(f'TAP version 13\n1..{n}\n' + '\n'.join(self.lines) +
                    '\n')


def configure(linux, obj, fragments, log):
    """The test kernel's configuration for this prefix: tinyconfig, the
    kernel's kvm_guest.config and FRAGMENTS, as mk/config.sh makes it,
    without its check that every option took effect (an option a later
    patch adds does not exist yet)."""
    scratch = obj + '-kconfig'
    os.makedirs(obj, exist_ok=True)
    os.makedirs(scratch, exist_ok=True)
    kmake = ['make', '-s', '-C', linux, f'O={scratch}', 'ARCH=x86_64']
    steps = [kmake + ['tinyconfig'],
             [os.path.join(linux, 'scripts/kconfig/merge_config.sh'), '-m',
              '-O', scratch, os.path.join(scratch, '.config'),
              os.path.join(linux, 'kernel/configs/kvm_guest.config'),
              *fragments],
             kmake + ['olddefconfig']]
    out = ''
    for cmd in steps:
        rc, o = run(cmd, linux)
        out += o
        if rc:
            with open(log, 'w') as f:
                f.write(out)
            return False, out
    new = open(os.path.join(scratch, '.config')).read()
    cur = os.path.join(obj, '.config')
    if not os.path.exists(cur) or open(cur).read() != new:
        with open(cur, 'w') as f:
            f.write(new)
    return True, ''


def not_built(path):
    """Files of the tree that kbuild does not read."""
    return (path.startswith('tools/testing/') or path == 'MAINTAINERS' or
            (path.startswith('Documentation/') and path.endswith('.rst')))


def build_command(obj, jobs):
    cc = 'ccache gcc' if shutil.which('ccache') else 'gcc'
    return ['make', '-s', f'O={obj}', 'ARCH=x86_64', f'-j{jobs}', f'CC={cc}',
            'KBUILD_BUILD_USER=series', 'KBUILD_BUILD_HOST=testbed',
            'KBUILD_BUILD_TIMESTAMP=2024-01-01 00:00:00 UTC',
            'bzImage', 'modules']


# The environment kbuild reads beyond the command line.
KBUILD_ENV = ('LLVM', 'KCFLAGS', 'KCPPFLAGS', 'KAFLAGS', 'CROSS_COMPILE',
              'ARCH', 'KBUILD_EXTRA_SYMBOLS', 'W', 'C')


def build_key(tree, fragments):
    """What decides a build's outcome: the tree at HEAD but for the files
    kbuild does not read, the fragments, the build command and the
    environment it reads, the compiler, the linker and this script."""
    h = hashlib.sha1()
    for ent in git('ls-tree', '-r', 'HEAD', cwd=tree).split('\n'):
        if ent and not not_built(ent.split('\t', 1)[1]):
            h.update(ent.encode() + b'\n')
    for f in fragments:
        h.update(f.encode() + b'\0' + open(f, 'rb').read())
    h.update(' '.join(build_command('OBJ', 'J')).encode())
    h.update(repr([(k, os.environ.get(k)) for k in KBUILD_ENV]).encode())
    h.update(run(['gcc', '--version'], tree)[1].encode())
    h.update(run(['ld', '--version'], tree)[1].encode())
    h.update(open(os.path.abspath(__file__), 'rb').read())
    return h.hexdigest()


def built_before(work):
    path = os.path.join(work, 'built')
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return dict(ln.rstrip('\n').split(' ', 1) for ln in f if ' ' in ln)


def record_built(work, key, what):
    with open(os.path.join(work, 'built'), 'a') as f:
        f.write(f'{key} {what}\n')


def build(linux, obj, fragments, log, jobs):
    ok, out = configure(linux, obj, fragments, log)
    if not ok:
        return False, out
    rc, out = run(build_command(obj, jobs), linux, log)
    errors = [ln for ln in out.split('\n')
              if re.search(r'error|warning|Error', ln)]
    warned = any('warning:' in ln for ln in errors)
    return rc == 0 and not warned, '\n'.join(errors[:40]) or out[-3000:]


def main():
    args = sys.argv[1:]
    if len(args) < 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    linux, series, work, tap_path = (os.path.abspath(a) for a in args[:4])
    rest = args[4:]
    off = []
    if '--off' in rest:
        i = rest.index('--off')
        rest, off = rest[:i], rest[i + 1:]
    on = [os.path.abspath(f) for f in rest]
    off = on + [os.path.abspath(f) for f in off]
    jobs = os.environ.get('J', str(os.cpu_count() + 1))
    tap = Tap(tap_path)
    os.makedirs(work, exist_ok=True)
    lock = open(os.path.join(work, '.lock'), 'w')
    fcntl.flock(lock, fcntl.LOCK_EX)
    tree = os.path.join(work, 'linux')
    logs = os.path.join(work, 'logs')
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    # The patches as they are now: another "make series" may rewrite them.
    copy = os.path.join(work, 'series')
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(series, copy)
    series = copy
    patches = sorted(f for f in os.listdir(series)
                     if re.match(r'^\d{4}-.*\.patch$', f) and
                     not f.startswith('0000-'))
    tap.planned = 2 + 3 * len(patches)
    start = time.time()
    try:
        if os.path.isdir(tree) and run(['git', 'rev-parse', '--git-dir'],
                                       tree)[0]:
            # A worktree of a build/linux that was extracted again.
            shutil.rmtree(tree)
        if not os.path.isdir(tree):
            git('worktree', 'prune', cwd=linux)
            git('worktree', 'add', '-q', '--detach', tree, 'base', cwd=linux)
        run(['git', 'am', '--abort'], tree)
        git('checkout', '-q', '-f', '--detach', 'base', cwd=tree)
        git('clean', '-q', '-f', '-d', '-x', cwd=tree)
        rc, out = run(['git', 'am', '-q', '--whitespace=nowarn',
                       *[os.path.join(series, p) for p in patches]], tree)
        tap.result(rc == 0, f'git am of the {len(patches)} patches of '
                   f'{os.path.relpath(series)} onto the base', out)
        if rc:
            raise Fail('the series does not apply with git am')
        applied = git('rev-parse', 'HEAD^{tree}', cwd=tree).strip()
        state = open(os.path.join(linux, '.git', 'series-assembled')).read()
        assembled = git('rev-parse', state.strip() + '^{tree}',
                        cwd=linux).strip()
        tap.result(applied == assembled, 'the applied series is the tree '
                   '"make tree" assembled, byte for byte',
                   f'applied {applied}, assembled {assembled}')
        if applied != assembled:
            raise Fail('the applied series differs from build/linux')
        commits = git('rev-list', '--reverse', 'base..HEAD',
                      cwd=tree).split()
        script = os.path.join(tree, 'scripts', 'checkpatch.pl')
        first = int(os.environ.get('SERIES_CHECK_FROM') or 1)
        for n, (patch, commit) in enumerate(zip(patches, commits), 1):
            t0 = time.time()
            rc, out = run([script, '--strict', '--no-summary', '--quiet',
                           '--ignore', CHECKPATCH_IGNORE,
                           os.path.join(series, patch)], tree,
                          os.path.join(logs, f'checkpatch-{n:04d}.log'))
            tap.result(rc == 0 and not out.strip(), f'checkpatch {patch}',
                       out)
            if n < first:
                continue
            git('checkout', '-q', '--detach', commit, cwd=tree)
            for cfg, frags in (('on', on), ('off', off)):
                what = ('the test configuration' if cfg == 'on' else
                        'the new options off')
                key = build_key(tree, frags)
                seen = built_before(work).get(key)
                if seen:
                    tap.result(True, f'{patch} builds with {what} (its '
                               f'sources built so before: {seen})')
                    continue
                ok, out = build(tree, os.path.join(work, f'obj-{cfg}'),
                                frags, os.path.join(
                                    logs, f'build-{n:04d}-{cfg}.log'), jobs)
                tap.result(ok, f'{patch} builds with {what}', out)
                if ok:
                    record_built(work, key, f'{patch} ({cfg})')
                if not ok:
                    raise Fail(f'patch {n:04d} ({patch}) does not build with '
                               f'{what}; log in {logs}')
            print(f'series-check: {patch}: {time.time() - t0:.0f} s')
    except Fail as e:
        print(f'series-check: {e}', file=sys.stderr)
        tap.planned = None      # stopped at the failure it reports
        tap.write()
        sys.exit(1)
    except Exception as e:  # an unexpected stop must not read as a pass
        tap.result(False, f'series-check stopped: {e!r}')
        raise
    print(f'series-check: {len(patches)} patches, {tap.failed} failed '
          f'checks, {time.time() - start:.0f} s')
    sys.exit(1 if tap.failed else 0)


if __name__ == '__main__':
    main()
