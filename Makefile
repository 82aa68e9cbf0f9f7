# segpickle — every target installs or builds what it needs.
GO      ?= go
PYTHON  ?= python3
BIN     := bin/segpickle
LIB     := pyext/segpickle/libsegpickle.so
# dumps_segments's common case in C, for $(PYTHON)'s version (optional: see pybuild/speedups.py)
SPEEDUPS := pyext/segpickle/_speedups$(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX") or ".so")' 2>/dev/null)
GOFILES := $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go')
export PYTHONDONTWRITEBYTECODE = 1

.PHONY: all build cli lib speedups test gotest gotest-386 hostile pytest pytest-cgocheck pytest-pydata pydata-deps vet fmt fmt-check lint bench fuzz fuzz-short demo golden clean

all: build

build: cli lib speedups

cli: $(BIN)
$(BIN): $(GOFILES) go.mod go.sum
	$(GO) build -o $(BIN) ./cmd/segpickle

lib: $(LIB)
$(LIB): $(GOFILES) go.mod go.sum
	$(GO) build -buildmode=c-shared -o $(LIB) ./cbridge

speedups: $(SPEEDUPS)
$(SPEEDUPS): pyext/segpickle/_speedups.c pybuild/speedups.py
	@if command -v $(PYTHON) >/dev/null 2>&1; then echo "$(PYTHON) pybuild/speedups.py pyext/segpickle"; \
		$(PYTHON) pybuild/speedups.py pyext/segpickle; \
	else echo "segpickle: no $(PYTHON): the C accelerator is not built (the Go parts are)"; fi

## test: vet, gofmt check, Go tests with the race detector, the hostile-input
## suites (without -race: they measure memory), Python tests (again against a
## cgocheck2 build), and each fuzz target briefly (a count of executions, not
## a duration, so that a slow input near the end cannot trip the fuzzer's
## deadline). One line per suite; a failing suite's whole output.
STEP := sh $(CURDIR)/tests/step.sh
test: vet fmt-check gotest gotest-386 hostile pytest pytest-pydata pytest-cgocheck fuzz-short
	@echo "make test: all passed"

FUZZ_FAST := unpickler:FuzzLoad unpickler:FuzzRoundTrip unpickler:FuzzCPython unpickler:FuzzTypedAgrees frame:FuzzRead internal/echo:FuzzDecodeMode numpy:FuzzArray
## The pickler's fast paths against the general ones (a few hundred runs a second).
FUZZ_SLOW := pickler:FuzzCompactMatchesGathered pickler:FuzzRecords
FUZZ_TARGETS := $(FUZZ_FAST) $(FUZZ_SLOW)
fuzz-short:
	@for t in $(FUZZ_FAST); do f=$${t##*:}; $(STEP) "fuzz $$f (50,000 runs)" $(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$$f$$" -fuzztime 50000x || exit 1; done
	@for t in $(FUZZ_SLOW); do f=$${t##*:}; $(STEP) "fuzz $$f (2,000 runs)" $(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$$f$$" -fuzztime 2000x || exit 1; done

gotest: cli
	@$(STEP) "go test -race" $(GO) test -race -count=1 ./...

## gotest-386: the Go tests where int has 32 bits (x86-64 Linux runs 386
## binaries): lengths, limits and offsets that fit an int64 but not an int.
## Where the kernel cannot run a 386 program (no IA32 emulation), it says
## so and skips.
gotest-386:
	@if GOARCH=386 $(GO) build -o $(CURDIR)/build/run386 ./tests/run386 && $(CURDIR)/build/run386 2>/dev/null; then \
		GOARCH=386 $(STEP) "go test, 32-bit (386)" $(GO) test -count=1 ./...; \
	else echo "skip  go test, 32-bit (386): this kernel does not run 386 programs"; fi

## hostile: the CLI and echo-server against inputs built to exhaust them, each
## in a child process held to peak-memory bounds (skipped under -race).
hostile:
	@$(STEP) "hostile input (CLI, echo-server)" $(GO) test -count=1 -run 'Hostile' ./cmd/segpickle ./internal/echo

pytest: build
	@SEGPICKLE_REQUIRE_SPEEDUPS=$$(test -f $(SPEEDUPS) && echo 1) SEGPICKLE_BIN=$(CURDIR)/$(BIN) PYTHONPATH=$(CURDIR)/pyext:$(CURDIR)/tests $(STEP) "python tests" $(PYTHON) -P -m unittest discover -s tests -p 'test_*.py'

## pytest-pydata: real numpy / pandas / scikit-learn / cloudpickle objects
## (tests/test_pydata.py) with Debian's python3, which has them; the Debian
## packages are installed first when they are not importable (as root, or
## through sudo). They run, never skip: a missing module fails. CPython's own
## pickle suites run here too, so that their numpy tests run (the test
## package is libpython3.11-testsuite; missing, it is an error here).
SYSPYTHON   ?= /usr/bin/python3
PYDATA_DEBS := python3-numpy python3-pandas python3-sklearn python3-cloudpickle libpython3.11-testsuite
pydata-deps:
	@if ! $(SYSPYTHON) -c 'import numpy, pandas, sklearn, cloudpickle, test.pickletester' 2>/dev/null; then \
		echo "pydata-deps: installing $(PYDATA_DEBS) with apt-get"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PYDATA_DEBS) >/dev/null || exit 1; \
	fi

pytest-pydata: build pydata-deps
	@SEGPICKLE_REQUIRE_PYDATA=1 SEGPICKLE_BIN=$(CURDIR)/$(BIN) PYTHONPATH=$(CURDIR)/pyext:$(CURDIR)/tests $(STEP) "python tests, numpy/pandas/sklearn" $(SYSPYTHON) -P -m unittest test_pydata test_realobjects test_fidelity test_pickletester_unpickle test_pyext.SegmentBufferPickleTests test_pyapi.DumpsSegmentsPickleTests

## pytest-cgocheck: the pyext tests against a library built with
## GOEXPERIMENT=cgocheck2, which checks every pointer passed through cgo.
CGOCHECK_LIB := $(CURDIR)/build/cgocheck2/libsegpickle.so
pytest-cgocheck: cli
	@GOEXPERIMENT=cgocheck2 $(STEP) "cgocheck2 build" $(GO) build -buildmode=c-shared -o $(CGOCHECK_LIB) ./cbridge
	@SEGPICKLE_BIN=$(CURDIR)/$(BIN) SEGPICKLE_LIB=$(CGOCHECK_LIB) PYTHONPATH=$(CURDIR)/pyext:$(CURDIR)/tests $(STEP) "python tests, cgocheck2 library" $(PYTHON) -P -m unittest test_pyext test_cabi test_channel

## vet also builds where int has 32 bits (386, arm) and without cgo (the C
## library then builds as a program that says it needs cgo).
vet:
	@$(STEP) "go vet" $(GO) vet ./...
	@GOARCH=386 $(STEP) "go vet, 32-bit (386)" $(GO) vet ./...
	@GOARCH=arm GOARM=7 $(STEP) "go vet, 32-bit (arm)" $(GO) vet ./...
	@CGO_ENABLED=0 $(STEP) "go vet, no cgo" $(GO) vet ./...

fmt:
	gofmt -w $(GOFILES)

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "FAIL  gofmt needed:"; echo "$$out"; exit 1; fi; echo "ok    gofmt"

lint: vet fmt-check

## golden: regenerate internal/golden/golden.json with python3.
golden:
	$(PYTHON) tests/gen_golden.py

## bench: Go benchmarks against og-rek and gopickle, and CPython timings.
bench: build pydata-deps
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count 1 .
	cd bench && $(PYTHON) cpython_bench.py
	$(PYTHON) bench/decode_ratios.py 5
	$(PYTHON) bench/encode_ratios.py 5
	PYTHONPATH=$(CURDIR)/pyext $(PYTHON) bench/pyext_bench.py
	SEGPICKLE_BIN=$(CURDIR)/$(BIN) PYTHONPATH=$(CURDIR)/pyext $(SYSPYTHON) bench/pyext_bench.py --numpy

## fuzz: each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	@for t in $(FUZZ_TARGETS); do f=$${t##*:}; $(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; done

## demo: the 1 KiB / 1 MiB / 16 MiB round trip through the Go echo server.
demo: build
	PYTHONPATH=$(CURDIR)/pyext SEGPICKLE_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m segpickle.demo

clean:
	rm -rf bin build $(LIB) pyext/segpickle/libsegpickle.h pyext/segpickle/_speedups*.so
