# `make validate` (in the Makefile) runs scripts/validate_data.py: Rasa's own
# `data validate --fail-on-warnings`, failing on every warning except "not used in any story or
# rule" for responses that only code sends, listed with their sender in
# scripts/responses_sent_by_code.yml. `validate-data` is kept as an alias.
.PHONY: validate-data

validate-data: validate ## alias of make validate
