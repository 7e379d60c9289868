# armlet — build, install, test.
#
#   make                 builder (out/armlet) and the four inits (out/<os>-<arch>[-<variant>]/armlet-init)
#   make install-deps    idempotent: Debian packages, dpkg architectures, qemu binfmt
#   make test            every test (unit under ASan/UBSan, init on 4 platforms, builder, ...)
#   make test-kernel     only tests/kernel: Debian's ARM kernels under qemu-system with the inits
#   make install PREFIX=/usr/local
#   make bench-init / bench-build / ...   side-by-side benchmarks in tests/bench/
#   make fuzz            libFuzzer harnesses, bounded run
#
#   make test-under-load the init and probe tests three times under two busy loops per core
#
# Sources are picked up by wildcard: a new builder/foo.c, builder/<dir>/foo.c or init/foo.c
# needs no edit here. Each builder source is compiled once per configuration into
# out/obj/<config>/<path>.o (rel: the installed armlet and layertool; asan: out/asan/armlet
# and the builder unit tests; initlib: the init modules for test_init_*; fuzz: clang
# libFuzzer), with -MMD -MP dependency files beside the objects. The inits are linked per
# platform in one -flto command (their size depends on whole-program optimisation).

PREFIX    ?= /usr/local
OUT       ?= out
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
VERSION   := $(VERSION)# expanded once, not by every compile command

WARN      := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -D_GNU_SOURCE
CPPFLAGS  += -Icommon -DARMLET_VERSION=\"$(VERSION)\"

# ---------------------------------------------------------------- builder (host)
BUILDER_LIBS_PC := libarchive libzstd zlib libdeflate libseccomp libcrypto libcurl jansson
BUILDER_CFLAGS  := $(WARN) -O2 -g $(shell pkg-config --cflags $(BUILDER_LIBS_PC) 2>/dev/null)
BUILDER_LDLIBS  := $(shell pkg-config --libs $(BUILDER_LIBS_PC) 2>/dev/null) -lm
BUILDER_SRCS    := $(sort $(wildcard builder/*.c builder/*/*.c))
BUILDER_LIB_SRCS:= $(filter-out builder/cli/main.c,$(BUILDER_SRCS))
SAN             := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
DEPFLAGS        := -MMD -MP

# Compile flags per configuration (out/obj/<config>/...). -O1 after -O2 wins.
CFLAGS_rel      := $(BUILDER_CFLAGS) -Ibuilder
CFLAGS_asan     := $(BUILDER_CFLAGS) -Ibuilder -O1 $(SAN)
CFLAGS_initlib  := $(WARN) -Iinit -O1 -g $(SAN)
CFLAGS_fuzz     := $(filter-out -Wformat=2,$(BUILDER_CFLAGS)) -Ibuilder -O1 -g -fsanitize=fuzzer-no-link,address,undefined
CC_rel     = $(CC)
CC_asan    = $(CC)
CC_initlib = $(CC)
CC_fuzz    = clang
objs = $(patsubst %.c,$(OUT)/obj/$(1)/%.o,$(2))
ALL_OBJS :=
# One pattern rule per configuration: $(OUT)/obj/<config>/<dir>/<name>.o from <dir>/<name>.c.
define config_rule
$(OUT)/obj/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(CPPFLAGS) $$(CFLAGS_$(1)) $$(DEPFLAGS) -c -o $$@ $$<
endef
$(foreach c,rel asan initlib fuzz,$(eval $(call config_rule,$(c))))

# ---------------------------------------------------------------- init (static musl, per platform)
INIT_SRCS := $(sort $(filter-out init/host_%.c,$(wildcard init/*.c)))
INIT_HDRS := $(wildcard init/*.h common/*.h)
# Size (goal: 16 KiB gzip -9 per platform, docs/README-init.md): no PIE, LTO, no relro/
# separate-code padding, no .comment; musl's crt1.o alone (-nostartfiles: gcc's crtbegin/
# crtend only serve C++/TM clones); Thumb on arm (v6: Thumb-1, which an ARM1176 runs);
# no instruction scheduling (the unscheduled code compresses better: -100..-220 B gzip).
INIT_CFLAGS := $(WARN) -Os -static -s -ffunction-sections -fdata-sections \
               -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector \
               -Wl,--gc-sections -Wl,--build-id=none -Wl,-z,noexecstack \
               -Wl,-z,norelro -Wl,-z,noseparate-code -fno-ident -fno-pie -no-pie -flto \
               -fno-schedule-insns -fno-schedule-insns2
PLATFORMS := linux-amd64 linux-arm64 linux-arm-v7 linux-arm-v6
CC_linux-amd64   := musl-gcc -nostartfiles /usr/lib/x86_64-linux-musl/crt1.o
CC_linux-arm64   := aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs -Wl,-z,max-page-size=65536 -mcmodel=tiny -nostartfiles /usr/lib/aarch64-linux-musl/crt1.o
CC_linux-arm-v7  := arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs -march=armv7-a+fp -mthumb -nostartfiles /usr/lib/arm-linux-musleabihf/crt1.o
# The init's own entry on arm/v7 (init/start.c: says "use the linux/arm/v6 image" on an
# ARMv6 CPU instead of dying of SIGILL). Only the init has that symbol: test programs
# built with CC_<platform> (tests/kernel, tests/init) keep musl's _start.
INIT_LDFLAGS_linux-arm-v7 := -Wl,-e,armlet_v7_entry
CC_linux-arm-v6  := arm-linux-gnueabi-gcc -specs /usr/lib/arm-linux-musleabi/musl-gcc.specs -march=armv6 -mthumb -mfloat-abi=soft -nostartfiles /usr/lib/arm-linux-musleabi/crt1.o -Wl,--use-blx
INITS := $(foreach p,$(PLATFORMS),$(OUT)/$(p)/armlet-init)
# musl's crt1.o and libc.a bring a .comment ("GCC: (Debian ...)") that -fno-ident cannot
# remove: objcopy drops it after the link (-48 B gzip). The 64-bit inits lose their section
# headers too (init/drop-sections.sh, -120 B); the 32-bit ARM ones keep .ARM.attributes.
OBJCOPY_linux-amd64  := objcopy
OBJCOPY_linux-arm64  := aarch64-linux-gnu-objcopy
OBJCOPY_linux-arm-v7 := arm-linux-gnueabihf-objcopy
OBJCOPY_linux-arm-v6 := arm-linux-gnueabi-objcopy

.PHONY: print-builder-libs all builder inits install install-deps deps-build test unit check lint clean fuzz \
        bench bench-init bench-build asan
all: deps-build builder inits

# Build-only deps are checked on every build (fast: one dpkg-query per package).
deps-build:
	@bash ci/install-deps --build-only
install-deps:
	@bash ci/install-deps

# The version is compiled into the builders and the inits: they are rebuilt when it
# changes (out/version holds the last one; rewritten only when different).
$(OUT)/version: FORCE | $(OUT)
	@[ "$$(cat $@ 2>/dev/null)" = '$(VERSION)' ] || echo '$(VERSION)' >$@
.PHONY: FORCE
$(call objs,rel,$(BUILDER_SRCS)) $(call objs,asan,$(BUILDER_SRCS)) $(INITS): $(OUT)/version

builder: $(OUT)/armlet
$(OUT)/armlet: $(call objs,rel,$(BUILDER_SRCS)) | $(OUT)
	$(CC) $(BUILDER_CFLAGS) -o $@ $^ $(BUILDER_LDLIBS)

# Same builder with AddressSanitizer/UBSan: the script tests drive this one.
asan: $(OUT)/asan/armlet
$(OUT)/asan/armlet: $(call objs,asan,$(BUILDER_SRCS))
	@mkdir -p $(@D)
	$(CC) $(BUILDER_CFLAGS) -O1 $(SAN) -o $@ $^ $(BUILDER_LDLIBS)
ALL_OBJS += $(call objs,rel,$(BUILDER_SRCS)) $(call objs,asan,$(BUILDER_SRCS))

inits: $(INITS)
$(OUT)/%/armlet-init: $(INIT_SRCS) $(INIT_HDRS) init/drop-sections.sh
	@mkdir -p $(@D)
	$(CC_$*) $(CPPFLAGS) $(INIT_CFLAGS) $(INIT_LDFLAGS_$*) -o $@.tmp $(INIT_SRCS)
	$(OBJCOPY_$*) -R .comment $@.tmp
	$(if $(filter linux-amd64 linux-arm64,$*),sh init/drop-sections.sh $@.tmp)
	@readelf -d $@.tmp 2>/dev/null | grep -q NEEDED && { echo "$@ is not static" >&2; rm -f $@.tmp; exit 1; } || true
	@mv -f $@.tmp $@

$(OUT):
	@mkdir -p $@

install: all
	install -D -m 0755 $(OUT)/armlet $(DESTDIR)$(PREFIX)/bin/armlet
	for p in $(PLATFORMS); do install -D -m 0755 $(OUT)/$$p/armlet-init $(DESTDIR)$(PREFIX)/lib/armlet/$$p/armlet-init; done

# ---------------------------------------------------------------- tests
# Unit tests: tests/unit/test_<name>.c, linked against every builder module's asan object
# (not main.c); test_init_<name>.c against the init modules (initlib objects, not main.c),
# all with ASan/UBSan for the host.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
INIT_LIB_SRCS := $(filter-out init/main.c,$(INIT_SRCS))
INIT_LIB_OBJS := $(call objs,initlib,$(INIT_LIB_SRCS))
BUILDER_ASAN_LIB_OBJS := $(call objs,asan,$(BUILDER_LIB_SRCS))
$(OUT)/unit/test_init_%: $(OUT)/obj/initlib/tests/unit/test_init_%.o $(INIT_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^
$(OUT)/unit/test_%: $(OUT)/obj/asan/tests/unit/test_%.o $(BUILDER_ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BUILDER_CFLAGS) -O1 $(SAN) -o $@ $^ $(BUILDER_LDLIBS)
unit: $(UNIT_BINS)
ALL_OBJS += $(INIT_LIB_OBJS) $(call objs,initlib,$(filter tests/unit/test_init_%,$(UNIT_SRCS))) \
            $(call objs,asan,$(filter-out tests/unit/test_init_%,$(UNIT_SRCS)))

# Everything: install test deps, build all (plus ASan builder and unit tests), lint, run
# TEST_JOBS test files at a time (tests/run -j): 3 on the 2-core machine, because about
# half of a file's wall time is spent waiting (qemu boots, dockerd, registries, disk), not
# computing. 4 was tried: the fresh run took more CPU (26.7 against 24.5 CPU-min) and no
# less time.
# The build before it runs BUILD_JOBS compilers at a time (one per core), after the
# packages are in.
TEST_JOBS ?= 3
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: install-deps
	@$(MAKE) --no-print-directory -j $(BUILD_JOBS) all asan unit hello
	@bash tests/run -j $(TEST_JOBS)

# The hello server for four platforms (recipes/hello/build.sh), built once before the test
# files start: several of them use it, and run side by side they would each build it.
HELLO_BINS := $(addprefix recipes/dist/hello-,amd64 arm64 armv7 armv6)
.PHONY: hello
hello: $(HELLO_BINS)
$(HELLO_BINS) &: recipes/hello/build.sh recipes/hello/main.go recipes/hello/go.mod recipes/hello/greeting.txt
	GOCACHE=$(abspath $(OUT))/go-cache bash recipes/hello/build.sh

check: test

# Determinism check (no assertion may depend on a sleep being long enough): the init and
# probe tests, ROUNDS (3) times in a row, while two busy loops per core run at the tests'
# own priority. tests/under-load FILE... narrows it.
.PHONY: test-under-load
test-under-load: install-deps all asan
	@bash tests/under-load

# Only the real-ARM-kernel suite (tests/kernel, qemu-system; ~2-4 min, downloads the kernels).
.PHONY: test-kernel
test-kernel: install-deps all
	@bash tests/run tests/kernel/t_*.sh

# The quick start: build recipes/hello.recipe for four platforms, run amd64 and arm64 in runc.
.PHONY: demo
demo: install-deps all
	@bash ci/demo
# The same image run by the Docker engine (docker load, run, curl, stop); a private
# dockerd when none answers (docs/README-multistage.md, "Docker").
.PHONY: demo-docker
demo-docker: install-deps all
	@bash ci/demo --docker

lint:
	cppcheck --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -q -D__GNUC__ -Icommon -Ibuilder -Iinit builder init common

# ---------------------------------------------------------------- fuzzing (clang libFuzzer)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
$(OUT)/fuzz/fuzz_%: $(OUT)/obj/fuzz/tests/fuzz/fuzz_%.o $(call objs,fuzz,$(BUILDER_LIB_SRCS))
	@mkdir -p $(@D)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(BUILDER_LDLIBS)
ALL_OBJS += $(call objs,fuzz,$(BUILDER_LIB_SRCS) $(FUZZ_SRCS))
fuzz: $(FUZZ_BINS)
	@# New inputs go to out/fuzz/corpus/<name> (first folder); the committed seeds are read only.
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(OUT)/fuzz/corpus/$$n; echo "fuzz $$n"; \
	  $$f -max_total_time=$${FUZZ_SECONDS:-20} -timeout=5 $(OUT)/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	  >$(OUT)/fuzz/$$n.log 2>&1 || { tail -40 $(OUT)/fuzz/$$n.log; echo "FUZZ FAIL $$f"; exit 1; }; done

# ---------------------------------------------------------------- benchmarks
bench: bench-init bench-build bench-push bench-index bench-limits bench-coldstart bench-recipe
bench-init: install-deps all
	@bash tests/bench/bench-init
bench-build: install-deps all $(OUT)/bench/layertool
	@bash tests/bench/bench-build
.PHONY: bench-push
bench-push: install-deps all
	@bash tests/bench/bench-push
.PHONY: bench-index
bench-index: install-deps all
	@bash tests/bench/bench-index
.PHONY: bench-coldstart
bench-coldstart: install-deps all
	@bash tests/bench/bench-coldstart
.PHONY: bench-limits
bench-limits: install-deps all
	@bash tests/bench/bench-limits
.PHONY: bench-recipe
bench-recipe: install-deps all
	@bash tests/bench/bench-recipe
# layertool: tree.c/layer.c/base.c driven from scripts (tests/builder/t_layer.sh, bench-build).
$(OUT)/bench/layertool: $(OUT)/obj/rel/tests/bench/layertool.o $(call objs,rel,$(BUILDER_LIB_SRCS))
	@mkdir -p $(@D)
	$(CC) $(BUILDER_CFLAGS) -o $@ $^ $(BUILDER_LDLIBS)
test: $(OUT)/bench/layertool
ALL_OBJS += $(OUT)/obj/rel/tests/bench/layertool.o

clean:
	rm -rf $(OUT)

# Objects are kept (make would delete those only pattern rules name), and their header
# dependencies (-MMD -MP) read back.
.SECONDARY: $(ALL_OBJS)
-include $(ALL_OBJS:.o=.d)

# recipes/armlet/cross-arm64.sh reads this list (make print-builder-libs) for its own sysroot.
print-builder-libs:
	@echo $(BUILDER_LIBS_PC)
