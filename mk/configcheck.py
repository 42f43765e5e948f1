#!/usr/bin/env python3
"""Check that every option of one or more config fragments took effect.

Usage: configcheck.py .config fragment...

Prints each option whose value in .config differs from the fragment that
set it last (fragments merge in order, as merge_config.sh merges them) and
exits 1 if there is any.  "# CONFIG_X is not set" in a fragment means the
option must be unset in .config.
"""
import re
import sys

SET = re.compile(r'^(CONFIG_[A-Za-z0-9_]+)=(.*)$')
UNSET = re.compile(r'^# (CONFIG_[A-Za-z0-9_]+) is not set$')


def parse(path):
    vals = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = SET.match(line)
            if m:
                vals[m.group(1)] = m.group(2)
                continue
            m = UNSET.match(line)
            if m:
                vals[m.group(1)] = None
    return vals


def main():
    have = parse(sys.argv[1])
    bad = 0
    # Fragments merge in order: an option a later one sets again is
    # wanted as the later one says.
    wanted = {}
    for frag in sys.argv[2:]:
        for opt, want in parse(frag).items():
            wanted[opt] = (frag, want)
    for opt, (frag, want) in wanted.items():
        got = have.get(opt)
        if got != want:
            bad += 1
            print(f'{frag}: {opt}: wanted {want or "not set"}, '
                  f'got {got or "not set"}')
    if bad:
        print(f'{bad} option(s) did not take effect; check their dependencies '
              f'in Kconfig', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
