# Telegram channel (bot/channels/telegram/). Walkthrough: docs/telegram.md.
# Deployer tool: scripts/telegram_admin.py (merged credentials file, status).
# Settings are environment variables only (TELEGRAM_TOKEN, TELEGRAM_SECRET, ...): never
# write them into a file that is committed.

TELEGRAM_CREDENTIALS := var/credentials.telegram.yml

# For the main Makefile's `run`: the merged credentials file (REST + widget + Telegram) when
# TELEGRAM_TOKEN is set, else empty (then `run` uses bot/credentials.yml). Only the file name
# is in this variable, never the token. The main Makefile's recipe uses it as
#   --credentials "$(or $(TELEGRAM_RUN_CREDENTIALS),bot/credentials.yml)"
TELEGRAM_RUN_CREDENTIALS := $(if $(TELEGRAM_TOKEN),$(TELEGRAM_CREDENTIALS))

.PHONY: telegram-credentials telegram-run-credentials telegram-run telegram-polling \
        telegram-status test-telegram

# With TELEGRAM_TOKEN set, `make run` writes the merged file first (and checks the settings).
run: $(if $(TELEGRAM_TOKEN),telegram-run-credentials)

# `make test-unit` leaves tests/telegram (its e2e test starts the real servers) to
# `make test-telegram` (the Makefile ignores the folder).
TEST_TARGETS += test-telegram

telegram-credentials: venv ## merge bot/credentials.yml + bot/credentials.telegram.yml into var/
	@test -n "$$TELEGRAM_TOKEN" || { echo "TELEGRAM_TOKEN is not set (see docs/telegram.md)"; exit 1; }
	$(PY) -m scripts.telegram_admin credentials --out $(TELEGRAM_CREDENTIALS)

# `make run` with TELEGRAM_TOKEN set: polling if TELEGRAM_MODE=polling, else webhook (which
# needs TELEGRAM_SECRET and TELEGRAM_WEBHOOK_URL). Fails here, before the model loads.
telegram-run-credentials: venv
	@if [ "$$TELEGRAM_MODE" != polling ] && [ -z "$$TELEGRAM_SECRET" -o -z "$$TELEGRAM_WEBHOOK_URL" ]; then \
	  echo "TELEGRAM_TOKEN is set, so make run serves Telegram too: webhook mode needs"; \
	  echo "TELEGRAM_SECRET and TELEGRAM_WEBHOOK_URL, or set TELEGRAM_MODE=polling"; \
	  echo "(docs/telegram.md). To run without Telegram: unset TELEGRAM_TOKEN"; exit 1; fi
	$(PY) -m scripts.telegram_admin credentials --out $(TELEGRAM_CREDENTIALS)

telegram-run: train telegram-credentials ## run with Telegram in webhook mode (public HTTPS)
	@test -n "$$TELEGRAM_SECRET" -a -n "$$TELEGRAM_WEBHOOK_URL" || { \
	  echo "webhook mode needs TELEGRAM_SECRET and TELEGRAM_WEBHOOK_URL;"; \
	  echo "no public HTTPS? use: make telegram-polling"; exit 1; }
	TELEGRAM_MODE=webhook $(PY) scripts/serve.py --model "$(MODEL)" --credentials $(TELEGRAM_CREDENTIALS)

telegram-polling: train ## run with Telegram by long polling (a laptop, no HTTPS needed)
	@test -n "$$TELEGRAM_TOKEN" || { echo "TELEGRAM_TOKEN is not set (see docs/telegram.md)"; exit 1; }
	TELEGRAM_MODE=polling $(PY) -m scripts.telegram_admin credentials --out $(TELEGRAM_CREDENTIALS)
	TELEGRAM_MODE=polling $(PY) scripts/serve.py --model "$(MODEL)" --credentials $(TELEGRAM_CREDENTIALS)

telegram-status: venv ## show the bot's name and webhook as Telegram sees them
	$(PY) -m scripts.telegram_admin status

test-telegram: train ## Telegram channel: unit tests + real servers against a fake Bot API
	MODEL="$(MODEL)" TELEGRAM_E2E_REQUIRED=1 $(PY) -m pytest -q tests/telegram
