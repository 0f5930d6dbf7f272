# Web chat widget (widget/, docs: widget/README.md) and its socket.io channel
# (bot/channels/socketio.py). Uses PY, MODEL and RESULTS from the main Makefile.
#   make widget-serve   demo forum + widget on http://localhost:8080/ (bot on :5005)
#   make test-widget    channel tests + headless Chromium tests (fake bot and the real bot)
#   make test-widget-browser   the Chromium tests against the fake bot only (no model needed)

WIDGET := widget
WIDGET_PORT ?= 8080
WIDGET_RASA_URL ?= http://localhost:5005
WIDGET_NPM_STAMP := $(WIDGET)/node_modules/.package-lock.json
WIDGET_PY_STAMP := $(VENV)/.widget-installed

.PHONY: widget-deps widget-setup widget-chromium widget-serve test-widget \
        test-widget-browser widget-screenshot

# `make test-unit` leaves tests/widget to `make test-widget` (the Makefile ignores it).
TEST_TARGETS += test-widget

# `make run` serves the widget from widget/node_modules, so it needs the npm packages.
run: widget-deps

widget-deps: $(WIDGET_NPM_STAMP) ## npm ci in widget/ (pinned socket.io-client and axe-core)

$(WIDGET_NPM_STAMP): $(WIDGET)/package.json $(WIDGET)/package-lock.json
	cd $(WIDGET) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

widget-chromium: ## install Debian's chromium if missing (root, apt)
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "chromium: $$(command -v chromium)"; \
	else \
	  echo "installing Debian's chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

$(WIDGET_PY_STAMP): requirements-widget.txt requirements.lock | venv
	$(PY) -m pip install --quiet -r requirements-widget.txt -c requirements.lock
	@touch $@

widget-setup: widget-deps widget-chromium $(WIDGET_PY_STAMP) ## everything the widget tests need

widget-serve: widget-deps ## serve the demo forum page + widget on WIDGET_PORT (bot at WIDGET_RASA_URL)
	$(PY) -m widget.serve --port $(WIDGET_PORT) --rasa-url $(WIDGET_RASA_URL)

test-widget: train widget-setup ## widget channel + headless Chromium tests (screenshots: results/screenshots)
	$(PY) -m pytest -q tests/widget --ignore=tests/widget/browser
	MODEL="$(MODEL)" WIDGET_LIVE_REQUIRED=1 $(PY) -m pytest -q tests/widget/browser

test-widget-browser: widget-setup ## headless Chromium tests against the fake bot (no training)
	$(PY) -m pytest -q tests/widget/browser --ignore=tests/widget/browser/test_widget_live.py

widget-screenshot: train widget-setup ## refresh docs/widget.png from the real bot
	MODEL="$(MODEL)" WIDGET_LIVE_REQUIRED=1 UPDATE_DOCS_SCREENSHOT=1 \
	  $(PY) -m pytest -q tests/widget/browser/test_widget_live.py -k captem
