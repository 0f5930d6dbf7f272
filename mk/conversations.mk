# Scripted conversation tests: tests/conversations/*.yml run over REST by the `convtest` runner
# (python -m convtest --help). Without --url the runner starts the bot as `make run` does, on
# spare ports, and stops it afterwards. Uses PY, MODEL and RESULTS from the main Makefile.
.PHONY: conversations conversations-check conversations-coverage

CONVTEST := $(PY) -m convtest
CONVERSATIONS := tests/conversations

conversations: train ## conversation scripts against the real bot (JUnit: results/conversations.xml)
	@mkdir -p $(RESULTS)
	$(CONVTEST) $(CONVERSATIONS) --model "$(MODEL)" --coverage \
	  --junit $(RESULTS)/conversations.xml

conversations-check: venv ## validate the conversation scripts and KB coverage (no bot needed)
	$(CONVTEST) $(CONVERSATIONS) --check --coverage --min-wordings 3

conversations-coverage: train ## strict: every KB entry reached by 3+ differently worded questions
	@mkdir -p $(RESULTS)
	$(CONVTEST) $(CONVERSATIONS) --model "$(MODEL)" --coverage --min-wordings 3 \
	  --junit $(RESULTS)/conversations.xml

TEST_TARGETS += conversations-coverage
