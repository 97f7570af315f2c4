# entk: `make demo` runs the example pipeline, `make test` runs the tests.
# Both install what they need first (tools/setup.sh, idempotent).

SWIFT ?= swift

.PHONY: all setup build release test demo lint clean fuzz fuzz-smoke sanitize

all: build

# Cheap when everything is present (a dpkg query and a Python import), so always run.
setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# The Swift tests, then the Slurm path on a real single-node cluster (tools/slurm/test_plan.sh:
# starts the daemons, runs a planned kernel as a job array, compares it with one process, stops
# the daemons; needs root and fails, never skips, without it), then every fuzz target for 10 s
# and the command-line fuzzer (about 3 minutes on two cores).
test: setup lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	ENTK=$(CURDIR)/.build/debug/entk tools/slurm/test_plan.sh
	tools/fuzz/build.sh
	FUZZ_SECONDS=10 tools/fuzz/run.sh
	tools/fuzz_cli.py --entk $(CURDIR)/.build/debug/entk --runs 60

# The digits example end to end (examples/digits/Makefile): kernels for each kind, the kGLM
# surrogate, metrics, a validated bundle per kind; prints the metrics and the report's path. Then
# the text example (examples/text/Makefile): a tiny BERT, its report showing sentences.
demo: setup
	$(SWIFT) build -c release
	$(MAKE) -C examples/digits ENTK=$(CURDIR)/.build/release/entk
	$(MAKE) -C examples/text ENTK=$(CURDIR)/.build/release/entk

# libFuzzer targets for every reader of untrusted bytes (tools/fuzz/README.md), each run for
# FUZZ_SECONDS from its committed seeds; findings go to .build/fuzz/findings/ and fail the run.
# `make test` runs each for 10 s; this is the longer campaign.
FUZZ_SECONDS ?= 60
fuzz: setup
	tools/fuzz/build.sh
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz/run.sh

# Each target briefly, and the command-line fuzzer over entk's integer and path options.
fuzz-smoke: setup
	$(SWIFT) build
	tools/fuzz/build.sh
	FUZZ_SECONDS=10 tools/fuzz/run.sh
	tools/fuzz_cli.py --entk $(CURDIR)/.build/debug/entk --runs 60

# The whole test suite under AddressSanitizer (Swift and C) and UndefinedBehaviorSanitizer (the C
# code: swiftc has no -sanitize=undefined, and Swift traps on overflow and bad indices itself),
# then the kernel stage's concurrency tests (the invariance tests: two threads sharing models,
# Gram panels and projection blocks, on the example-c backend) under ThreadSanitizer; each in its
# own build folder. Not part of `make test` (over an hour on two loaded cores); the last run is
# in docs/fuzzing.md.
SANITIZE_ENV = SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0
sanitize: setup
	$(SWIFT) build --build-tests --scratch-path .build/sanitize-address --sanitize address -Xcc -fsanitize=undefined
	$(SANITIZE_ENV) $(SWIFT) test --skip-build --scratch-path .build/sanitize-address --sanitize address -Xcc -fsanitize=undefined
	$(SWIFT) build --build-tests --scratch-path .build/sanitize-thread --sanitize thread
	$(SANITIZE_ENV) $(SWIFT) test --skip-build --scratch-path .build/sanitize-thread --sanitize thread \
	  --filter kernelIsBitIdentical

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Plugins Tests

clean:
	rm -rf .build
