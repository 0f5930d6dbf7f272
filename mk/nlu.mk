# NLU tuning by cross-validation on the training data only (issue 11). Held-out sets are
# evaluated by `make test-nlu` and never used to choose anything.
.PHONY: nlu-cv nlu-tune

nlu-cv: venv settings ## fast in-process 5-fold CV of the whole NLU pipeline (accuracy, macro-F1, buttons)
	$(PY) scripts/nlu_cv.py --folds 5 --out $(RESULTS)/nlu-cv-fast

nlu-tune: venv settings ## CV without the retrieval step, then replay fallback/retrieval thresholds
	$(PY) scripts/nlu_cv.py --folds 5 --no-retrieval --out $(RESULTS)/nlu-cv-tune
	$(PY) scripts/tune_fallback.py --predictions $(RESULTS)/nlu-cv-tune/cv_predictions.json
