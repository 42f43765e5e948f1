# Entry point of the series: assemble it onto Linux 6.1, build the test
# kernel, boot it under QEMU and run the tests.  See README.md.
#
#   make check        lint, then the tests on four machines (intel-iommu,
#                     virtio-iommu, intel with a kernel without VFIO
#                     groups, and intel with iommufd's /dev/vfio/vfio),
#                     then the results: what CI runs
#   make run          build, boot, demonstrate, then a guest shell on a tty
#   make tree / sync  developer round trip through build/linux
#   make series       the series for git am, with a cover letter, in
#                     build/series
#   make series-check the exported series applied with git am to the base,
#                     checkpatch on each patch, and every prefix built with
#                     the test configuration and with the new options off
#   make lint         checkpatch, kernel-doc, W=1 + sparse, coccicheck
#   make kernel       the test kernel only;  make boot: run the tests only
#   make bench        DMA map/unmap benchmark, type1 against iommufd
#   make cross-s390   the s390 VFIO drivers, cross-compiled (not in check)
#   make check-mainline  our tests on mainline 6.12 built with the same
#                     configuration, the black-box oracle (not in check)
#
# Variables: KASAN=1 (KASAN kernel in build/obj-kasan), IOMMU=virtio
# (virtio-iommu machine instead of intel-iommu; logs in build/run-virtio),
# VFIO_GROUP=n (a kernel without VFIO groups and containers, in
# build/obj-nogroup; logs in build/run-nogroup), VFIO_CONTAINER=iommufd
# (no container of VFIO's own: /dev/vfio/vfio is iommufd's, in
# build/obj-compat; logs in build/run-compat), TESTS="prog ..."
# (run only these test programs), BENCH_ARGS="--sizes 256M --rounds 3"
# (arguments of the benchmark), J=N (parallel jobs).

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
LINUX := $(BUILD)/linux
J ?= $(shell echo $$(( $$(nproc) + 1 )))
KASAN ?= 0
IOMMU ?= intel
VFIO_GROUP ?= y
VFIO_CONTAINER ?= type1
TESTS ?=
BENCH_ARGS ?=
# The kernel command line carries them with ':' for ' '.
empty :=
space := $(empty) $(empty)
comma := ,
BENCH_APPEND := $(if $(strip $(BENCH_ARGS)),testbed.bench_args=$(subst \
	$(space),:,$(strip $(BENCH_ARGS))))

ifeq ($(KASAN),1)
OBJ := $(BUILD)/obj-kasan
FRAGMENTS := $(TOP)/testbed/kernel.config $(TOP)/testbed/kasan.config
else
OBJ := $(BUILD)/obj
FRAGMENTS := $(TOP)/testbed/kernel.config
endif
ifeq ($(VFIO_GROUP),n)
OBJ := $(OBJ)-nogroup
FRAGMENTS += $(TOP)/testbed/nogroup.config
else ifeq ($(VFIO_CONTAINER),iommufd)
OBJ := $(OBJ)-compat
FRAGMENTS += $(TOP)/testbed/compat.config
endif
# The benchmark's kernel: without the debugging options that tax every
# allocation (testbed/bench.config).
ifneq ($(filter bench,$(MAKECMDGOALS)),)
OBJ := $(OBJ)-bench
FRAGMENTS += $(TOP)/testbed/bench.config
endif
# The tags of testbed/allowed-skips that apply to this configuration, and
# where its boot keeps its logs: build/run for the default machine.
PROFILE := $(if $(filter n,$(VFIO_GROUP)),nogroup,$(if \
	$(filter iommufd,$(VFIO_CONTAINER)),compat))
RESULTS_CONFIG := $(IOMMU)$(if $(PROFILE),$(comma)$(PROFILE))
RUN := $(BUILD)/run$(if $(filter virtio,$(IOMMU)),-virtio)$(if \
	$(PROFILE),-$(PROFILE))

# A boot's time limit: the guest runner triples each program's limit on a
# KASAN kernel, and so does this.
BOOT_TIMEOUT := $(if $(filter 1,$(KASAN)),5400,1800)

CCACHE := $(shell command -v ccache 2>/dev/null)
KCC := $(if $(CCACHE),ccache gcc,gcc)
# Fixed build identity: reproducible images, and ccache hits on init/.
KMAKE := $(MAKE) -C $(LINUX) O=$(OBJ) ARCH=x86_64 CC="$(KCC)" \
	KBUILD_BUILD_USER=series KBUILD_BUILD_HOST=testbed \
	KBUILD_BUILD_TIMESTAMP="2024-01-01 00:00:00 UTC"
STAGE := $(TOP)/mk/stage.sh

# Debian packages the build and the test rig need.
PACKAGES := build-essential bc bison flex libelf-dev libssl-dev cpio kmod \
	xz-utils python3 python3-ply python3-git qemu-system-x86 busybox-static sparse \
	coccinelle ocaml-nox ccache linux-source-6.1 debootstrap

.PHONY: help deps tree sync series series-check config kernel tests initramfs rootfs lint \
	rigtests boot bench cross-s390 check check-mainline run clean distclean

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' $(TOP)/Makefile

# Install what is missing; nothing happens when everything is there.
deps:
	@missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

# Every build target assembles the tree first; "make check" does it once
# and tells its sub-makes so with TREE_DONE=1.
tree: $(if $(TREE_DONE),,deps)
	@$(if $(TREE_DONE),:,$(STAGE) tree python3 $(TOP)/mk/series.py tree)

sync:
	@python3 $(TOP)/mk/series.py sync

series: tree
	@$(STAGE) series python3 $(TOP)/mk/series.py export $(BUILD)/series

series-check: series
	@$(STAGE) series-check python3 $(TOP)/mk/series_check.py $(LINUX) \
		$(BUILD)/series $(BUILD)/series-check $(BUILD)/series-check.tap \
		$(TOP)/testbed/kernel.config --off $(TOP)/testbed/series-off.config

# The kernel configuration: tinyconfig + kvm_guest.config + fragments,
# generated in a scratch directory and copied over only when it changes,
# so that an unchanged configuration rebuilds nothing.
config: tree
	@$(STAGE) config $(TOP)/mk/config.sh $(LINUX) $(OBJ) $(FRAGMENTS)

kernel: config
	@$(STAGE) kernel $(KMAKE) -s -j$(J) bzImage modules headers
	@rm -rf $(OBJ)/modroot
	@$(KMAKE) -s INSTALL_MOD_PATH=$(OBJ)/modroot INSTALL_MOD_STRIP=1 \
		modules_install
	@echo "kernel: $(OBJ)/arch/x86/boot/bzImage"

tests: kernel
	@$(STAGE) tests $(MAKE) -s -C $(TOP)/testbed -f build.mk tests \
		LINUX=$(LINUX) OBJ=$(OBJ) OUT=$(BUILD)/tests

initramfs: tests
	@$(STAGE) initramfs $(TOP)/testbed/mkinitramfs.sh $(OBJ) \
		$(BUILD)/tests $(BUILD)/initramfs

lint: tree
	@$(STAGE) lint python3 $(TOP)/mk/lint.py $(LINUX) $(BUILD)/obj-lint \
		$(BUILD)/lint.tap $(FRAGMENTS) $(TOP)/testbed/lint.config

# Debian 13 (QEMU 10.0, DPDK 24.11) and Debian 12 (QEMU 7.2, DPDK 22.11)
# for the tests that run real programs in the guest: made once with
# debootstrap, shared read-only with the guest.
ROOTFS := $(BUILD)/rootfs-trixie
ROOTFS_OLD := $(BUILD)/rootfs-bookworm
rootfs: deps
	@$(STAGE) rootfs $(TOP)/testbed/mkrootfs.sh $(ROOTFS) trixie
	@$(STAGE) rootfs-old $(TOP)/testbed/mkrootfs.sh $(ROOTFS_OLD) bookworm

boot: initramfs rootfs
	@rm -f $(BUILD)/stages.boot
	@$(STAGE) boot $(TOP)/testbed/qemu.sh --mode check --iommu $(IOMMU) \
		--kernel $(OBJ)/arch/x86/boot/bzImage \
		--initrd $(BUILD)/initramfs/initramfs.cpio.gz \
		--out $(RUN) --tests "$(TESTS)" --rootfs $(ROOTFS) \
		--rootfs $(ROOTFS_OLD) --timeout $(BOOT_TIMEOUT)

# The benchmark in full (tools/testing/selftests/vfio/vfio_dma_bench.c):
# its table is printed and kept in build/bench/tap.log.
bench: initramfs
	@$(STAGE) bench $(TOP)/testbed/qemu.sh --mode check --iommu $(IOMMU) \
		--kernel $(OBJ)/arch/x86/boot/bzImage \
		--initrd $(BUILD)/initramfs/initramfs.cpio.gz \
		--out $(BUILD)/bench --tests vfio_dma_bench \
		--append "testbed.bench=1 $(BENCH_APPEND)" --timeout 3600
	@sed -n '/^@@ BEGIN/,/^@@ END/p' $(BUILD)/bench/tap.log
	@python3 $(TOP)/testbed/results.py --config $(RESULTS_CONFIG),bench \
		$(BUILD)/bench >/dev/null || \
		{ echo "bench: a check failed or the kernel complained; see $(BUILD)/bench" >&2; exit 1; }

# Mainline 6.12 (Debian's linux-source-6.12) built with the test kernel's
# configuration and booted with our test programs, as a black box: the
# oracle for what mainline does (mk/mainline.sh).  Kept out of "check".
check-mainline: tests rootfs
	@[ -f /usr/src/linux-source-6.12.tar.xz ] || { \
		SUDO=$$( [ $$(id -u) = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO env \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends linux-source-6.12; }
	@$(TOP)/mk/mainline.sh $(BUILD) $(BUILD)/tests $(IOMMU) "$(TESTS)" \
		"$(ROOTFS) $(ROOTFS_OLD)"
	@python3 $(TOP)/testbed/results.py --config $(IOMMU),mainline \
		$$(ls -d $(BUILD)/run-mainline-mock $(BUILD)/run-mainline \
		2>/dev/null)

# vfio-ccw and vfio-ap, emulated VFIO devices of s390, with the VFIO and
# iommufd core, cross-compiled with W=1; fails on a warning in a file the
# series touches there.  Needs Debian's gcc-s390x-linux-gnu.
S390_OBJ := $(BUILD)/obj-s390
S390_MAKE := $(MAKE) -s -C $(LINUX) O=$(S390_OBJ) ARCH=s390 \
	CROSS_COMPILE=s390x-linux-gnu-
cross-s390: tree
	@command -v s390x-linux-gnu-gcc >/dev/null || \
		{ echo "cross-s390: install gcc-s390x-linux-gnu" >&2; exit 1; }
	@mkdir -p $(S390_OBJ)
	@$(S390_MAKE) defconfig
	@$(LINUX)/scripts/config --file $(S390_OBJ)/.config -e KVM -e VFIO \
		-e VFIO_CCW -e VFIO_AP -e IOMMUFD -e VFIO_DEVICE_CDEV
	@$(S390_MAKE) olddefconfig
	@$(S390_MAKE) -j$(J) W=1 drivers/iommu/ drivers/vfio/ \
		drivers/s390/cio/ drivers/s390/crypto/ arch/s390/kvm/ \
		2>&1 | tee $(S390_OBJ)/build.log
	@! grep -E '(drivers/(iommu|vfio)/|vfio_(ccw|ap)_ops\.c|virt/kvm/vfio\.c).*warning' \
		$(S390_OBJ)/build.log
	@echo "cross-s390: built without warnings in the series' files"

# The build's and the rig's own Python tests (assembly, write-back, the
# result parser), as TAP.
rigtests:
	@$(STAGE) rigtests python3 $(TOP)/mk/unittest_tap.py \
		$(BUILD)/rigtests.tap $(TOP)/mk/tests $(TOP)/testbed/tests

# Lint findings, failed rig tests and series-check failures are reported
# as failed tests rather than stopping the run, so that one check shows
# everything; the closing line comes last.
check:
	@rm -f $(BUILD)/stages.log $(BUILD)/lint.tap $(BUILD)/rigtests.tap \
		$(BUILD)/series-check.tap
	@$(MAKE) -s tree
	@$(MAKE) -s TREE_DONE=1 lint || true
	@$(MAKE) -s rigtests || true
	@$(MAKE) -s TREE_DONE=1 series-check || true
	@$(MAKE) -s TREE_DONE=1 boot IOMMU=intel VFIO_GROUP=y
	@$(MAKE) -s TREE_DONE=1 boot IOMMU=virtio VFIO_GROUP=y
	@$(MAKE) -s TREE_DONE=1 boot IOMMU=intel VFIO_GROUP=n
	@$(MAKE) -s TREE_DONE=1 boot IOMMU=intel VFIO_CONTAINER=iommufd
	@$(STAGE) --summary
	@python3 $(TOP)/testbed/results.py --tap lint=$(BUILD)/lint.tap \
		--tap rig=$(BUILD)/rigtests.tap \
		--tap series=$(BUILD)/series-check.tap $(BUILD)/run=intel \
		$(BUILD)/run-virtio=virtio $(BUILD)/run-nogroup=intel,nogroup \
		$(BUILD)/run-compat=intel,compat

run: initramfs rootfs
	@$(TOP)/testbed/qemu.sh --mode run --iommu $(IOMMU) \
		--kernel $(OBJ)/arch/x86/boot/bzImage \
		--initrd $(BUILD)/initramfs/initramfs.cpio.gz \
		--out $(BUILD)/run-demo --rootfs $(ROOTFS) --rootfs $(ROOTFS_OLD)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/obj-kasan $(BUILD)/obj-lint \
		$(BUILD)/obj-nogroup $(BUILD)/obj-kasan-nogroup $(BUILD)/obj-s390 \
		$(BUILD)/obj-compat $(BUILD)/obj-kasan-compat $(BUILD)/run-compat \
		$(BUILD)/obj-bench $(BUILD)/obj-mainline \
		$(BUILD)/tests $(BUILD)/initramfs $(BUILD)/run $(BUILD)/run-demo \
		$(BUILD)/run-virtio $(BUILD)/run-nogroup \
		$(BUILD)/bench $(BUILD)/series $(BUILD)/series-check

distclean:
	rm -rf $(BUILD)
