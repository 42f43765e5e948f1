#!/usr/bin/env python3
"""Assemble the series onto the base kernel, and write edits back.

The repository holds the series in two forms:
  - patches in patches/, in the order of patches/series: changes to base
    files, and new files that more than one patch changes;
  - new files that one patch adds whole, at their kernel paths at the
    repository root; patches/new-files names the patch of each.

  series.py tree   assemble build/linux: a git work tree whose first commit
                   (tag "base") is the pristine base, then one commit per
                   patch, holding the root's new files the map gives it.
                   Only files whose content changes are rewritten, so
                   kbuild rebuilds only what changed.
  series.py sync   write build/linux back: the root's new files are copied
                   to the repository, each patch is regenerated from its
                   commit (plus uncommitted edits of files it touches), and
                   new commits become new patches appended to the series.
  series.py export DIR  the assembled series as git format-patch files
                   with a cover letter (patches/cover-letter), for git am.
  series.py changed  print the new files and the changed lines of patched
                   base files (JSON), for the lint.
  series.py version  print the base version.

Nothing in build/linux is touched when a patch does not apply: the whole
series is first applied to a scratch index.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, 'build')
LINUX = os.path.join(BUILD, 'linux')
PATCHES = os.path.join(REPO, 'patches')
TARBALL = os.environ.get('BASE_TARBALL', '/usr/src/linux-source-6.1.tar.xz')
BASE_PKG = 'linux-source-6.1'

# Top-level directories of the repository that are not kernel paths.
NOT_KERNEL = {'patches', 'testbed', 'mk', 'build', '.ci', '.git'}

FIXED_DATE = '1700000000 +0000'
ASSEMBLER = ('series assembly', 'series@localhost')
TRAILER_PATCH = 'Series-Patch: '
NEW_FILES = os.path.join(PATCHES, 'new-files')
COVER = os.path.join(PATCHES, 'cover-letter')


class Fail(Exception):
    pass


def git(*args, cwd=LINUX, env=None, input=None, check=True):
    full_env = dict(os.environ)
    full_env.update({
        'GIT_AUTHOR_DATE': FIXED_DATE, 'GIT_COMMITTER_DATE': FIXED_DATE,
        'GIT_COMMITTER_NAME': ASSEMBLER[0],
        'GIT_COMMITTER_EMAIL': ASSEMBLER[1],
    })
    if env:
        full_env.update(env)
    p = subprocess.run(['git', *args], cwd=cwd, env=full_env, input=input,
                       capture_output=True, text=True)
    if check and p.returncode:
        raise Fail(f'git {" ".join(args)} failed:\n{p.stderr.strip()}')
    return p.stdout if check else p


def base_version(src):
    vals = {}
    with open(os.path.join(src, 'Makefile')) as f:
        for line in f:
            m = re.match(r'^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION) = ?(.*)$',
                         line)
            if m:
                vals[m.group(1)] = m.group(2).strip()
            if len(vals) == 4:
                break
    ver = '%s.%s.%s%s' % (vals['VERSION'], vals['PATCHLEVEL'],
                          vals['SUBLEVEL'], vals.get('EXTRAVERSION', ''))
    p = subprocess.run(['dpkg-query', '-W', '-f=${Version}', BASE_PKG],
                       capture_output=True, text=True)
    pkg = p.stdout.strip() if p.returncode == 0 else 'unknown'
    return ver, pkg


def ensure_base():
    if os.path.isdir(os.path.join(LINUX, '.git')):
        p = git('rev-parse', '-q', '--verify', 'refs/tags/base^{commit}',
                check=False)
        if p.returncode == 0:
            return
    if not os.path.exists(TARBALL):
        raise Fail(f'{TARBALL} is missing: install {BASE_PKG}')
    print(f'series: extracting {TARBALL} into build/linux (once)')
    shutil.rmtree(LINUX, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix='extract.', dir=BUILD)
    subprocess.run(['tar', '-xf', TARBALL, '-C', tmp], check=True)
    (top,) = os.listdir(tmp)
    os.rename(os.path.join(tmp, top), LINUX)
    os.rmdir(tmp)
    ver, pkg = base_version(LINUX)
    git('init', '-q', '-b', 'series')
    for k, v in (('gc.auto', '0'), ('core.autocrlf', 'false')):
        git('config', k, v)
    # Commits made in build/linux carry the developer's identity.
    for k in ('user.name', 'user.email'):
        p = git('config', k, cwd=REPO, check=False)
        if p.returncode == 0:
            git('config', k, p.stdout.strip())
    git('add', '-A', '-f', '.')
    git('commit', '-q', '-m',
        f'Linux {ver}\n\nBase of the series: Debian {BASE_PKG} {pkg}.',
        env={'GIT_AUTHOR_NAME': ASSEMBLER[0],
             'GIT_AUTHOR_EMAIL': ASSEMBLER[1]})
    git('tag', 'base')


def read_series():
    names = []
    path = os.path.join(PATCHES, 'series')
    if not os.path.exists(path):
        return names
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                names.append(line)
    return names


def parse_patch(path):
    """Return (author, subject, body) of a patch file."""
    with open(path) as f:
        text = f.read()
    head = text.split('\n---\n', 1)[0]
    head = head.split('\ndiff --git ', 1)[0]
    author = None
    subject = None
    lines = head.split('\n')
    i = 0
    while i < len(lines) and lines[i]:
        m = re.match(r'^From: (.*)$', lines[i])
        if m:
            author = m.group(1).strip()
        m = re.match(r'^Subject: (?:\[PATCH[^\]]*\] )?(.*)$', lines[i])
        if m:
            subject = m.group(1).strip()
        i += 1
    body = '\n'.join(lines[i:]).strip('\n')
    name = os.path.basename(path)
    if not author or not subject:
        raise Fail(f'{name}: needs "From:" and "Subject:" header lines')
    m = re.match(r'^(.*?)\s*<([^>]*)>$', author)
    if not m:
        raise Fail(f'{name}: "From:" must be "Name <email>"')
    return (m.group(1), m.group(2)), subject, body


def show_failed_hunk(patch, err):
    """Print the hunk git apply could not place."""
    m = re.search(r'patch failed: (.*):(\d+)', err)
    if not m:
        return
    fname, line = m.group(1), int(m.group(2))
    with open(patch) as f:
        text = f.read().split('\n')
    cur = None
    out = None
    for t in text:
        if t.startswith('diff --git '):
            if out:
                break
            cur = t.split(' b/', 1)[-1]
        elif t.startswith('@@'):
            if out:
                break
            h = re.match(r'^@@ -(\d+)', t)
            if cur == fname and h and int(h.group(1)) == line:
                out = [t]
        elif out is not None:
            out.append(t)
    if out:
        print(f'failing hunk in {fname}:', file=sys.stderr)
        print('\n'.join(out).rstrip('\n'), file=sys.stderr)


def new_files():
    """The repository's files at kernel paths, relative to the root."""
    out = subprocess.run(['git', 'ls-files', '--cached', '--others',
                          '--exclude-standard', '-z'], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    files = []
    for path in out.split('\0'):
        if not path or path.split('/', 1)[0] in NOT_KERNEL or '/' not in path:
            continue
        if os.path.isfile(os.path.join(REPO, path)):
            files.append(path)
    return sorted(files)


def base_paths():
    out = git('ls-tree', '-r', '-z', '--name-only', 'base')
    return set(p for p in out.split('\0') if p)


def debian_ignored(env):
    """Untracked files that only Debian's top-level "/*" rule ignores.

    The .gitignore of Debian's linux-source tarball ends with "/*" (and
    "!/debian/"), which ignores every top-level entry: a file made new under
    drivers/ would be left out of the snapshot.  The kernel's own rules
    report their own pattern; build output is elsewhere (O=build/obj)."""
    out = git('ls-files', '-z', '--others', '--ignored', '--exclude-standard',
              env=env)
    paths = [p for p in out.split('\0') if p]
    if not paths:
        return []
    # check-ignore exits 1 when it matches nothing.
    f = git('check-ignore', '-z', '-v', '--stdin', env=env, check=False,
            input='\0'.join(paths) + '\0').stdout.split('\0')
    return [f[i + 3] for i in range(0, len(f) - 3, 4)
            if f[i] == '.gitignore' and f[i + 2] == '/*']


def snapshot_tree():
    """The tree of build/linux's work tree, uncommitted changes included."""
    with tempfile.TemporaryDirectory() as d:
        idx = os.path.join(d, 'index')
        shutil.copy(os.path.join(LINUX, '.git', 'index'), idx)
        env = {'GIT_INDEX_FILE': idx}
        git('add', '-A', '.', env=env)
        extra = debian_ignored(env)
        if extra:
            git('add', '-f', '--', *extra, env=env)
        return git('write-tree', env=env).strip()


def tree_of(rev):
    return git('rev-parse', f'{rev}^{{tree}}').strip()


def state_file():
    return os.path.join(LINUX, '.git', 'series-assembled')


def read_map():
    """patches/new-files: {path: patch} for the root's new files."""
    out = {}
    if not os.path.exists(NEW_FILES):
        return out
    with open(NEW_FILES) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].split()
            if not line:
                continue
            if len(line) != 2:
                raise Fail(f'patches/new-files:{n}: want "PATH PATCH"')
            if line[0] in out:
                raise Fail(f'patches/new-files:{n}: {line[0]} named twice')
            out[line[0]] = line[1]
    return out


def write_map(mapping, order):
    """Rewrite patches/new-files: its comments, then one line per file,
    grouped by patch in series order."""
    comments = []
    if os.path.exists(NEW_FILES):
        with open(NEW_FILES) as f:
            comments = [ln for ln in f if ln.startswith('#')]
    rank = {name: i for i, name in enumerate(order)}
    rows = sorted(mapping.items(), key=lambda kv: (rank.get(kv[1], 1 << 30),
                                                   kv[0]))
    width = max([len(p) for p, _ in rows] + [0])
    text = ''.join(comments) + ''.join(f'{p:<{width}}  {n}\n'
                                       for p, n in rows)
    old = open(NEW_FILES).read() if os.path.exists(NEW_FILES) else None
    if old != text:
        with open(NEW_FILES, 'w') as f:
            f.write(text)
        print('sync: wrote patches/new-files')


def check_map(files, mapping, series):
    """Every new file at the root is named in the map, with a patch of the
    series; every file the map names is at the root."""
    unmapped = [f for f in files if f not in mapping]
    if unmapped:
        raise Fail('these new files have no patch in patches/new-files; name '
                   'the patch that adds each:\n  ' + '\n  '.join(unmapped))
    missing = sorted(p for p in mapping if p not in files)
    if missing:
        raise Fail('patches/new-files names files the repository does not '
                   'have:\n  ' + '\n  '.join(missing))
    names = set(series)
    unknown = sorted(f'{p} -> {n}' for p, n in mapping.items()
                     if n not in names)
    if unknown:
        raise Fail('patches/new-files names patches that are not in '
                   'patches/series:\n  ' + '\n  '.join(unknown))


def patch_paths(path):
    """The paths a patch file changes (empty when it has no diff)."""
    paths = set()
    with open(path) as f:
        for line in f:
            m = re.match(r'^diff --git a/(\S+) b/(\S+)$', line)
            if m:
                paths.update(m.groups())
    return paths


def add_files(files, env):
    """Stage the root's FILES, as they are, into the index of ENV."""
    if not files:
        return
    blobs = git('hash-object', '-w', '--stdin-paths',
                input='\n'.join(os.path.join(REPO, f)
                                for f in files) + '\n').split()
    info = ''
    for f, blob in zip(files, blobs):
        mode = '100755' if os.access(os.path.join(REPO, f),
                                     os.X_OK) else '100644'
        info += f'{mode} {blob}\t{f}\n'
    git('update-index', '--add', '--index-info', input=info, env=env)


def assemble():
    """Build the series commits in a scratch index; return the last one.

    Each patch's commit holds its diff and the root's new files that
    patches/new-files gives it, so that every commit is a step of the
    series as it is exported."""
    series = read_series()
    files = new_files()
    mapping = read_map()
    if files:
        base = base_paths()
        clash = [f for f in files if f in base]
        if clash:
            raise Fail('these files exist in the base; change them with a '
                       'patch instead:\n  ' + '\n  '.join(clash))
    check_map(files, mapping, series)
    whole = {}
    for f, name in mapping.items():
        whole.setdefault(name, []).append(f)
    with tempfile.TemporaryDirectory() as d:
        env = {'GIT_INDEX_FILE': os.path.join(d, 'index')}
        git('read-tree', 'base', env=env)
        parent = git('rev-parse', 'base').strip()
        for name in series:
            path = os.path.join(PATCHES, name)
            if not os.path.exists(path):
                raise Fail(f'patches/series names {name}, which is missing')
            (aname, amail), subject, body = parse_patch(path)
            touched = patch_paths(path)
            both = sorted(touched & set(mapping))
            if both:
                raise Fail(f'patch {name} changes files that arrive whole '
                           'from the repository root (patches/new-files):'
                           '\n  ' + '\n  '.join(both))
            if touched:
                p = git('apply', '--cached', '--whitespace=nowarn', path,
                        env=env, check=False)
                if p.returncode:
                    print(p.stderr.rstrip(), file=sys.stderr)
                    show_failed_hunk(path, p.stderr)
                    raise Fail(f'patch {name} does not apply: the tree was '
                               'left as it was')
            add_files(sorted(whole.get(name, [])), env)
            tree = git('write-tree', env=env).strip()
            msg = f'{subject}\n\n{body}\n\n{TRAILER_PATCH}{name}\n'
            parent = git('commit-tree', tree, '-p', parent, input=msg,
                         env={**env, 'GIT_AUTHOR_NAME': aname,
                              'GIT_AUTHOR_EMAIL': amail}).strip()
        return parent


def cmd_tree(force):
    os.makedirs(BUILD, exist_ok=True)
    ensure_base()
    ver, pkg = base_version(LINUX)
    print(f'series: base Linux {ver} (Debian {BASE_PKG} {pkg}), '
          f'{len(read_series())} patches, {len(new_files())} new files')
    final = assemble()
    final_tree = tree_of(final)
    git('update-index', '-q', '--refresh', check=False)
    work = snapshot_tree()
    last = None
    if os.path.exists(state_file()):
        with open(state_file()) as f:
            last = f.read().strip() or None
    last_tree = tree_of(last) if last else tree_of('HEAD')
    if work == final_tree:
        git('reset', '-q', '--mixed', final)
    elif work == last_tree or force:
        git('reset', '-q', '--hard', final)
        git('clean', '-q', '-f', '-d')
    else:
        raise Fail('build/linux has changes that are not in the repository:\n'
                   '  write them back with "make sync", or throw them away '
                   'with "make tree FORCE=1"')
    with open(state_file(), 'w') as f:
        f.write(final + '\n')


def trailer_value(msg, key):
    for line in msg.split('\n'):
        if line.startswith(key):
            return line[len(key):].strip()
    return None


def slug(subject, taken):
    """A patch file name from a subject, as git format-patch makes them."""
    s = re.sub(r'[^A-Za-z0-9]+', '-', subject).strip('-').lower()
    if len(s) > 52:
        s = s[:52].rsplit('-', 1)[0]
    s = s or 'patch'
    name = s + '.patch'
    n = 2
    while name in taken:
        name = f'{s}-{n}.patch'
        n += 1
    return name


def format_patch(commit, pre, post, paths, msg):
    author = git('show', '-s', '--format=%an <%ae>', commit).strip()
    lines = msg.rstrip('\n').split('\n')
    lines = [ln for ln in lines if not ln.startswith(TRAILER_PATCH)]
    subject = lines[0]
    body = '\n'.join(lines[1:]).strip('\n')
    stat = diff = ''
    if paths:
        stat = git('diff', '--stat=72', '--summary', pre, post, '--', *paths)
        diff = git('diff', '--no-color', '--no-ext-diff', '--binary', pre,
                   post, '--', *paths)
    return (f'From: {author}\nSubject: [PATCH] {subject}\n\n{body}\n---\n'
            f'{stat}\n{diff}')


def changed_paths(commit):
    return [p for p in git('diff-tree', '-r', '--no-commit-id', '--name-only',
                           '--no-renames', commit).split('\n') if p]


def cmd_sync():
    ensure_base()
    if not os.path.exists(state_file()):
        raise Fail('build/linux was not assembled by "make tree"')
    # Writing back over changes made in the repository since build/linux
    # was assembled would lose them.
    with open(state_file()) as f:
        last = f.read().strip()
    if tree_of(assemble()) != tree_of(last):
        raise Fail('the repository changed since build/linux was assembled '
                   'or written back: writing build/linux back would undo '
                   'those changes.  Run "make tree" first if build/linux '
                   'has no edits of its own; otherwise move them over by '
                   'hand.')
    base = base_paths()
    work = snapshot_tree()
    head = git('rev-parse', 'HEAD').strip()
    chain = git('rev-list', '--reverse', 'base..HEAD').split()
    changes = {c: changed_paths(c) for c in chain}
    # A new file that one commit adds and no later commit changes arrives
    # whole, from the repository root; one that later commits change lives
    # in the patches, as a diff in each.
    listing = {}
    for ent in git('ls-tree', '-r', '-z', work).split('\0'):
        if ent:
            meta, p = ent.split('\t', 1)
            if p not in base:
                listing[p] = meta.split()
    commits_of = {}
    for c in chain:
        for p in changes[c]:
            if p not in base:
                commits_of.setdefault(p, []).append(c)
    whole = {p for p in listing if len(commits_of.get(p, [])) == 1}
    odd = sorted(p for p in whole if '/' not in p or
                 p.split('/', 1)[0] in NOT_KERNEL or listing[p][0] == '120000')
    if odd:
        raise Fail('these new files cannot live at the repository root (a '
                   'top-level file, a path the repository keeps for itself, '
                   'or a symbolic link):\n  ' + '\n  '.join(odd))
    loose = sorted(p for p in listing if p not in commits_of)
    if loose:
        raise Fail('no commit adds these new files; commit each in '
                   'build/linux with the change it belongs to (the commit '
                   'message becomes the patch description) and run "make '
                   'sync" again:\n  ' + '\n  '.join(loose))

    def in_patch(p):
        return p in base or p not in whole
    # Uncommitted changes go to the last commit touching the file.
    delta = [ln.split('\t', 1) for ln in
             git('diff-tree', '-r', '--name-status', '--no-renames', head,
                 work).splitlines() if ln]
    delta = [(st, p) for st, p in delta if in_patch(p)]
    units = []          # [commit, name, touched, msg, extra, adds]
    msgs = {c: git('show', '-s', '--format=%B', c) for c in chain}
    # A new patch's name may be one that a dropped commit had.
    names = [n for n in (trailer_value(m, TRAILER_PATCH)
                         for m in msgs.values()) if n]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise Fail('more than one commit of build/linux carries the trailer '
                   f'"{TRAILER_PATCH}" of these patches; keep it in one '
                   '(a split commit\'s new half drops it, and becomes a new '
                   'patch):\n  ' + '\n  '.join(twice))
    taken = set(names)
    for c in chain:
        msg = msgs[c]
        touched = [p for p in changes[c] if in_patch(p)]
        adds = [p for p in changes[c] if p in whole]
        name = trailer_value(msg, TRAILER_PATCH)
        if not name:
            if not touched and not adds:
                continue
            name = slug(msg.split('\n', 1)[0], taken)
            taken.add(name)
        units.append([c, name, touched, msg, {}, adds])
    orphans = []
    for st, p in delta:
        owner = None
        for u in units:
            if p in u[2]:
                owner = u
        if owner is None:
            orphans.append(p)
        else:
            owner[4][p] = st
    if orphans:
        raise Fail('no patch touches these changed base files; commit them '
                   'in build/linux (the commit message becomes the patch '
                   'description) and run "make sync" again:\n  ' +
                   '\n  '.join(orphans))
    written = []
    mapping = {}
    for c, name, touched, msg, extra, adds in units:
        post = tree_of(c)
        if extra:
            with tempfile.TemporaryDirectory() as d:
                env = {'GIT_INDEX_FILE': os.path.join(d, 'index')}
                git('read-tree', c, env=env)
                info = ''
                for p, st in extra.items():
                    if st == 'D':
                        info += f'0 {"0" * 40}\t{p}\n'
                    else:
                        mode, _, blob = git('ls-tree', work, '--', p).split(
                            '\t', 1)[0].split()
                        info += f'{mode} {blob}\t{p}\n'
                git('update-index', '--index-info', input=info, env=env)
                post = git('write-tree', env=env).strip()
        paths = sorted(set(touched) | set(extra))
        text = format_patch(c, f'{c}^', post, paths, msg)
        path = os.path.join(PATCHES, name)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            os.makedirs(PATCHES, exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
            print(f'sync: wrote patches/{name}')
        written.append(name)
        for p in adds:
            mapping[p] = name
    for name in read_series():
        if name not in written:
            os.remove(os.path.join(PATCHES, name))
            print(f'sync: removed patches/{name}')
    series = os.path.join(PATCHES, 'series')
    comments = []
    if os.path.exists(series):
        comments = [ln for ln in open(series) if ln.startswith('#')]
    new_text = ''.join(comments) + ''.join(n + '\n' for n in written)
    if not os.path.exists(series) or open(series).read() != new_text:
        with open(series, 'w') as f:
            f.write(new_text)
        print('sync: wrote patches/series')
    write_map(mapping, written)
    # The new files that arrive whole are copied to the root, as they are
    # in the work tree.
    for p in sorted(whole):
        mode, _, blob = listing[p]
        data = subprocess.run(['git', 'cat-file', 'blob', blob], cwd=LINUX,
                              capture_output=True, check=True).stdout
        dst = os.path.join(REPO, p)
        perm = 0o755 if mode == '100755' else 0o644
        if (os.path.exists(dst) and open(dst, 'rb').read() == data and
                os.stat(dst).st_mode & 0o777 == perm):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, 'wb') as f:
            f.write(data)
        os.chmod(dst, perm)
        print(f'sync: wrote {p}')
    for p in new_files():
        if p not in whole:
            os.remove(os.path.join(REPO, p))
            print(f'sync: removed {p}' + (' (it lives in the patches now)'
                                          if p in listing else ''))
    # The repository must now assemble to the work tree; otherwise the
    # state stays as it was, so that "make tree" keeps build/linux.
    again = tree_of(assemble())
    if again != work:
        raise Fail('the repository as written back does not assemble to '
                   'build/linux; nothing in build/linux was changed.  '
                   f'Compare: git -C build/linux diff {again} {work}')
    # The repository now describes the work tree: it is what "make tree"
    # may replace without losing anything.
    with open(state_file(), 'w') as f:
        f.write(work + '\n')


def signed_off(msg, author):
    return f'Signed-off-by: {author}' in msg.split('\n')


def cmd_export(out):
    """The assembled series as git format-patch files, without the
    assembly's trailers, and a cover letter from patches/cover-letter."""
    if not os.path.exists(state_file()):
        raise Fail('build/linux was not assembled by "make tree"')
    last = assemble()
    with open(state_file()) as f:
        if tree_of(last) != tree_of(f.read().strip()):
            raise Fail('build/linux is not the series of the repository: '
                       'run "make tree" (or "make sync") first')
    if not os.path.exists(COVER):
        raise Fail('patches/cover-letter is missing')
    with open(COVER) as f:
        cover = f.read().strip('\n').split('\n')
    parent = git('rev-parse', 'base').strip()
    for c in git('rev-list', '--reverse', f'base..{last}').split():
        msg = git('show', '-s', '--format=%B', c).rstrip('\n')
        name = trailer_value(msg, TRAILER_PATCH)
        msg = '\n'.join(ln for ln in msg.split('\n')
                        if not ln.startswith(TRAILER_PATCH)).rstrip('\n')
        aname, amail = git('show', '-s', '--format=%an%n%ae',
                           c).split('\n')[:2]
        if tree_of(c) == tree_of(f'{c}^'):
            raise Fail(f'patch {name} changes nothing: git format-patch '
                       'would leave it out')
        if not signed_off(msg, f'{aname} <{amail}>'):
            raise Fail(f'patch {name} has no "Signed-off-by: {aname} '
                       f'<{amail}>"')
        parent = git('commit-tree', tree_of(c), '-p', parent,
                     input=msg + '\n',
                     env={'GIT_AUTHOR_NAME': aname,
                          'GIT_AUTHOR_EMAIL': amail}).strip()
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    git('format-patch', '-q', '-M', '--cover-letter', '--zero-commit',
        '--no-signature', '--subject-prefix=PATCH 6.1', '--stat=72',
        '-o', out, f'base..{parent}')
    path = os.path.join(out, '0000-cover-letter.patch')
    with open(path) as f:
        text = f.read()
    text = text.replace('*** SUBJECT HERE ***', cover[0], 1)
    text = text.replace('*** BLURB HERE ***',
                        '\n'.join(cover[1:]).strip('\n'), 1)
    with open(path, 'w') as f:
        f.write(text)
    n = len(os.listdir(out)) - 1
    print(f'series: {n} patches and a cover letter in '
          f'{os.path.relpath(out, REPO)}/')


def cmd_changed():
    """New files and, for patched base files, the changed line ranges."""
    base = base_paths()
    head = open(state_file()).read().strip()
    out = {'new': [], 'patched': {}}
    for p in git('diff-tree', '-r', '--name-only', '--no-renames',
                 '--diff-filter=AM', 'base', head).split('\n'):
        if p and p not in base:
            out['new'].append(p)
    cur = None
    for line in git('diff', '-U0', '--no-renames', 'base', head).split('\n'):
        if line.startswith('+++ '):
            cur = line[6:] if line.startswith('+++ b/') else None
            if cur not in base:
                cur = None
            continue
        m = re.match(r'^@@ -\S+ \+(\d+)(?:,(\d+))? @@', line)
        if m and cur:
            start, count = int(m.group(1)), int(m.group(2) or 1)
            if count:
                out['patched'].setdefault(cur, []).append(
                    [start, start + count - 1])
    for p in out['patched']:
        out['patched'].setdefault(p, [])
    json.dump(out, sys.stdout, indent=1)
    print()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    cmd = sys.argv[1]
    os.makedirs(BUILD, exist_ok=True)
    # One assembly at a time: two makes may run side by side.
    lock = open(os.path.join(BUILD, '.series.lock'), 'w')
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if cmd == 'tree':
            cmd_tree(os.environ.get('FORCE') == '1')
        elif cmd == 'sync':
            cmd_sync()
        elif cmd == 'export' and len(sys.argv) == 3:
            cmd_export(os.path.abspath(sys.argv[2]))
        elif cmd == 'changed':
            cmd_changed()
        elif cmd == 'version':
            ver, pkg = base_version(LINUX)
            print(f'Linux {ver} (Debian {BASE_PKG} {pkg})')
        else:
            print(__doc__)
            sys.exit(2)
    except Fail as e:
        print(f'series: {e}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
