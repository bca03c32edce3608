# Two commands: `make book` (set up, execute every chapter at PRESET, render HTML) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PRESET ?= default
PARAMS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser book book-ci test bench reference clean

$(VENV)/.installed: requirements.txt pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# Debian's headless Chromium and its WebDriver, for the rendered-book test.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver)

book: setup
	$(PY) -m helpers.runner --preset $(PRESET) $(foreach p,$(PARAMS),--param $(p))

test: setup browser
	$(PY) -m pytest -p no:cacheprovider tests book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout 900

# Re-train the shipped reference ensemble (full original protocol, 8 networks; about an hour on 2 cores) in
# artifacts/reference-run/ (resumable: run it again after an interruption) and rewrite data/reference/ from it.
reference: setup
	$(PY) -m helpers.snapshot train --preset reference --work artifacts/reference-run
	$(PY) -m helpers.snapshot export --work artifacts/reference-run --out data/reference

bench: setup
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf _build artifacts
