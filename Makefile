# Nabla — the two commands: `make run` (the main job) and `make test`.
SWIFT ?= swift
PYTHON ?= python3
NABLA := .build/release/nabla
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: run test deps build release fixtures bench clean

## run: the main job (see README)
run: deps release
	$(NABLA) study regularization

## test: the whole test suite (debug build) plus the CLI smoke checks
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build 2>&1 | tee .build/test.log; exit $${PIPESTATUS[0]}

SHELL := /bin/bash

## deps: installs the Debian packages Nabla needs when they are missing (OpenBLAS, Fashion-MNIST)
deps:
	@missing=""; \
	pkg-config --exists openblas 2>/dev/null || missing="$$missing libopenblas-dev pkg-config"; \
	[ -f $(FASHION) ] || missing="$$missing dataset-fashion-mnist"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; then \
	    echo "deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing$$missing — run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

release: deps
	$(SWIFT) build -c release --product nabla

## fixtures: regenerates the PyTorch golden fixtures (needs torch + safetensors in $(PYTHON))
fixtures:
	for script in Scripts/fixtures/gen_*.py; do $(PYTHON) $$script || exit 1; done

clean:
	rm -rf .build
