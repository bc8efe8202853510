# Set-up-to-result targets for a fresh machine: `make train` and `make test` (README, "Quick start").
VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: setup data train test lint test-cluster

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# Real Fashion-MNIST from Debian's dataset-fashion-mnist (the same IDX files Keras downloads),
# so the default run needs no download. Skipped, with a note, where apt-get is missing.
data:
	@if [ -f $(FASHION_MNIST) ]; then echo "Fashion-MNIST: $(FASHION_MNIST)"; \
	elif command -v apt-get >/dev/null; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; \
	else echo "no apt-get: Fashion-MNIST will come from dataset.data_dir, ~/.keras/datasets or the Keras download"; fi

train: setup data
	$(VENV)/bin/aecli train model=vae beta=4

# style first (seconds), then the suite
lint: setup
	$(VENV)/bin/ruff check aecli tests experiments benchmarks
	$(VENV)/bin/ruff format --check aecli tests experiments benchmarks

# one pytest worker per core: each test spends most of its time starting TensorFlow in a child
# process, which one core does while the other trains
test: setup data lint
	$(VENV)/bin/python -m pytest -n auto --dist worksteal --durations=15

# tests/cluster against a real single-node Slurm that cluster/slurm_local.sh starts and stops
# (as root: slurmd runs jobs as their user); installs Slurm and munge where sinfo is missing.
test-cluster: setup
	@command -v sinfo >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; }
	$(VENV)/bin/python -m pytest tests/cluster
