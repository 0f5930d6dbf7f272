# Safety screen suites (issue 11): red-flag recall, false alarms and crisis recall of the
# deterministic screen on our suites (tests/safety/, the red-flag and crisis scripts) and on
# the blind suites (tests/safety_blind/, written without seeing the code: only aggregate
# numbers are printed). Gates: own suites at the targets (red flags 100%, crisis 100%,
# false alarms <= 7%: 5 of 84 are deliberate over-escalations, see tests/safety/); blind
# suites just under the last measurement (docs in scripts/eval_safety.py).
.PHONY: test-safety

SAFETY_OWN_GATES ?= --own-false-alarm-gate 0.07
SAFETY_BLIND_GATES ?= --blind-red-flag-gate 0.80 --blind-false-alarm-gate 0.20 --blind-crisis-gate 0.60

test-safety: venv ## safety screen suites and gates (own + blind, aggregate numbers only)
	$(PY) scripts/eval_safety.py --blind $(SAFETY_OWN_GATES) $(SAFETY_BLIND_GATES)

TEST_TARGETS += test-safety
