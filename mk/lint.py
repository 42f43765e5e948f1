#!/usr/bin/env python3
"""The series' lint, as TAP (one result per check and file).

  lint.py LINUX OBJ_LINT TAP FRAGMENT...

  checkpatch  scripts/checkpatch.pl --strict on every patch of the series
              and every new file (and the test rig's C sources);
  kernel-doc  scripts/kernel-doc -none -v on every new header: no warning;
  build       the kernel's drivers/iommu and drivers/vfio, and every other
              directory with new or changed C code, compiled in OBJ_LINT
              with W=1 and sparse (C=2): no warning may point at a new file
              or at a line a patch changed;
  coccicheck  make coccicheck MODE=report on the directories of new C
              files: no report on a new file.

Writes the TAP to the file TAP and a copy of every tool's output under
OBJ_LINT/logs.  Exits 1 when a check fails.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Kernel directories whose whole build is checked with W=1 and sparse.
BUILD_DIRS = ['drivers/iommu', 'drivers/vfio']
# Directories without a Makefile of their own, built from another one.
BUILT_FROM = {'virt/kvm': 'arch/x86/kvm'}
# Directories built from a parent Makefile too large to check on every run:
# their new and changed files are compiled as single objects instead.
BUILT_AS_OBJECTS = {'drivers/gpu/drm/i915/gvt'}
J = str(os.cpu_count() + 1)

DIAG = re.compile(r'^(\S+?):(\d+):(?:\d+:)?\s*(warning|error)\b:?(.*)$')


class Tap:
    def __init__(self):
        self.lines = []
        self.failed = 0

    def result(self, ok, name, diag=''):
        n = len(self.lines) + 1
        self.lines.append(f'{"ok" if ok else "not ok"} {n} {name}')
        if not ok:
            self.failed += 1
            for line in diag.rstrip('\n').split('\n')[:60]:
                print(f'# {line}')
        print(f'{"ok" if ok else "not ok"} {n} {name}')

    def skip(self, name, why):
        n = len(self.lines) + 1
        self.lines.append(f'ok {n} {name} # SKIP {why}')
        print(self.lines[-1])


# The kernel's Python scripts (checkpatch's spdxcheck.py) need Debian's
# python3 with python3-ply and python3-git, whatever python3 is first in
# PATH.
ENV = dict(os.environ, PATH='/usr/bin:' + os.environ.get('PATH', ''))


def run(cmd, cwd, log=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    out = p.stdout + p.stderr
    if log:
        with open(log, 'w') as f:
            f.write(out)
    return p.returncode, out


def changed(linux):
    out = subprocess.run([sys.executable, os.path.join(HERE, 'series.py'),
                          'changed'], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def is_kernel_c(path):
    return path.endswith('.c') and not path.startswith('tools/')


def checkpatch(tap, linux, logs, new):
    script = os.path.join(linux, 'scripts', 'checkpatch.pl')
    series = os.path.join(REPO, 'patches', 'series')
    names = []
    if os.path.exists(series):
        names = [ln.split('#', 1)[0].strip() for ln in open(series)]
    # As in make series-check: the series adds its MAINTAINERS entries in
    # patches of their own, so checkpatch's question whether MAINTAINERS
    # needs updating for an added file is not asked of each patch.
    for name in filter(None, names):
        rc, out = run([script, '--strict', '--no-summary', '--quiet',
                       '--ignore', 'FILE_PATH_CHANGES',
                       os.path.join(REPO, 'patches', name)], linux,
                      os.path.join(logs, f'checkpatch-{name}.log'))
        tap.result(rc == 0 and not out.strip(), f'checkpatch patches/{name}',
                   out)
    rig = [os.path.relpath(os.path.join(d, f), REPO)
           for d, _, fs in os.walk(os.path.join(REPO, 'testbed'))
           for f in fs if f.endswith(('.c', '.h'))]
    for path in sorted(new) + sorted(rig):
        full = os.path.join(linux if path in new else REPO, path)
        rc, out = run([script, '--strict', '--no-summary', '--quiet', '-f',
                       full], linux)
        tap.result(rc == 0 and not out.strip(), f'checkpatch {path}', out)


def kernel_doc(tap, linux, new):
    heads = [p for p in new if p.endswith('.h')]
    if not heads:
        tap.skip('kernel-doc', 'the series adds no header')
        return
    for path in heads:
        rc, out = run([os.path.join(linux, 'scripts', 'kernel-doc'), '-none',
                       '-v', path], linux)
        out = '\n'.join(ln for ln in out.split('\n')
                        if 'warning' in ln or 'error' in ln)
        tap.result(rc == 0 and not out.strip(), f'kernel-doc {path}', out)


def in_change(path, line, ch):
    if path in ch['new']:
        return True
    for start, end in ch['patched'].get(path, []):
        if start <= line <= end:
            return True
    return False


def findings(out, obj, linux, ch):
    """Diagnostics of a build log that point into new or changed code."""
    found = []
    for text in out.split('\n'):
        m = DIAG.match(text)
        if not m:
            continue
        path = os.path.normpath(os.path.join(obj, m.group(1)))
        path = os.path.relpath(path, linux)
        if in_change(path, int(m.group(2)), ch):
            found.append(text)
    return found


def build(tap, linux, obj, logs, fragments, ch):
    rc, out = run([os.path.join(HERE, 'config.sh'), linux, obj, *fragments],
                  REPO)
    if rc:
        tap.result(False, 'build: configuration', out)
        return
    dirs = set(BUILD_DIRS)
    kernel_c = [p for p in ch['new'] + list(ch['patched']) if is_kernel_c(p)]
    objects = set()
    for p in kernel_c:
        d = os.path.dirname(p)
        if d in BUILT_AS_OBJECTS:
            objects.add(p[:-2] + '.o')
        else:
            dirs.add(BUILT_FROM.get(d, d))
        # Compile new and changed files again, so their W=1 warnings show.
        try:
            os.remove(os.path.join(obj, p[:-2] + '.o'))
        except FileNotFoundError:
            pass
    targets = [d + '/' for d in sorted(dirs)] + sorted(objects)
    cmd = ['make', '-C', linux, f'O={obj}', 'ARCH=x86_64', f'-j{J}', 'W=1',
           'C=2', *targets]
    rc, out = run(cmd, linux, os.path.join(logs, 'build.log'))
    if rc:
        tap.result(False, 'build: W=1 C=2 ' + ' '.join(targets),
                   '\n'.join(out.split('\n')[-40:]))
        return
    found = findings(out, obj, linux, ch)
    tap.result(not found, 'build: W=1 and sparse, no warning in new or '
               'changed code of ' + ' '.join(targets), '\n'.join(found))


def coccicheck(tap, linux, obj, logs, ch):
    """Run coccicheck once over a copy of the new C files (a directory of
    its own, so that base files next to them are not checked too)."""
    files = [p for p in ch['new'] if p.endswith(('.c', '.h'))]
    if not files:
        tap.skip('coccicheck', 'the series adds no C file')
        return
    src = os.path.join(obj, 'cocci-src')
    shutil.rmtree(src, ignore_errors=True)
    for p in files:
        os.makedirs(os.path.dirname(os.path.join(src, p)), exist_ok=True)
        shutil.copy(os.path.join(linux, p), os.path.join(src, p))
    rc, out = run(['make', '-C', linux, f'O={obj}', 'ARCH=x86_64',
                   'coccicheck', 'MODE=report', f'J={J}', f'M={src}'],
                  linux, os.path.join(logs, 'coccicheck.log'))
    found = [ln.replace(src + '/', '') for ln in out.split('\n')
             if ln.startswith(src + '/')]
    tap.result(rc == 0 and not found,
               f'coccicheck on the {len(files)} new C files',
               '\n'.join(found) if found else out[-2000:])


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    linux, obj, tap_path = (os.path.abspath(a) for a in sys.argv[1:4])
    fragments = [os.path.abspath(a) for a in sys.argv[4:]]
    logs = os.path.join(obj, 'logs')
    os.makedirs(logs, exist_ok=True)
    ch = changed(linux)
    tap = Tap()
    checkpatch(tap, linux, logs, ch['new'])
    kernel_doc(tap, linux, ch['new'])
    build(tap, linux, obj, logs, fragments, ch)
    coccicheck(tap, linux, obj, logs, ch)
    with open(tap_path, 'w') as f:
        f.write('TAP version 13\n1..%d\n' % len(tap.lines))
        f.write('\n'.join(tap.lines) + '\n')
    print(f'lint: {len(tap.lines) - tap.failed} of {len(tap.lines)} checks '
          f'passed; logs in {logs}')
    sys.exit(1 if tap.failed else 0)


if __name__ == '__main__':
    main()
