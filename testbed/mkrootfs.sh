#!/bin/bash
# The root filesystem of the real VMMs the guest tests run: Debian 13
# (trixie), minimal, with its qemu-system-x86 (QEMU 10.0), made with
# debootstrap from Debian's archive and kept until "make distclean".
# The guest mounts it read-only over 9p at /rootfs and enters it with
# chroot (testbed/guest/init), so the host's own packages stay untouched.
#
#   mkrootfs.sh DIR
#
# DIR/.complete marks a finished root filesystem; an interrupted one is
# made again from scratch.
set -eo pipefail
dir=$1
suite=trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=qemu-system-x86

[ -n "$dir" ] || { echo "mkrootfs.sh: DIR is required" >&2; exit 2; }
if [ -f "$dir/.complete" ]; then
	echo "rootfs: $dir ($(cat "$dir/.complete"))"
	exit 0
fi
command -v debootstrap >/dev/null ||
	{ echo "mkrootfs.sh: debootstrap is missing (make deps)" >&2; exit 1; }
rm -rf "$dir" "$dir.tmp"
mkdir -p "$(dirname "$dir")"
debootstrap --variant=minbase --include="$packages" "$suite" "$dir.tmp" \
	"$mirror" >"$dir.log" 2>&1 ||
	{ tail -5 "$dir.log" >&2; exit 1; }
# Nothing in it runs as a system: no daemons, no package cache.
rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb
version=$(chroot "$dir.tmp" qemu-system-x86_64 --version | head -1)
echo "$suite: $version" >"$dir.tmp/.complete"
mv "$dir.tmp" "$dir"
echo "rootfs: $dir ($suite: $version)"
