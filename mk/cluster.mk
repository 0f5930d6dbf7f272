# Several instances on PostgreSQL + Redis behind nginx (scripts/cluster.py, docs/deploy.md)
# and retention (scripts/purge.py).

CLUSTER_PORT ?= 5005

.PHONY: nginx run-cluster test-cluster purge

TEST_TARGETS += test-cluster

nginx: ## install Debian's nginx if it is missing (run-cluster, test-cluster)
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  echo "installing nginx (Debian package; its default site is not started)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

run-cluster: train nginx ## 2 instances on PostgreSQL + Redis behind nginx on CLUSTER_PORT
	$(PY) -m scripts.cluster --model "$(MODEL)" --port $(CLUSTER_PORT)

test-cluster: train nginx ## fault tests against the real PostgreSQL, Redis and nginx
	NETCHEMO_MODEL="$(MODEL)" $(PY) -m pytest -q tests/cluster

purge: venv ## delete conversations older than DAYS days from the configured tracker store
	@test -n "$(DAYS)" || { echo "usage: make purge DAYS=N"; exit 1; }
	$(PY) -m scripts.purge --days "$(DAYS)"
