# The two commands of the README:
#   make book   execute every chapter (MODE=full by default) and build the HTML into _build/html
#   make test   unit tests of nodebio and nbval over every chapter in quick mode
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
MODE   ?= full
STAMP  := $(VENV)/.nodebio-installed

.PHONY: book test env execute html clean env-file

env: $(STAMP)

# (Re)install when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

execute: $(STAMP)
	$(BIN)/python -m nodebio.book execute --mode $(MODE) --out _build/src

html: $(STAMP)
	$(BIN)/python -m nodebio.book html --src _build/src

book: execute html
	@echo "Book written to _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m nodebio.book prepare --mode quick --out _build/nbval
	$(BIN)/python -m pytest tests --nbval-lax --nbval-current-env _build/nbval

# environment.yml lists the same pins as requirements.lock (a test checks it).
env-file: $(STAMP)
	$(BIN)/python -m nodebio.book environment-file

clean:
	rm -rf _build
