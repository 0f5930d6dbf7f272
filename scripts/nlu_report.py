"""NLU cross-validation report (`make nlu-report`): per-intent precision/recall/F1, confusion
pairs and the confusion-matrix image, from `rasa test nlu --cross-validation`.

Writes ``<out>/nlu_report.md`` (the image is Rasa's ``intent_confusion_matrix.png`` beside it),
prints the intent macro-F1, and exits 1 if it is under ``--min-macro-f1``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot import warnings_filter
from scripts.paths import ROOT, child_env, python

SKIP = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def run_cross_validation(out: Path, folds: int) -> None:
    """Train and test ``folds`` models on the training data (Rasa's own CV)."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        python(), "-m", "bot.cli", "test", "nlu", "--nlu", str(ROOT / "data" / "nlu"),
        "--config", str(ROOT / "config.yml"), "--cross-validation", "--folds", str(folds),
        "--out", str(out),
    ]  # fmt: skip
    with open(out / "cross_validation.log", "wb") as log:
        subprocess.run(cmd, cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
                       check=True)  # fmt: skip


def markdown(
    report: dict[str, dict], errors: list[dict], folds: int
) -> tuple[str, float]:
    """Per-intent table, macro-F1 and the most frequent confusion pairs."""
    intents = {k: v for k, v in report.items() if k not in SKIP and isinstance(v, dict)}
    macro = sum(v["f1-score"] for v in intents.values()) / len(intents)
    lines = [
        f"# NLU cross-validation ({folds} folds, data/nlu)",
        "",
        f"Intent macro-F1: **{macro:.3f}**",
        "",
        "| intent | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        lines.append(
            f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | "
            f"{row['f1-score']:.2f} | {row['support']} |"
        )
    pairs = Counter(
        f"{e['intent']} -> {e['intent_prediction']['name']}"
        for e in errors
        if e.get("intent")
    )
    lines += ["", "## Confusion pairs (true -> predicted)", ""]
    lines += [f"- {pair}: {count}" for pair, count in pairs.most_common(20)] or [
        "- none"
    ]
    lines += ["", "![confusion matrix](intent_confusion_matrix.png)", ""]
    return "\n".join(lines), macro


def main() -> int:
    """CLI: ``python -m scripts.nlu_report [--folds 5] [--out results/nlu-cv]``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu-cv")
    parser.add_argument(
        "--min-macro-f1",
        type=float,
        default=0.75,
        help="regression floor (measured: 0.80-0.81)",
    )
    args = parser.parse_args()
    run_cross_validation(args.out, args.folds)
    report = json.loads((args.out / "intent_report.json").read_text())
    errors_path = args.out / "intent_errors.json"
    errors = json.loads(errors_path.read_text()) if errors_path.exists() else []
    text, macro = markdown(report, errors, args.folds)
    (args.out / "nlu_report.md").write_text(text)
    print(f"NLU cross-validation ({args.folds} folds): intent macro-F1 {macro:.3f} "
          f"(minimum {args.min_macro_f1:.2f}); report {args.out / 'nlu_report.md'}")  # fmt: skip
    return 0 if macro >= args.min_macro_f1 else 1


if __name__ == "__main__":
    sys.exit(main())
