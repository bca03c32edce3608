# Two commands: `make book` (set up, execute every chapter at PRESET, render HTML) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PRESET ?= default
PARAMS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup browser latex book pdf test test-unit test-notebooks test-browser test-pdf notebooks bench reference as-original second-task rewire rederived censuses clean

NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900
PYTEST := $(PY) -m pytest -p no:cacheprovider

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(VENV)/.installed: requirements.txt pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed  ## create .venv and install the pinned requirements

# Debian's headless Chromium and its WebDriver, for the rendered-book test.
browser:  ## install Debian's chromium and chromium-driver if missing
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver)

# Debian's TeX Live (XeLaTeX, latexmk, the LaTeX packages Sphinx uses, FreeFont for the book's Unicode) and
# poppler-utils (the PDF test reads the PDF back): about 600 MB, for `make pdf`.
LATEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex \
                  texlive-plain-generic latexmk fonts-freefont-otf poppler-utils
latex:  ## install Debian's TeX Live (XeLaTeX) and poppler-utils if missing, for the PDF
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v pdftotext >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $(LATEX_PACKAGES))

book: setup  ## execute every chapter at PRESET (default) and render the HTML book
	$(PY) -m helpers.runner --preset $(PRESET) $(foreach p,$(PARAMS),--param $(p))

pdf: setup latex  ## execute every chapter at PRESET and render the HTML book and the whole book as one PDF
	$(PY) -m helpers.runner --preset $(PRESET) --pdf $(foreach p,$(PARAMS),--param $(p))

# The chapters (nbval) and the tests in tests/ run together on two pytest-xdist workers, each chapter or test file on
# one of them, the chapters first (they take longest). Every test that writes artifacts writes them to a folder of
# its own; two chapters that need the same artifact build it once (the second waits on the folder's build lock).
test: setup browser latex  ## every test: nbval over every chapter, unit and oracle tests, browser and PDF (what CI runs)
	$(PYTEST) -n 2 --dist loadfile book tests $(NBVAL)

test-unit: setup  ## the unit, oracle and reliability tests only
	$(PYTEST) tests --ignore=tests/test_browser.py --ignore=tests/test_pdf.py

test-notebooks: setup  ## nbval over every chapter (ci preset) only
	$(PYTEST) book $(NBVAL)

test-browser: setup browser  ## the rendered book in headless Chromium only
	$(PYTEST) tests/test_browser.py

test-pdf: setup latex  ## the whole-book PDF (from the committed chapters) only
	$(PYTEST) tests/test_pdf.py

# Re-train the shipped reference ensemble (full original protocol, 8 networks; about an hour on 2 cores) in
# artifacts/reference-run/ (resumable: run it again after an interruption) and rewrite data/reference/ from it.
# The censuses of the shipped ensembles at the default preset (what most of make book would compute), sealed in
# data/censuses/; a chapter uses one only while the data set, the parameters and the helper code are those it was
# computed with (its folder's key), and computes afresh otherwise. Re-run after changing the helpers or a data set.
censuses: setup  ## recompute the shipped censuses (data/censuses/) for the current code and data sets
	$(PY) -m helpers.census

reference: setup  ## re-train the shipped reference ensemble and rewrite data/reference/
	$(PY) -m helpers.run train --preset reference --work artifacts/reference-run
	$(PY) -m helpers.run export --work artifacts/reference-run --out data/reference

# The paired as-original group (chapters 4 and 7): the reference ensemble's 8 networks, same seeds and data, trained
# with the original's three remaining training details (loss averaged over 400 networks, validation batches that run
# out, pruned weights left running under the mask) on one torch thread, in two groups of 4 one after the other (each
# about an hour on 2 cores; resumable), then written to data/as-original/.
AS_ORIGINAL := --preset reference --param n_networks=4 --param loss_networks=400 --param validation=exhaust \
               --param pruned_state=keep --threads 1
as-original: setup  ## re-train the paired as-original group and rewrite data/as-original/
	$(PY) -m helpers.run train $(AS_ORIGINAL) --param first_network=0 --work artifacts/as-original-run/group-00
	$(PY) -m helpers.run train $(AS_ORIGINAL) --param first_network=4 --work artifacts/as-original-run/group-01
	$(PY) -m helpers.run export --work artifacts/as-original-run/group-00 --work artifacts/as-original-run/group-01 \
	  --out data/as-original

# The second task (the controls of the Results chapter): 4 networks of the architecture, with seeds of their own
# (master seed 1), trained and pruned with the reference protocol on the same 10^7 flights' inputs, but to the outputs
# of a fixed random teacher network (helpers.tasks); one torch thread; about 45 minutes on 2 cores; resumable.
SECOND_TASK := --preset reference --param task=teacher --param seed=1 --param n_networks=4 --threads 1
second-task: setup  ## re-train the second task's networks and rewrite data/second-task/
	$(PY) -m helpers.run train $(SECOND_TASK) --work artifacts/second-task-run
	$(PY) -m helpers.run export --work artifacts/second-task-run --out data/second-task

# The rewire-and-retrain experiment on the reference ensemble (helpers.rewire): every network's optimally sparse mask,
# its degree-preserving and layer-preserving rewirings (2 draws each) and new initial weights, retrained with the mask
# fixed from the dense and from the initial weights (11 conditions x 8 networks; 6,000 / 12,000 batches); one torch
# thread; about 65 minutes on 2 cores; resumable at condition granularity; then written to data/rewire/.
rewire: setup  ## re-run the rewire-and-retrain experiment and rewrite data/rewire/
	$(PY) -m helpers.rewire train --work artifacts/rewire-run --threads 1
	$(PY) -m helpers.rewire export --work artifacts/rewire-run --out data/rewire

# The weights of every saved state of the reference ensemble that it does not store, re-derived by replaying its
# pruning rounds under the stored masks (helpers.rederive; every round as long as the run's); one torch thread;
# about an hour on 2 cores; resumable at round granularity; then written to data/rederived/.
rederived: setup  ## re-derive the reference ensemble's unstored weights and rewrite data/rederived/
	$(PY) -m helpers.rederive train --work artifacts/rederive-run --threads 2
	$(PY) -m helpers.rederive export --work artifacts/rederive-run --out data/rederived

notebooks: setup  ## re-execute every chapter at the ci preset in place (the committed outputs) and normalise it
	$(PY) -m helpers.notebooks

bench: setup  ## re-run every benchmark and rewrite benchmarks/results/
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:  ## remove _build and artifacts
	rm -rf _build artifacts
