# Data validation: Rasa's `rasa data validate --fail-on-warnings`, plus the one reviewed
# exception (scripts/validate_data.py): responses that only code sends are listed, with the
# code that sends them, in scripts/responses_sent_by_code.yml; any other warning fails.
# Uses PY from the main Makefile.
.PHONY: validate-data

validate-data: venv settings ## rasa data validate --fail-on-warnings, warnings checked against the reviewed list
	$(PY) -m scripts.validate_data --config config.yml --domain bot/domain --data data

TEST_TARGETS += validate-data
