# Knowledge-base review tools (kb/README.md). `make kb-check` (main Makefile, part of
# `make test`) validates the KB (JSON Schemas in kb/schema/, then the cross-entry rules),
# the copy check and the reading-level gate.
.PHONY: kb-report

kb-report: venv ## KB review report: entries by review age (over 12 months flagged), unsourced claims, hardest texts
	$(PY) scripts/kb_report.py $(if $(TODAY),--today $(TODAY))
