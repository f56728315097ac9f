# The two commands of the README:
#   make book   execute every chapter (MODE=full by default) and build the HTML into _build/html
#   make test   unit tests of nodebio, nbval over every chapter in quick mode, and the site built
#               from the quick chapters: internal links, published notebooks, headless Chromium
# and, for quick local iterations:
#   make unit   the unit tests only: no chapter under nbval, no built site (tests marked `book`)
# The build is the package bookbuild/ at the repository root (not installed): `python -m bookbuild`
# finds it because the commands run from the repository root.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
MODE   ?= full
STAMP  := $(VENV)/.nodebio-installed
# Worker processes for the fits the chapters share, made before the chapters run
# (bookbuild.planning; `make book JOBS=8`): every core by default.
JOBS   ?= $(shell nproc 2>/dev/null || echo 1)
# The tests on JOBS workers (pytest-xdist), a file's tests together on one worker (a chapter's
# cells under nbval run in order in one kernel); `make test JOBS=1` runs them in this process.
PYTEST_JOBS := $(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist loadfile,)
# torch on one thread in the chapters' kernels, the tests and the commands they run: fastest for the
# package's tiny tensors (see nodebio.models.node.TrainConfig); the library itself never sets it.
export OMP_NUM_THREADS ?= 1

.PHONY: book test unit env execute html clean env-file time tpot tpot-env format

env: $(STAMP)

# (Re)install when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

execute: $(STAMP)
	$(BIN)/python -m bookbuild execute --mode $(MODE) --out _build/src --jobs $(JOBS)

html: $(STAMP)
	$(BIN)/python -m bookbuild html --src _build/src

book: execute html
	@echo "Book written to _build/html/index.html"

# NODEBIO_SITE makes the tests of the built site fail, rather than skip, when it is missing;
# the browser test still skips, with its reason in the summary, where Chromium is not installed.
test: $(STAMP)
	$(BIN)/python -m bookbuild prepare --mode quick --out _build/nbval
	$(BIN)/python -m bookbuild execute --mode quick --out _build/src --jobs $(JOBS)
	$(BIN)/python -m bookbuild html --src _build/src
	NODEBIO_SITE=_build/html NODEBIO_STORE=$(CURDIR)/_build/store/quick $(BIN)/python -m pytest tests --nbval-lax --nbval-current-env _build/nbval $(PYTEST_JOBS)

# The tests marked `book` (the built site, the browser) are deselected; no nbval over the chapters.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not book" $(PYTEST_JOBS)

# Record the seconds of every chapter on this machine into book/_timings/ (the instructors' page).
time: $(STAMP)
	$(BIN)/python -m bookbuild time --mode $(MODE) --jobs $(JOBS)

# black over the code cells of the chapters, at the width of a code block on the page; the
# markdown is left as it is. `python -m bookbuild format --check` only reports.
format: $(STAMP)
	$(BIN)/python -m bookbuild format

# environment.yml lists the same pins as requirements.lock (a test checks it).
env-file: $(STAMP)
	$(BIN)/python -m bookbuild environment-file

# The TPOT baseline in its own environment (never the main one): .venv-tpot from requirements-tpot.lock,
# nodebio installed there without its dependencies (no torch), then the held-out predictions and their
# provenance written into data/artifacts/ (about 15 minutes per pathway on one core).
TPOT_VENV := .venv-tpot
TPOT_STAMP := $(TPOT_VENV)/.nodebio-installed
TPOT_ARGS ?= --pathways limonene,isopentenol --seeds 0,1,2 --max-time-mins 0.5

tpot-env: $(TPOT_STAMP)

$(TPOT_STAMP): requirements-tpot.lock pyproject.toml
	@test -x $(TPOT_VENV)/bin/python || $(PYTHON) -m venv $(TPOT_VENV)
	$(TPOT_VENV)/bin/python -m pip install --quiet -r requirements-tpot.lock
	$(TPOT_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $(TPOT_STAMP)

tpot: $(TPOT_STAMP)
	$(TPOT_VENV)/bin/python -m nodebio.experiments.tpot_artifact $(TPOT_ARGS)

clean:
	rm -rf _build
