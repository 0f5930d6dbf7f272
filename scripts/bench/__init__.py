"""Benchmark: closed-loop load over REST against this assistant and the stock `rasa init` one.

For each assistant: cold start to the first answer, NLU-only parse time, then N concurrent
simulated users (1, 20, 100 by default), each sending the next question as soon as the last is
answered and starting a new conversation every 8 questions, like a real chat, for a fixed time
per level. Prints messages/s and p50/p95/p99 latency per level, resident memory of the servers,
and the ratios ours/stock. Loopback only, bounded in time.

By default (``make bench``; ``--no-cluster`` to skip, skipped with a warning when
PostgreSQL, Redis or nginx is missing) it also measures this assistant as
``make run-cluster`` runs it (2 instances on PostgreSQL and Redis behind nginx, in a
database and Redis db of the bench's own, removed afterwards), and an open-loop level at a
human pace: each simulated user sends a message every 10 to 20 s, and the bench reports the
most simultaneous users served at p95 <= 1 s.

Modules: :mod:`~scripts.bench.load` (the simulated users), :mod:`~scripts.bench.measure`
(start an assistant or the cluster and measure it), :mod:`~scripts.bench.stock` (the stock
assistant), :mod:`~scripts.bench.report` (the Markdown tables), :mod:`~scripts.bench.cli`
(``python -m scripts.bench``, ``netchemo-bench``). A quick smoke run:
``make bench BENCH_ARGS="--levels 1,2 --seconds 3 --human-seconds 0 --no-cluster"``.
"""
