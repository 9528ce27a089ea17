# Nabla — the two commands: `make run` (the main job) and `make test`.
SWIFT ?= swift
PYTHON ?= python3
NABLA := .build/release/nabla
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: run test deps tbenv release fixtures clean

## run: the main job (see README)
run: deps release
	$(NABLA) train --model lenet-bn --data fashion-mnist --epochs 2 --optimizer adam --lr 1e-3 --logdir nabla-out/train-lenet-bn

# A private Python with the real `tensorboard` package, so the event-file test reads our files
# back with TensorBoard itself. Optional: without PyPI the test prints a NOTICE and skips.
TBENV := .build/tbenv

## test: the whole test suite (debug build), including CLI and end-to-end tests
test: deps tbenv
	$(SWIFT) build --build-tests
	set -o pipefail; NABLA_PYTHON=$(CURDIR)/$(TBENV)/bin/python $(SWIFT) test --skip-build 2>&1 | tee .build/test.log

tbenv:
	@if [ ! -x $(TBENV)/bin/python ] || ! $(TBENV)/bin/python -c "import tensorboard" 2>/dev/null; then \
	  mkdir -p .build && $(PYTHON) -m venv $(TBENV) >/dev/null 2>&1 && \
	  $(TBENV)/bin/pip install -q --disable-pip-version-check tensorboard >/dev/null 2>&1 \
	  && echo "tbenv: installed tensorboard for the event-file round-trip test" \
	  || echo "NOTICE: could not install tensorboard (no PyPI?); its round-trip test will be skipped"; \
	fi

## deps: installs the Debian packages Nabla needs when they are missing (OpenBLAS, Fashion-MNIST)
deps:
	@missing=""; \
	pkg-config --exists openblas 2>/dev/null || missing="$$missing libopenblas-dev pkg-config"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
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
