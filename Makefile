# NET chemo patient-education assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
# Rasa's CLI with the known third-party warnings filtered (bot/cli.py, bot/warnings_filter.py).
RASA := $(PY) -m bot.cli
# No PYTHONPATH: `make venv` installs the project into the venv (`pip install -e .`), and the
# scripts run as `python -m scripts.<name>` (the same functions as the netchemo-* commands).
# VERBOSE=1 (make run VERBOSE=1) prints every third-party warning and log line again.
VERBOSE ?=
export VERBOSE
# bot/warnings_filter.py QUIET_ENV, for what runs without that module (pytest); a test
# (tests/scripts/test_warnings_filter.py) keeps the two equal.
ifeq ($(VERBOSE),)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
endif
export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
RESULTS := results
MODEL = $(shell $(PY) -m scripts.train --print-path)

# Test targets added by the channel and conversation fragments in mk/.
TEST_TARGETS :=
-include mk/*.mk

.PHONY: help venv settings train run shell test test-unit validate test-stories test-nlu \
        test-e2e kb-check lint mypy format nlu-report bench clean

help: ## list targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# ---- set-up -------------------------------------------------------------------------------
venv: $(VENV)/.installed ## create .venv with Python 3.10 and the locked dependencies

# The project itself is installed editable and without dependencies (the lock installed
# them) and without build isolation (the venv's setuptools builds it: nothing to download;
# PYTHONWARNINGS hides setuptools' generic "Editable installation" notice).
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock pyproject.toml
	@py=$$(scripts/find_python.sh) || exit 1; \
	if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# The generated slots are committed (a plain `rasa train` needs them): this regenerates them
# after config/safety.yml changes, and `make clean` keeps them.
settings: bot/domain/settings.generated.yml ## domain slots from config/safety.yml (committed)

bot/domain/settings.generated.yml: config/safety.yml scripts/gen_settings_domain.py bot/settings.py | venv
	$(PY) -m scripts.gen_settings_domain

# ---- run ----------------------------------------------------------------------------------
train: venv settings ## train the model if config, data, domain, components or kb changed
	$(PY) -m scripts.train

run: train ## start the assistant: REST, the forum widget demo, Telegram if TELEGRAM_TOKEN is set (VERBOSE=1: every warning)
	$(PY) -m scripts.serve --model "$(MODEL)" \
	  --credentials "$(or $(TELEGRAM_RUN_CREDENTIALS),bot/credentials.yml)"

shell: train ## talk to the assistant in this terminal
	$(PY) -m scripts.serve --model "$(MODEL)" --shell

# ---- checks -------------------------------------------------------------------------------
# The cross-validation (`make nlu-report`) is not in `make test`: 5 folds of the whole NLU
# pipeline took 18 min on a busy CI machine (2026-12-02), more than half the run; the
# held-out sets in test-nlu gate the NLU instead.
test: venv settings kb-check lint test-unit validate train test-stories test-nlu test-e2e $(TEST_TARGETS) ## everything CI runs
	@echo "make test: all checks passed"

kb-check: venv ## validate the knowledge base and check it copies no seed wording
	$(PY) -m scripts.check_kb

test-unit: venv settings ## unit tests (KB, components, actions, channels, settings)
	$(PY) -m pytest -q tests --ignore=tests/e2e --ignore=tests/widget --ignore=tests/telegram \
	  --ignore=tests/cluster  # these four start real servers: their own targets run them

validate: venv settings ## Rasa's data validation; 'not used' only for the reviewed list (scripts/responses_sent_by_code.yml)
	$(PY) -m scripts.validate_data --config config.yml --domain bot/domain --data data

test-stories: train ## dialogue test stories must all pass
	$(RASA) test core --model "$(MODEL)" --stories tests/stories --out $(RESULTS)/core \
	  --fail-on-prediction-errors --endpoints bot/endpoints.yml --no-plot
	@echo "dialogue test stories: all passed"

test-nlu: train ## held-out NLU evaluation (accuracy/macro-F1, KB term recall, button rate)
	$(PY) -m scripts.eval_nlu --model "$(MODEL)" --out $(RESULTS)/nlu --aggregate-only \
	  --data tests/nlu/heldout.yml tests/nlu_dev/v2.yml tests/nlu_dev/v3.yml tests/nlu_dev/v4.yml \
	    tests/nlu_dev/v5.yml tests/nlu_dev/v6.yml \
	    tests/nlu_blind/heldout_blind.yml tests/nlu_blind_v2/heldout_blind.yml \
	  --min-accuracy 0.97 0.96 0.95 0.95 0.96 0.945 0.945 0.935 \
	  --min-macro-f1 0.97 0.96 0.95 0.95 0.96 0.96 0.945 0.935 \
	  --max-button-rate 0.03

test-e2e: train ## start the real servers as `make run` does and ask over REST
	NETCHEMO_MODEL="$(MODEL)" $(PY) -m pytest -q tests/e2e

lint: venv ## ruff, black (88 columns) and mypy
	$(PY) -m ruff check .
	$(PY) -m black --check --quiet .
	$(run-mypy)

mypy: venv ## type check bot/, actions/, kb/, convtest/ and scripts/ (config: pyproject.toml)
	$(run-mypy)

# Rasa and rasa_sdk are annotated but have no py.typed marker: they are linked into
# MYPY_TYPED (mypy_path in pyproject.toml) so that mypy reads their annotations.
MYPY_TYPED := .cache/mypy/typed
define run-mypy
@mkdir -p $(MYPY_TYPED)
@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
  for pkg in rasa rasa_sdk; do ln -sfn "$$site/$$pkg" $(MYPY_TYPED)/$$pkg; done
$(PY) -m mypy
endef

format: venv ## apply black and ruff fixes
	$(PY) -m ruff check --fix .
	$(PY) -m black --quiet .

nlu-report: venv ## 5-fold NLU cross-validation: per-intent table, confusion pairs, matrix image
	$(PY) -m scripts.nlu_report --folds 5 --out $(RESULTS)/nlu-cv --min-macro-f1 0.75

bench: train nginx ## load benchmark: ours (embedded and cluster behind nginx) and the stock `rasa init` one (BENCH_ARGS)
	$(PY) -m scripts.bench --model "$(MODEL)" --out $(RESULTS)/bench $(BENCH_ARGS)

clean: ## remove generated files (models, results, caches; keeps .venv)
	rm -rf models $(RESULTS) .pytest_cache .ruff_cache .cache/mypy
