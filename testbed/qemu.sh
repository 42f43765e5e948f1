#!/bin/bash
# Boot the test machine under QEMU (TCG).
#
#   qemu.sh --mode check|run --iommu intel|virtio --kernel BZIMAGE
#           --initrd CPIO --out DIR [--tests "prog ..."] [--timeout SECS]
#           [--append "kernel arguments"] [--rootfs DIR]...
#
# The machine: q35, 2 vCPUs, 4 GiB, an emulated IOMMU placed before every
# PCI device (intel-iommu with interrupt remapping and caching mode, or
# virtio-iommu-pci), and
#   00:04.0        edu (1234:11e8), alone in its IOMMU group;
#   00:05.0        pcie-pci-bridge, with behind it
#     01:01.0      edu, and
#     01:02.0      e1000 (bound to the e1000 driver at boot);
#                  both in one IOMMU group, as they sit behind a PCI bridge.
# With virtio-iommu the last two are 00:06.0 and 00:06.1 instead (below).
#   00:07.0        NVMe controller (1b36:0010), an SR-IOV PF with one VF,
#                  for the VF token checks; no driver binds it at boot.
# DIR/share is shared with the guest over 9p, mounted at /host; the
# --rootfs directories (testbed/mkrootfs.sh) read-only, the first mounted
# at /rootfs, each next one at /rootfs-SUITE (DIR ends in -SUITE).
#
# Serial ports: ttyS0 is the console (kernel log, shell): DIR/console.log.
# ttyS1 carries the test runner's TAP stream: DIR/tap.log.  Keeping them
# apart stops kernel messages from splitting TAP lines.
set -eo pipefail
mode=check iommu=intel kernel= initrd= out= tests= timeout=1800 extra_append=
rootfs=()
while [ $# -gt 0 ]; do
	case $1 in
	--mode) mode=$2 ;;
	--iommu) iommu=$2 ;;
	--kernel) kernel=$2 ;;
	--initrd) initrd=$2 ;;
	--out) out=$2 ;;
	--tests) tests=$2 ;;
	--timeout) timeout=$2 ;;
	--append) extra_append+=" $2" ;;
	--rootfs) rootfs+=("$2") ;;
	*) echo "qemu.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift 2
done
[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$out" ] || {
	echo "qemu.sh: --kernel, --initrd and --out are required" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out/share"

case $iommu in
intel) iommu_dev=(-device intel-iommu,intremap=on,caching-mode=on) ;;
# x86 has no interrupt remapping with virtio-iommu: VFIO's type1 and
# iommufd must be told to accept that.
virtio) iommu_dev=(-device virtio-iommu-pci,addr=0x3)
	extra_append+=" vfio_iommu_type1.allow_unsafe_interrupts=1"
	extra_append+=" iommufd.allow_unsafe_interrupts=1" ;;
*) echo "qemu.sh: IOMMU must be intel or virtio" >&2; exit 2 ;;
esac

# The edu device clamps DMA addresses to 28 bits unless told otherwise.
edu_mask=dma_mask=0xffffffffffffffff
append="console=ttyS0,115200 panic=-1 testbed.mode=$mode testbed.iommu=$iommu"
append+=$extra_append
[ -z "$tests" ] || append+=" testbed.tests=${tests// /,}"

# Two devices that the IOMMU cannot isolate from each other.  QEMU 7.2's
# virtio-iommu translates only the root bus (its ACPI VIOT table covers
# bus 0), so there they are two functions of one root-bus slot, which
# share a group for want of ACS, instead of sitting behind a bridge.
net=(-netdev user,id=net0,restrict=on)
if [ "$iommu" = intel ]; then
	shared_group=(-device pcie-pci-bridge,id=br0,bus=pcie.0,addr=0x5
		-device edu,bus=br0,addr=0x1,$edu_mask
		"${net[@]}" -device e1000,bus=br0,addr=0x2,netdev=net0)
else
	shared_group=(-device edu,bus=pcie.0,addr=0x6.0,multifunction=on,$edu_mask
		"${net[@]}" -device e1000,bus=pcie.0,addr=0x6.1,netdev=net0)
fi

args=(-machine q35 -accel tcg,thread=multi -cpu max -smp 2 -m 4G
	-nodefaults -no-reboot -display none
	-kernel "$kernel" -initrd "$initrd"
	"${iommu_dev[@]}"
	-device edu,bus=pcie.0,addr=0x4,$edu_mask
	"${shared_group[@]}"
	-device nvme-subsys,id=nvmesubsys
	-device nvme,bus=pcie.0,addr=0x7,serial=sriovpf,subsys=nvmesubsys,sriov_max_vfs=1,sriov_vq_flexible=2,sriov_vi_flexible=1
	-virtfs local,path="$out/share",mount_tag=host,security_model=none,id=host)
for dir in "${rootfs[@]}"; do
	# The first is "rootfs", the next "rootfs-SUITE" (testbed/guest/init).
	tag=rootfs
	[ "$dir" = "${rootfs[0]}" ] || tag=rootfs-${dir##*-}
	args+=(-virtfs local,path="$dir",mount_tag=$tag,security_model=none,readonly=on,id=$tag)
done
tap=(-serial file:"$out/tap.log")

if [ "$mode" = run ]; then
	if [ -t 0 ]; then
		append+=" testbed.shell=1"
		con=(-chardev stdio,id=con,mux=on,signal=off,logfile="$out/console.log"
		     -mon chardev=con)
		echo "qemu.sh: guest shell on this terminal; Ctrl-A x quits QEMU"
	else
		con=(-chardev stdio,id=con,logfile="$out/console.log")
	fi
	exec qemu-system-x86_64 "${args[@]}" "${con[@]}" -serial chardev:con \
		"${tap[@]}" -append "$append"
fi

echo "boot: $iommu IOMMU, log in $out/console.log, tests in $out/tap.log"
status=0
timeout "$timeout" qemu-system-x86_64 "${args[@]}" \
	-serial file:"$out/console.log" "${tap[@]}" -append "$append" \
	</dev/null >"$out/qemu.log" 2>&1 || status=$?
if [ $status = 124 ]; then
	echo "boot: the guest did not power off within $timeout s" >&2
elif [ $status != 0 ]; then
	echo "boot: QEMU exited with status $status:" >&2
	tail -5 "$out/qemu.log" >&2
fi
# The results, not QEMU's status, decide: results.py reads the logs.
exit 0
