# NET chemo patient-education assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
RASA := $(PY) -m rasa
PYTHONPATH := $(CURDIR)
export PYTHONPATH
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
RESULTS := results
MODEL = $(shell $(PY) scripts/train.py --print-path)

# Test targets added by the channel and conversation fragments in mk/.
TEST_TARGETS :=
-include mk/*.mk

.PHONY: help venv settings train run shell test test-unit validate test-stories test-nlu \
        test-e2e kb-check lint format nlu-report bench clean

help: ## list targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# ---- set-up -------------------------------------------------------------------------------
venv: $(VENV)/.installed ## create .venv with Python 3.10 and the locked dependencies

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock
	@py=$$(scripts/find_python.sh) || exit 1; \
	if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	@touch $@

settings: bot/domain/settings.generated.yml ## domain slots from config/safety.yml

bot/domain/settings.generated.yml: config/safety.yml scripts/gen_settings_domain.py bot/settings.py | venv
	$(PY) scripts/gen_settings_domain.py

# ---- run ----------------------------------------------------------------------------------
train: venv settings ## train the model if config, data, domain, components or kb changed
	$(PY) scripts/train.py

run: train ## start the assistant: REST, the forum widget demo, Telegram if TELEGRAM_TOKEN is set
	$(PY) scripts/serve.py --model "$(MODEL)" \
	  --credentials "$(or $(TELEGRAM_RUN_CREDENTIALS),bot/credentials.yml)"

shell: train ## talk to the assistant in this terminal
	$(PY) scripts/serve.py --model "$(MODEL)" --shell

# ---- checks -------------------------------------------------------------------------------
test: venv settings kb-check lint test-unit validate train test-stories test-nlu test-e2e $(TEST_TARGETS) nlu-report ## everything CI runs
	@echo "make test: all checks passed"

kb-check: venv ## validate the knowledge base and check it copies no seed wording
	$(PY) scripts/check_kb.py

test-unit: venv settings ## unit tests (KB, components, actions, channels, settings)
	$(PY) -m pytest -q tests --ignore=tests/e2e --ignore=tests/widget --ignore=tests/telegram \
	  --ignore=tests/cluster  # these four start real servers: their own targets run them

validate: venv settings ## rasa data validate --fail-on-warnings
	$(RASA) data validate --fail-on-warnings --config config.yml --domain bot/domain --data data

test-stories: train ## dialogue test stories must all pass
	$(RASA) test core --model "$(MODEL)" --stories tests/stories --out $(RESULTS)/core \
	  --fail-on-prediction-errors --endpoints bot/endpoints.yml --no-plot
	@echo "dialogue test stories: all passed"

test-nlu: train ## held-out NLU evaluation (accuracy/macro-F1, KB term recall, button rate)
	$(PY) scripts/eval_nlu.py --model "$(MODEL)" --out $(RESULTS)/nlu --aggregate-only \
	  --data tests/nlu/heldout.yml tests/nlu_blind/heldout_blind.yml \
	  --min-accuracy 0.94 0.90 --min-macro-f1 0.94 0.90 --max-button-rate 0.03 0.03

test-e2e: train ## start the real servers as `make run` does and ask over REST
	NETCHEMO_MODEL="$(MODEL)" $(PY) -m pytest -q tests/e2e

lint: venv ## ruff and black (88 columns)
	$(PY) -m ruff check .
	$(PY) -m black --check --quiet .

format: venv ## apply black and ruff fixes
	$(PY) -m ruff check --fix .
	$(PY) -m black --quiet .

nlu-report: venv ## 5-fold NLU cross-validation: per-intent table, confusion pairs, matrix image
	$(PY) scripts/nlu_report.py --folds 5 --out $(RESULTS)/nlu-cv --min-macro-f1 0.75

bench: train ## load benchmark against this assistant and the stock `rasa init` one
	$(PY) scripts/bench.py --model "$(MODEL)" --out $(RESULTS)/bench

clean: ## remove generated files (models, results, caches; keeps .venv)
	rm -rf models $(RESULTS) .pytest_cache .ruff_cache
