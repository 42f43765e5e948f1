#!/bin/bash
# Generate the test kernel's .config: tinyconfig, then the kernel's
# kvm_guest.config and our fragments merged on top, then olddefconfig.
# The result is copied to OBJ/.config only when it differs, so that an
# unchanged configuration does not make kbuild rebuild anything.  Fails,
# naming them, when options of our fragments did not take effect.
#
#   config.sh LINUX OBJ FRAGMENT...
set -eo pipefail
linux=$1
obj=$2
shift 2
scratch=$obj-kconfig
mkdir -p "$obj" "$scratch"
kmake() { make -s -C "$linux" O="$scratch" ARCH=x86_64 "$@"; }
kmake tinyconfig >"$scratch/tinyconfig.log" 2>&1 ||
	{ cat "$scratch/tinyconfig.log" >&2; exit 1; }
"$linux"/scripts/kconfig/merge_config.sh -m -O "$scratch" "$scratch/.config" \
	"$linux"/kernel/configs/kvm_guest.config "$@" >"$scratch/merge.log"
kmake olddefconfig >"$scratch/olddefconfig.log" 2>&1 ||
	{ cat "$scratch/olddefconfig.log" >&2; exit 1; }
python3 "$(dirname "$0")"/configcheck.py "$scratch/.config" "$@"
if ! cmp -s "$scratch/.config" "$obj/.config"; then
	cp "$scratch/.config" "$obj/.config"
	echo "config: $obj/.config updated"
fi
