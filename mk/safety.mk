# Safety screen suites (issue 11): red-flag recall, false alarms and crisis recall of the
# deterministic screen alone (scripts/eval_safety.py, in-process SafetyScreen) on
# * our suites (tests/safety/false_alarms.yml, the urgent turns of the red-flag script and
#   the unit tests' red flags, the crisis script);
# * the development suites tests/safety_dev/ (written blind, but seen during development
#   on 2026-12-01, so now tuned against: a development set, not a measure of
#   generalisation; `scripts/eval_safety.py --dev --show-misses` lists its errors);
# * the blind suites tests/safety_blind_v2/ (written by someone else without seeing the
#   code; never read them; only aggregate numbers are printed, never a message).
#
# Gates. Own suites: red flags 100%, crisis 100%; false alarms 7%, NOT the 5% target
# (5 of 84 kept as deliberate over-escalations, e.g. "is it normal to get a temperature
# after etoposide?", a reading of 38 asked "in general").
# Dev suites: raised to what the screen reaches (2026-12-01, after tuning on them: red
# flags 100% (211/211), crisis 100% (43/43; red flag + crisis wording 15/15), false alarms
# 9.7% (13/134), NOT the 5% target: the rest are past or stated readings, "now" in a
# past story, weather/holiday numbers; red flags were preferred where they conflict).
# Blind v2 suites: the targets are NOT reached; gates just under the one measurement
# (2026-12-01, screen alone, run once after the dev tuning): red-flag recall 85.8%
# (254/296), false alarms 17.8% (34/191), crisis recall 74.1% (40/54), red flag + crisis
# wording 100% (20/20). They catch regressions only.
.PHONY: test-safety

SAFETY_OWN_GATES ?= --own-false-alarm-gate 0.07
SAFETY_DEV_GATES ?= --dev-red-flag-gate 1.0 --dev-false-alarm-gate 0.10 --dev-crisis-gate 1.0
SAFETY_BLIND_GATES ?= --blind-red-flag-gate 0.85 --blind-false-alarm-gate 0.18 --blind-crisis-gate 0.74

test-safety: venv ## safety screen suites and gates (own + dev + blind v2, blind aggregate only)
	$(PY) scripts/eval_safety.py --dev --blind $(SAFETY_OWN_GATES) $(SAFETY_DEV_GATES) $(SAFETY_BLIND_GATES)

TEST_TARGETS += test-safety
