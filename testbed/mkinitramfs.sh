#!/bin/bash
# Build the test guest's initramfs: Debian's busybox-static, the init and
# the runner, the test programs and their list, the kernel's modules and
# its .config.
#
#   mkinitramfs.sh OBJ TESTS OUT     writes OUT/initramfs.cpio.gz
set -eo pipefail
obj=$1
tests=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox
if [ ! -x "$busybox" ] || readelf -l "$busybox" | grep -q 'interpreter'; then
	echo "mkinitramfs: $busybox is not Debian's busybox-static" >&2
	exit 1
fi

root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,tests,lib}
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list-full); do
	[ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done
install -m 755 "$here/guest/init" "$root/init"
install -m 755 "$here/guest/runner" "$root/bin/testbed-runner"
cp -a "$tests"/. "$root/tests/"
if [ -d "$obj/modroot/lib/modules" ]; then
	cp -a "$obj/modroot/lib/modules" "$root/lib/"
fi
# The tests ask it which features the kernel was built with.
cp "$obj/.config" "$root/etc/kernel.config"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet --owner=0:0) | gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
