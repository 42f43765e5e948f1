# Build the guest's programs, statically linked, against the uAPI headers
# of the kernel just built (OBJ/usr/include), and write the runner's list.
#
#   make -f build.mk tests LINUX=... OBJ=... OUT=...
#
# SELFTESTS: the kselftest directories whose programs run in the guest,
# each with the time limit (seconds) of each of its programs.
SELFTESTS := iommu:300 vfio:1500

HERE := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KSFT := $(LINUX)/tools/testing/selftests
HDRS := -isystem $(OBJ)/usr/include

.PHONY: tests FORCE
tests: $(OUT)/edu_demo FORCE
	@rm -f $(OUT)/list.tmp
	@set -e; for ent in $(SELFTESTS); do \
		dir=$${ent%%:*}; limit=$${ent##*:}; \
		CFLAGS=-Werror $(MAKE) -s -C $(KSFT)/$$dir OUTPUT=$(OUT) \
			KHDR_INCLUDES="$(HDRS)" LDFLAGS=-static all; \
		progs=$$($(MAKE) -s -C $(KSFT)/$$dir OUTPUT=$(OUT) \
			--eval 'print-progs: ; @echo $$(TEST_GEN_PROGS)' \
			print-progs); \
		for p in $$progs; do \
			echo "$$(basename $$p) $$limit" >> $(OUT)/list.tmp; \
		done; \
	done
	@mv $(OUT)/list.tmp $(OUT)/list

$(OUT)/edu_demo: $(HERE)/demo/edu_demo.c $(KSFT)/vfio/vfio_util.c \
		$(KSFT)/vfio/vfio_util.h
	@mkdir -p $(OUT)
	@$(CC) -static -Wall -Werror -O2 -D_GNU_SOURCE $(HDRS) -I$(KSFT)/vfio \
		-o $@ $(HERE)/demo/edu_demo.c $(KSFT)/vfio/vfio_util.c
