#!/bin/bash
# Mainline as a black box: build Debian's linux-source-6.12 with the test
# kernel's configuration and boot it in the test machine with our test
# programs, so that a test asserting a behaviour mainline does not have
# shows.  Only the built kernel is used; its sources are not read.
#
#   mainline.sh BUILD TESTS IOMMU "PROGRAMS" ["ROOTFS..."]
#
# BUILD/mainline/linux holds the extracted source, BUILD/obj-mainline the
# kernel (kept between runs, so a second run only boots).  Options of our
# fragments that 6.12 lacks or renamed are dropped and listed, not fatal.
#
# Two boots: 6.12 cannot create its mock IOMMU's devices while intel-iommu
# is active (MOCK_DOMAIN answers EINVAL, even for an unknown IOAS ID), so
# the programs of the mock (iommufd*) run with intel_iommu=off, logs in
# BUILD/run-mainline-mock; the others on the IOMMU machine, logs in
# BUILD/run-mainline.  PROGRAMS, when not empty, picks programs of the
# test list.  ROOTFS are testbed/mkrootfs.sh's root filesystems with the
# VMMs and DPDK the guest tests run, the first Debian 13's.
set -eo pipefail
build=$1
tests=$2
iommu=$3
only=$4
rootfs=$5
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tarball=/usr/src/linux-source-6.12.tar.xz
src=$build/mainline/linux
obj=$build/obj-mainline

if [ ! -f "$tarball" ]; then
	echo "mainline: $tarball missing; install linux-source-6.12" >&2
	exit 1
fi
# Extracted again when Debian's package brings a newer tarball
stamp=$build/mainline/extracted
if [ ! -f "$stamp" ] || [ "$tarball" -nt "$stamp" ]; then
	rm -rf "$build/mainline"
	mkdir -p "$build/mainline"
	tar -C "$build/mainline" -xf "$tarball"
	mv "$build/mainline/linux-source-6.12" "$src"
	touch "$stamp"
fi
echo "mainline: $(make -s -C "$src" kernelversion) from $tarball"

# The same fragments as the test kernel; what 6.12 does not take is
# listed only.
scratch=$obj-kconfig
mkdir -p "$obj" "$scratch"
kmake() { make -s -C "$src" O="$scratch" ARCH=x86_64 "$@"; }
kmake tinyconfig >"$scratch/tinyconfig.log" 2>&1 ||
	{ cat "$scratch/tinyconfig.log" >&2; exit 1; }
"$src"/scripts/kconfig/merge_config.sh -m -O "$scratch" "$scratch/.config" \
	"$src"/kernel/configs/kvm_guest.config "$top/testbed/kernel.config" \
	>"$scratch/merge.log"
kmake olddefconfig >"$scratch/olddefconfig.log" 2>&1 ||
	{ cat "$scratch/olddefconfig.log" >&2; exit 1; }
python3 "$here/configcheck.py" "$scratch/.config" \
	"$top/testbed/kernel.config" 2>/dev/null |
	sed 's/^/mainline: not in 6.12: /' || true
cmp -s "$scratch/.config" "$obj/.config" || cp "$scratch/.config" "$obj/.config"

ccache=$(command -v ccache || true)
"$top/mk/stage.sh" mainline-kernel make -s -C "$src" O="$obj" ARCH=x86_64 \
	CC="${ccache:+ccache }gcc" -j"$(nproc)" bzImage modules
rm -rf "$obj/modroot"
make -s -C "$src" O="$obj" ARCH=x86_64 INSTALL_MOD_PATH="$obj/modroot" \
	INSTALL_MOD_STRIP=1 modules_install
"$top/testbed/mkinitramfs.sh" "$obj" "$tests" "$build/initramfs-mainline"

mock= other=
while read -r prog _; do
	case $prog in ''|'#'*) continue ;; esac
	[ -z "$only" ] || case " $only " in *" $prog "*) ;; *) continue ;; esac
	case $prog in iommufd*) mock+=" $prog" ;; *) other+=" $prog" ;; esac
done <"$tests/list"
rm -rf "$build/run-mainline-mock" "$build/run-mainline"
rootfs_args=()
for dir in $rootfs; do
	rootfs_args+=(--rootfs "$dir")
done
boot() {
	"$top/mk/stage.sh" mainline-boot "$top/testbed/qemu.sh" --mode check \
		--kernel "$obj/arch/x86/boot/bzImage" \
		--initrd "$build/initramfs-mainline/initramfs.cpio.gz" \
		"${rootfs_args[@]}" "$@"
}
[ -z "$mock" ] || boot --iommu intel --append intel_iommu=off \
	--out "$build/run-mainline-mock" --tests "${mock# }"
[ -z "$other" ] || boot --iommu "$iommu" --out "$build/run-mainline" \
	--tests "${other# }"
