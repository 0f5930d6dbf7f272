# Feedback on answers (actions/feedback.py, stored by actions/feedback_store.py).
# Uses PY from the main Makefile.
#   make feedback-report                       counts per entry, most "not helpful" first
#   make feedback-report FEEDBACK_ARGS=--facets   one line per entry and facet
.PHONY: feedback-report

feedback-report: venv ## per-entry helpful / not helpful counts, worst first (FEEDBACK_DB)
	$(PY) -m scripts.feedback_report $(FEEDBACK_ARGS)
