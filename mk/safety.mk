# Safety screen suites (issue 11): red-flag recall, false alarms and crisis recall of the
# deterministic screen alone (scripts/eval_safety.py, in-process SafetyScreen) on our suites
# (tests/safety/false_alarms.yml, the urgent turns of the red-flag script and the unit
# tests' red flags, the crisis script) and on the blind suites (tests/safety_blind/, written
# without seeing the code; only aggregate numbers are printed, never a message).
#
# Gates. Own suites: red flags 100%, crisis 100%; false alarms 7%, NOT the 5% target
# (measured 6.0%: 5 of 84 kept as deliberate over-escalations, e.g. "is it normal to get a
# temperature after etoposide?", a reading of 38 asked "in general").
# Blind suites: the targets (100% / <= 5% / 100%) are NOT reached by the screen alone; the
# gates are just under the last measurement (2026-12-01: red-flag recall 79.6%, false alarms
# 27.6%, crisis recall 60.5% on the crisis class), so they catch regressions only. The
# trained classifier covers much of the rest in the running bot (whole NLU, same day:
# 87.2% / 37.3% / 88.4%; `scripts/eval_safety.py --blind --model models/<hash>.tar.gz`).
.PHONY: test-safety

SAFETY_OWN_GATES ?= --own-false-alarm-gate 0.07
SAFETY_BLIND_GATES ?= --blind-red-flag-gate 0.79 --blind-false-alarm-gate 0.28 --blind-crisis-gate 0.60

test-safety: venv ## safety screen suites and gates (own + blind, aggregate numbers only)
	$(PY) scripts/eval_safety.py --blind $(SAFETY_OWN_GATES) $(SAFETY_BLIND_GATES)

TEST_TARGETS += test-safety
