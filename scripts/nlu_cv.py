"""Fast stratified k-fold cross-validation of the whole NLU pipeline on the training data.

Unlike ``rasa test nlu --cross-validation`` (``scripts/nlu_report.py``), this trains NLU only,
in this process, and keeps every fold's predictions with their intent ranking, so thresholds
(fallback, ambiguity, retrieval) can be chosen by cross-validation without retraining
(``scripts/tune_fallback.py``; run with ``--no-retrieval`` for that, so the rankings
are the classifier's own). Prints accuracy, macro-F1 and the button rate (``nlu_fallback`` on an
in-scope question); writes ``<out>/cv_predictions.json``. Never reads a held-out set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import warnings_filter
from scripts.eval_nlu import button_rate, macro_f1
from scripts.paths import ROOT

logger = logging.getLogger(__name__)


def stratified_folds(labels: Sequence[str], folds: int, seed: int) -> list[list[int]]:
    """Indices of each fold, every intent spread evenly over the folds."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)  # noqa: S311 (fold assignment, not security)
    out: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        for j, idx in enumerate(items):
            out[(j + offset) % folds].append(idx)
        offset += len(items)
    return out


async def _parse(model: str, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    await agent.parse_message("warm up")
    started = time.perf_counter()
    results = [await agent.parse_message(t) for t in texts]
    return results, (time.perf_counter() - started) / max(1, len(texts))


def run_fold(
    config: Path, train_examples: list[Any], test_texts: list[str], workdir: Path
) -> tuple[list[dict[str, Any]], float, float]:
    """Train NLU on one fold and parse the held-back texts; returns results, seconds to
    train and seconds per parse."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = workdir / "train.yml"
    RasaYAMLWriter().dump(data, TrainingData(training_examples=train_examples))
    started = time.perf_counter()
    model = train_nlu(
        str(config), str(data), str(workdir / "models"), fixed_model_name="fold"
    )
    trained = time.perf_counter() - started
    results, per_parse = asyncio.run(_parse(str(model), test_texts))
    return results, trained, per_parse


RETRIEVAL = "bot.components.retrieval_intent.SampleRetrievalIntent"


def config_without_retrieval(config: Path, workdir: Path) -> Path:
    """A copy of ``config`` without the retrieval step, for choosing its thresholds."""
    import yaml

    data = yaml.safe_load(config.read_text())
    data["pipeline"] = [c for c in data["pipeline"] if c.get("name") != RETRIEVAL]
    out = workdir / "config-no-retrieval.yml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def summarise(gold: list[str], pred: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1 and button rate."""
    f1, _ = macro_f1(gold, pred)
    return {
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
        "macro_f1": f1,
        "button_rate": button_rate(gold, pred),
    }


def per_intent_report(rows: list[dict[str, Any]], show_errors: int = 0) -> str:
    """Per-intent precision/recall/F1 (lowest F1 first) and the commonest confusions, from
    cross-validation predictions on the training data (safe to print: no held-out text)."""
    from collections import Counter

    gold = [r["gold"] for r in rows]
    pred = [r["predicted"] for r in rows]
    _, per = macro_f1(gold, pred)
    lines = ["intent                     prec   rec    F1  support"]
    for name, row in sorted(per.items(), key=lambda kv: kv[1]["f1"]):
        lines.append(
            f"{name:<25} {row['precision']:5.2f} {row['recall']:5.2f} {row['f1']:5.2f}"
            f" {row['support']:5d}"
        )
    pairs = Counter(f"{g} -> {p}" for g, p in zip(gold, pred, strict=True) if g != p)
    lines += ["", "confusions (gold -> predicted):"]
    lines += [f"  {pair}: {count}" for pair, count in pairs.most_common(25)]
    if show_errors:
        lines += ["", "misread training examples (held back in their fold):"]
        errors = [r for r in rows if r["gold"] != r["predicted"]]
        for r in sorted(errors, key=lambda r: (r["gold"], r["predicted"]))[
            :show_errors
        ]:
            lines.append(f"  {r['gold']} -> {r['predicted']}: {r['text']}")
    return "\n".join(lines)


def main() -> int:
    """CLI: ``python -m scripts.nlu_cv [--config config.yml] [--folds 5] [--data data/nlu]``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, nargs="+", default=[ROOT / "data" / "nlu"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--only-folds", type=int, default=0, help="stop after N folds")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu-cv-fast")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also print the per-intent table and confusions (written to cv_report.txt)",
    )
    parser.add_argument(
        "--show-errors", type=int, default=0, help="with --report: list N misreadings"
    )
    parser.add_argument(
        "--no-retrieval",
        action="store_true",
        help="leave out the retrieval step (for scripts/tune_fallback.py)",
    )
    parser.add_argument(
        "--from-predictions",
        type=Path,
        help="print the --report of an earlier run's cv_predictions.json, no training",
    )
    parser.add_argument(
        "--extra-train",
        type=Path,
        nargs="*",
        default=[],
        help="examples always trained on and never held out (to measure new data on the "
        "old examples)",
    )
    parser.add_argument(
        "--dev",
        type=Path,
        nargs="*",
        default=[],
        help="an exposed development set (tests/nlu/heldout.yml) parsed by every fold "
        "model; never a blind set",
    )
    args = parser.parse_args()
    if any("blind" in str(p) for p in args.dev + args.data + args.extra_train):
        parser.error("blind sets are evaluated by `make test-nlu` only")
    if args.from_predictions:
        saved = json.loads(args.from_predictions.read_text())
        cv_rows = [r for r in saved if r.get("set", "cv") == "cv"]
        print(per_intent_report(cv_rows, args.show_errors))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    config = (
        config_without_retrieval(args.config, args.out)
        if args.no_retrieval
        else args.config
    )
    logging.basicConfig(level=logging.WARNING)
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    examples = []
    for path in args.data:
        examples += load_data(str(path)).intent_examples
    extra = [
        ex for path in args.extra_train for ex in load_data(str(path)).intent_examples
    ]
    dev = [ex for path in args.dev for ex in load_data(str(path)).intent_examples]
    labels = [ex.get("intent") for ex in examples]
    folds = stratified_folds(labels, args.folds, args.seed)
    if args.only_folds:
        folds = folds[: args.only_folds]
    rows: list[dict[str, Any]] = [
        {"set": "extra", "fold": -1, "gold": ex.get("intent"), "text": ex.get("text")}
        for ex in extra
    ]
    train_times: list[float] = []
    parse_times: list[float] = []
    for k, test_idx in enumerate(folds):
        held = set(test_idx)
        train = [ex for i, ex in enumerate(examples) if i not in held] + extra
        scored = [("cv", examples[i]) for i in test_idx] + [("dev", ex) for ex in dev]
        texts = [ex.get("text") for _, ex in scored]
        with tempfile.TemporaryDirectory() as tmp:
            results, trained, per_parse = run_fold(config, train, texts, Path(tmp))
        train_times.append(trained)
        parse_times.append(per_parse)
        for (kind, ex), res in zip(scored, results, strict=True):
            rows.append(
                {
                    "set": kind,
                    "fold": k,
                    "gold": ex.get("intent"),
                    "predicted": res["intent"]["name"],
                    "ranking": [
                        (r["name"], r["confidence"])
                        for r in res.get("intent_ranking") or []
                    ],
                    "terms": [
                        e["value"]
                        for e in res.get("entities") or []
                        if e.get("entity") == "kb_term"
                    ],
                    "text": ex.get("text"),
                }
            )
        logger.warning("fold %d: trained in %.0f s", k, trained)
    cv_rows = [r for r in rows if r["set"] == "cv"]
    (args.out / "cv_predictions.json").write_text(json.dumps(rows, indent=1))
    if args.report:
        text = per_intent_report(cv_rows, args.show_errors)
        (args.out / "cv_report.txt").write_text(text + "\n")
        print(text)
    if dev:
        dev_rows = [r for r in rows if r["set"] == "dev"]
        sc = summarise(
            [r["gold"] for r in dev_rows], [r["predicted"] for r in dev_rows]
        )
        print(
            f"dev set ({len(dev)} messages, parsed by each of the {len(folds)} fold models): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sc.items())
        )
    scores = summarise([r["gold"] for r in cv_rows], [r["predicted"] for r in cv_rows])
    print(
        f"CV ({len(folds)} of {args.folds} folds, {len(cv_rows)} messages, "
        f"{len(extra)} always trained on, {config.name}): "
        f"accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}, "
        f"button rate {scores['button_rate']:.3f}, "
        f"training {sum(train_times) / len(train_times):.0f} s per fold, "
        f"parse {1000 * sum(parse_times) / len(parse_times):.1f} ms per message"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
