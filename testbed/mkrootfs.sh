#!/bin/bash
# A root filesystem of real programs the guest tests run: a minimal Debian
# of SUITE with its qemu-system-x86 and DPDK (dpdk-testpmd), made with
# debootstrap from Debian's archive and kept until "make distclean".
# Debian 13 (trixie) brings QEMU 10.0 and DPDK 24.11, Debian 12 (bookworm)
# QEMU 7.2 and DPDK 22.11.  The guest mounts each read-only over 9p (the
# first at /rootfs, the next at /rootfs-SUITE) and enters it with chroot
# (testbed/guest/init), so the host's own packages stay untouched.
#
#   mkrootfs.sh DIR SUITE
#
# DIR/.complete marks a finished root filesystem and names what it holds;
# one made with other packages, or interrupted, is made again.
set -eo pipefail
dir=$1
suite=$2
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# dpdk-testpmd is in dpdk-dev; the PMDs are recommended only.
case $suite in
bookworm) abi=23 ;;
*) abi=25 ;;
esac
packages=qemu-system-x86,dpdk-dev,librte-net-e1000-$abi,librte-mempool-ring$abi

[ -n "$dir" ] && [ -n "$suite" ] ||
	{ echo "mkrootfs.sh: DIR and SUITE are required" >&2; exit 2; }
if [ -f "$dir/.complete" ] &&
   [ "$(sed -n 2p "$dir/.complete")" = "packages: $packages" ]; then
	echo "rootfs: $dir ($(head -1 "$dir/.complete"))"
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
dpdk=$(chroot "$dir.tmp" dpkg-query -W -f '${Version}' dpdk-dev)
{
	echo "$suite: $version, DPDK $dpdk"
	echo "packages: $packages"
} >"$dir.tmp/.complete"
mv "$dir.tmp" "$dir"
echo "rootfs: $dir ($(head -1 "$dir/.complete"))"
