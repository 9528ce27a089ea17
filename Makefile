# Nabla — the two commands: `make run` (the main job) and `make test`.
SWIFT ?= swift
PYTHON ?= python3
NABLA := .build/release/nabla
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: run test deps tbenv release bench-report kernel-stack-report fixtures clean fuzz fuzz-build fuzz-brief sanitize sanitize-thread check-imports example docs check-docs soak readme-check

## run: the main job (see README)
run: deps release
	$(NABLA) study regularization

# A private Python with the real `tensorboard` package, so the event-file test reads our files
# back with TensorBoard itself. Optional: without PyPI the test prints a NOTICE and skips.
TBENV := .build/tbenv

## test: the whole test suite (debug build), including CLI and end-to-end tests
test: deps tbenv check-imports
	$(SWIFT) build --build-tests
	set -o pipefail; NABLA_PYTHON=$(CURDIR)/$(TBENV)/bin/python $(SWIFT) test --skip-build 2>&1 | tee .build/test.log
	$(MAKE) --no-print-directory example
	$(MAKE) --no-print-directory fuzz-brief
	@Scripts/test-summary.sh .build/test.log

## kernel-stack-report: how many vector-register spills and reloads each register-tile kernel of the
## release build has (Scripts/kernel-stack-report.sh; x86-64, needs objdump): a spilling tile is slow,
## not wrong, so no test sees it
kernel-stack-report: release
	Scripts/kernel-stack-report.sh $(NABLA)

## readme-check: runs the README's tutorial with the release build and checks the output it shows
## (Scripts/readme-check.py; its PyTorch step runs where a Python with torch is found, else it is skipped)
readme-check: release
	$(PYTHON) Scripts/readme-check.py --nabla $(NABLA) $(if $(TRANSCRIPT),--transcript $(TRANSCRIPT))

## soak: Scripts/soak.sh — SOAK_KILLS random SIGKILLs of training runs (release build), each run
## resumed with --resume until it completes, its weights, metric files and TensorBoard logs compared
## with an uninterrupted run's. Several minutes, so not part of `make test` (which kills at every
## named instant deterministically instead: KillAndResumeTests).
SOAK_KILLS ?= 30
soak: release tbenv
	NABLA=$(CURDIR)/$(NABLA) NABLA_PYTHON=$(CURDIR)/$(TBENV)/bin/python Scripts/soak.sh $(SOAK_KILLS)

## check-imports: the target graph is one-way and every import follows Package.swift (Scripts/check-imports.py)
check-imports:
	@$(PYTHON) Scripts/check-imports.py --self-test
	@$(PYTHON) Scripts/check-imports.py

## example: Examples/CustomModel, a separate package that depends on Nabla as a user's package does
## (by path here, by URL and version elsewhere), built into its own Examples/CustomModel/.build and run:
## it adds a layer, checks its gradient and trains a model file that uses it, and fails on a bad
## gradient or a low accuracy. Debug by default, as the rest of `make test`;
## EXAMPLE_CONFIGURATION=release for the optimized build (several times faster to run, slower to build).
## SwiftPM refuses unsafeFlags in a package used by version, so the manifest must have none.
EXAMPLE := Examples/CustomModel
EXAMPLE_CONFIGURATION ?= debug
example: deps
	@! grep -n unsafeFlags Package.swift || { echo "example: Package.swift uses unsafeFlags, which SwiftPM refuses in a versioned dependency"; exit 1; }
	$(SWIFT) build --package-path $(EXAMPLE) -c $(EXAMPLE_CONFIGURATION)
	$(EXAMPLE)/.build/$(EXAMPLE_CONFIGURATION)/CustomModel

## docs: the DocC documentation of every library target and the articles of Sources/Nabla/Nabla.docc,
## combined into one archive in .build/docs (open .build/docs/index.html through a web server, or
## `swift package --disable-sandbox preview-documentation --target Nabla`); any DocC warning (a link
## that does not resolve, an undocumented parameter) fails it, and so does check-docs. It builds in its
## own scratch directory, $(DOCS_BUILD), so it never touches the incremental state of `make test`'s
## .build (an interleaved symbol-graph build there was followed by test binaries with stale layouts).
DOC_TARGETS = $(LIBRARY_TARGETS) Nabla
DOCS_BUILD := .build-docs
docs: deps check-docs
	$(SWIFT) package --scratch-path $(DOCS_BUILD) --allow-writing-to-directory .build/docs generate-documentation \
	  $(foreach t,$(DOC_TARGETS),--target $(t)) --enable-experimental-combined-documentation \
	  --warnings-as-errors --output-path .build/docs >$(DOCS_BUILD)/docs.log 2>&1 \
	  || { grep -E -A6 "^(warning|error)" $(DOCS_BUILD)/docs.log; echo "docs: DocC failed, see $(DOCS_BUILD)/docs.log"; exit 1; }
	@echo "docs: .build/docs ($$(grep -c '^Finished building documentation' $(DOCS_BUILD)/docs.log) targets, no warnings)"

## check-docs: every public declaration of the library targets (Sources/Nabla*/) has a `///` doc
## comment of its own (Scripts/check-docs.py reads the symbol graphs; part of `make docs`)
check-docs:
	@$(PYTHON) Scripts/check-docs.py --self-test
	@mkdir -p .build/docs $(DOCS_BUILD)
	@rm -rf $$($(SWIFT) build --scratch-path $(DOCS_BUILD) --show-bin-path)/../symbolgraph
	@# The test modules are not built here, so their graphs fail; check-docs requires every library target's.
	@$(SWIFT) package --scratch-path $(DOCS_BUILD) dump-symbol-graph --skip-synthesized-members --skip-inherited-docs \
	  >$(DOCS_BUILD)/symbolgraph.log 2>&1 || true
	@$(PYTHON) Scripts/check-docs.py $$($(SWIFT) build --scratch-path $(DOCS_BUILD) --show-bin-path)/../symbolgraph \
	  || { grep -E "error" $(DOCS_BUILD)/symbolgraph.log | grep -v "PackageTests\|PackageDiscoveredTests"; exit 1; }

tbenv:
	@if [ ! -x $(TBENV)/bin/python ] || ! $(TBENV)/bin/python -c "import tensorboard" 2>/dev/null; then \
	  mkdir -p .build && $(PYTHON) -m venv $(TBENV) >/dev/null 2>&1 && \
	  $(TBENV)/bin/pip install -q --disable-pip-version-check tensorboard >/dev/null 2>&1 \
	  && echo "tbenv: installed tensorboard for the event-file round-trip test" \
	  || echo "NOTICE: could not install tensorboard (no PyPI?); its round-trip test will be skipped"; \
	fi

## deps: installs the Debian packages Nabla needs when they are missing (OpenBLAS, Open MPI, zlib, libpng, Fashion-MNIST)
deps:
	@missing=""; \
	pkg-config --exists openblas 2>/dev/null || missing="$$missing libopenblas-dev pkg-config"; \
	pkg-config --exists ompi-c 2>/dev/null || missing="$$missing libopenmpi-dev"; \
	command -v mpirun >/dev/null || missing="$$missing openmpi-bin"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	pkg-config --exists libpng 2>/dev/null || missing="$$missing libpng-dev"; \
	[ -f $(FASHION) ] || missing="$$missing dataset-fashion-mnist"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; then \
	    echo "deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing$$missing — run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

## release: the optimized `nabla`, compiled for this machine's CPU (NABLA_CPU=native: AVX-512 here, so
## Swift's SIMD types and vectorized loops use the full width). Swift neither contracts a*b+c into an
## FMA nor reorders sums, so results keep their bits (trained weights checked byte-identical to the
## portable build's); set NABLA_CPU=x86-64 for a binary that runs on any x86-64.
NABLA_CPU ?= native
release: deps
	$(SWIFT) build -c release --product nabla -Xswiftc -target-cpu -Xswiftc $(NABLA_CPU)

## bench-report: Nabla vs PyTorch per training step (bench/compare.py, interleaved rounds) on the four
## benchmark models, written into README.md's bench-report block with the CPU, thread count, OpenBLAS
## kernels and PyTorch version named. BENCH_PYTHON must import torch; BENCH_FLAGS=--cpu-time on a
## shared machine (times by process CPU time), e.g. BENCH_FLAGS="--cpu-time" BENCH_THREADS=1.
BENCH_PYTHON ?= python3
BENCH_THREADS ?= $(shell nproc)
BENCH_ROUNDS ?= 5
BENCH_FLAGS ?=
bench-report: release
	$(BENCH_PYTHON) bench/compare.py mlp lenet-bn convnet resnet20 --threads $(BENCH_THREADS) \
	  --rounds $(BENCH_ROUNDS) --nabla $(NABLA) --report README.md $(BENCH_FLAGS)

## fixtures: regenerates the PyTorch golden fixtures (needs torch + safetensors in $(PYTHON))
fixtures:
	for script in Scripts/fixtures/gen_*.py; do $(PYTHON) $$script || exit 1; done

## fuzz: libFuzzer + AddressSanitizer on every parser of user input (Fuzz/README.md), FUZZ_SECONDS each.
## Crashing inputs land in .build-fuzz/findings/<target>/; keep them in Tests/NablaTestSupport/Fixtures/fuzz-regressions/.
FUZZ_BUILD := .build-fuzz
LIBRARY_TARGETS := NablaTensor NablaIO NablaNN NablaOptim NablaData NablaDistributed NablaTraining NablaStudies
FUZZ_BIN := $(FUZZ_BUILD)/nabla-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= idx gzip cifar npy npz safetensors csv model checkpoint png
FUZZ_OPTIONS ?= -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -max_len=65536
# Without the MPI trait: the parsers need no Open MPI, and this build checks that every library
# target still compiles without it (for users who do not want MPI).
FUZZ_SWIFTPM := --build-path $(FUZZ_BUILD) --disable-default-traits --sanitize=address -Xswiftc -sanitize=fuzzer -Xswiftc -O -Xcc -fsanitize=fuzzer-no-link
YAMS_DIR = $(FUZZ_BUILD)/checkouts/Yams/Sources

fuzz-build: deps
	$(SWIFT) build $(FUZZ_SWIFTPM) --target Nabla
	swiftc -sanitize=fuzzer,address -O -parse-as-library Fuzz/Sources/*.swift -module-name NablaFuzz \
	  -I $(FUZZ_BUILD)/debug/Modules \
	  -Xcc -fmodule-map-file=Sources/CBLAS/module.modulemap -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
	  -Xcc -fmodule-map-file=Sources/CMalloc/module.modulemap -Xcc -fmodule-map-file=Sources/CPNG/module.modulemap \
	  -Xcc -fmodule-map-file=Sources/CNablaKernels/module.modulemap \
	  -Xcc -fmodule-map-file=Sources/CNablaBF16/include/module.modulemap \
	  -Xcc -fmodule-map-file=$(YAMS_DIR)/CYaml/include/module.modulemap \
	  $(foreach t,$(LIBRARY_TARGETS) Nabla,$(FUZZ_BUILD)/debug/$(t).build/*.o) \
	  $(FUZZ_BUILD)/debug/CNablaBF16.build/*.o \
	  $(FUZZ_BUILD)/debug/Yams.build/*.o $(FUZZ_BUILD)/debug/CYaml.build/src/*.o \
	  -lopenblas -lz -lpng16 -o $(FUZZ_BIN)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/findings/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  NABLA_FUZZ_TARGET=$$t SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) $(FUZZ_BUILD)/corpus/$$t Fuzz/corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) $(FUZZ_OPTIONS) -artifact_prefix=$(FUZZ_BUILD)/findings/$$t/ \
	    -print_final_stats=1 2>$(FUZZ_BUILD)/findings/$$t.log; status=$$?; \
	  grep -E "^stat::number_of_executed_units|^Done|ERROR" $(FUZZ_BUILD)/findings/$$t.log | tr '\n' ' '; echo; \
	  [ $$status = 0 ] || { echo "fuzz: $$t found a crash, see $(FUZZ_BUILD)/findings/$$t.log"; exit 1; }; \
	done

## fuzz-brief: part of `make test` — every fuzz target for a fixed number of inputs from a fixed seed,
## starting from the committed corpus only, so the run is the same on every machine (it fails exactly
## when it fails here). Long exploratory fuzzing is `make fuzz`.
FUZZ_BRIEF_RUNS ?= 50000
fuzz-brief: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  scratch=$$(mktemp -d); \
	  NABLA_FUZZ_TARGET=$$t SWIFT_BACKTRACE=enable=no $(FUZZ_BIN) $$scratch Fuzz/corpus/$$t -seed=1 -runs=$(FUZZ_BRIEF_RUNS) \
	    $(FUZZ_OPTIONS) -artifact_prefix=$$scratch/ >$$scratch.log 2>&1; status=$$?; \
	  echo "fuzz-brief: $$t $$(grep -E '^Done' $$scratch.log)"; \
	  if [ $$status != 0 ]; then tail -30 $$scratch.log; echo "fuzz-brief: $$t crashed; the input is in $$scratch"; exit 1; fi; \
	  rm -rf $$scratch $$scratch.log; \
	done

## sanitize: the whole test suite under AddressSanitizer (+ LeakSanitizer) in .build-asan (the CLI children
## run sanitized too, and their one-line-stderr tests fail on any report of theirs);
## sanitize-thread: under ThreadSanitizer in .build-tsan. Not part of `make test` (each takes minutes).
## FILTER=Regex limits the tests, e.g. make sanitize FILTER=FuzzRegressionTests.
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=address --build-path .build-asan
	set -o pipefail; LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/sanitizers/lsan-suppressions.txt:exitcode=0 SWIFT_BACKTRACE=enable=no \
	  $(SWIFT) test --skip-build --sanitize=address --build-path .build-asan $(if $(FILTER),--filter '$(FILTER)') 2>&1 | tee .build-asan/sanitize.log
	@! grep -q "^Direct leak" .build-asan/sanitize.log || { echo "sanitize: unsuppressed direct leaks, see .build-asan/sanitize.log"; exit 1; }
	@echo "sanitize: no ASan errors, no direct leaks ($$(grep -c '^Indirect leak' .build-asan/sanitize.log) indirect reports hang off XCTest's retained test cases; see Fuzz/sanitizers/)"

sanitize-thread: deps
	$(SWIFT) build --build-tests --sanitize=thread --build-path .build-tsan
	NABLA_SANITIZER=thread SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build --sanitize=thread --build-path .build-tsan $(if $(FILTER),--filter '$(FILTER)')

clean:
	rm -rf .build $(DOCS_BUILD) $(EXAMPLE)/.build
