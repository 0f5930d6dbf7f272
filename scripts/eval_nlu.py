"""Evaluate the trained NLU on one or more held-out files that are never trained on.

For each file, prints intent accuracy, macro-F1, KB-term recall/precision and the button rate
(in-scope questions answered with "did you mean" buttons instead of an answer), writes a JSON
and Markdown report named after the file, and exits 1 if a metric is past its gate. A message
whose NLU confidence is too low (``nlu_fallback``) counts as wrong: the user would see
suggestions, not an answer. ``--aggregate-only`` prints the figures without any message or
confusion pair (for sets whose wording must stay unseen).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot import warnings_filter

logger = logging.getLogger(__name__)
THRESHOLDS = {"intent_accuracy": 0.90, "intent_macro_f1": 0.90, "kb_term_recall": 0.95}
# Issue 11's targets on every held-out set, printed beside each gate (the gates sit just
# under the figures reached, so that a regression fails while the target stays visible).
TARGETS = {"intent_accuracy": 0.95, "intent_macro_f1": 0.95}
MAX_BUTTON_RATE = (
    0.03  # target of issue 11: at most 3% of in-scope questions get buttons
)
FALLBACK = "nlu_fallback"
# The knowledge questions: answered from the KB.
KNOWLEDGE_INTENTS = frozenset(
    {
        "ask_what_is",
        "ask_is_chemo",
        "ask_why_not_chemo",
        "ask_which_chemo",
        "ask_how_given",
        "ask_side_effects",
        "ask_brand_name",
        "ask_does_chemo_work",
        "ask_future_of_chemo",
    }
)
# Questions the assistant should answer (from the KB, or with the personal-advice boundary):
# buttons on one of these mean the user had to click instead of reading an answer.
IN_SCOPE = KNOWLEDGE_INTENTS | {"followup_topic", "ask_personal_advice"}


def button_rate(gold: list[str], pred: list[str]) -> float:
    """Share of in-scope questions whose prediction is ``nlu_fallback`` (buttons)."""
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g in IN_SCOPE]
    return sum(p == FALLBACK for _, p in pairs) / len(pairs) if pairs else 0.0


def macro_f1(
    gold: list[str], pred: list[str]
) -> tuple[float, dict[str, dict[str, float]]]:
    """Macro-averaged F1 over the gold labels, and per-label precision/recall/F1/support."""
    labels = sorted(set(gold))
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = (
            2 * precision * recall / (precision + recall) if precision + recall else 0.0
        )
        per[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
        }
    return sum(v["f1"] for v in per.values()) / len(per), per


def term_scores(gold: list[list[str]], found: list[list[str]]) -> tuple[float, float]:
    """Recall and precision of KB entry ids per message (multiset match)."""
    tp = fn = fp = 0
    for g, f in zip(gold, found, strict=True):
        gc, fc = Counter(g), Counter(f)
        hit = sum((gc & fc).values())
        tp += hit
        fn += sum(gc.values()) - hit
        fp += sum(fc.values()) - hit
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    return recall, precision


async def parse_all(
    model: Path, texts: list[str]
) -> tuple[list[dict[str, Any]], float]:
    """Parse every text with the trained model; returns results and seconds per message."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message("warm up")
    started = time.perf_counter()
    results = [await agent.parse_message(text) for text in texts]
    return results, (time.perf_counter() - started) / max(1, len(texts))


def evaluate(model: Path, data: Path) -> dict[str, Any]:
    """Run the evaluation and return the metrics."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(data)).intent_examples
    texts = [ex.get("text") for ex in examples]
    gold_intents = [ex.get("intent") for ex in examples]
    gold_terms = [[e["value"] for e in ex.get("entities") or []] for ex in examples]
    results, per_message = asyncio.run(parse_all(model, texts))
    pred_intents = [r["intent"]["name"] for r in results]
    found_terms = [
        [e["value"] for e in r.get("entities") or [] if e.get("entity") == "kb_term"]
        for r in results
    ]
    f1, per_intent = macro_f1(gold_intents, pred_intents)
    recall, precision = term_scores(gold_terms, found_terms)
    errors = [
        {"text": t, "gold": g, "predicted": p}
        for t, g, p in zip(texts, gold_intents, pred_intents, strict=True)
        if g != p
    ]
    return {
        "messages": len(texts),
        "intent_accuracy": sum(
            g == p for g, p in zip(gold_intents, pred_intents, strict=True)
        )
        / len(texts),
        "intent_macro_f1": f1,
        "kb_term_recall": recall,
        "kb_term_precision": precision,
        "kb_terms": sum(len(g) for g in gold_terms),
        "low_confidence": pred_intents.count(FALLBACK),
        "button_rate": button_rate(gold_intents, pred_intents),
        "parse_ms_per_message": per_message * 1000,
        "per_intent": per_intent,
        "confusions": Counter(
            f"{e['gold']} -> {e['predicted']}" for e in errors
        ).most_common(),
        "errors": errors,
    }


def markdown(metrics: dict[str, Any]) -> str:
    """A short Markdown report."""
    lines = [
        "# Held-out NLU evaluation",
        "",
        f"Messages: {metrics['messages']}, KB terms: {metrics['kb_terms']}",
        "",
        "| metric | value | threshold |",
        "| --- | --- | --- |",
    ]
    for key in (
        "intent_accuracy",
        "intent_macro_f1",
        "kb_term_recall",
        "kb_term_precision",
    ):
        lines.append(f"| {key} | {metrics[key]:.3f} | {THRESHOLDS.get(key, '')} |")
    lines.append(
        f"| button_rate | {metrics['button_rate']:.3f} | <= {MAX_BUTTON_RATE} |"
    )
    lines += [
        "",
        "| intent | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in metrics["per_intent"].items():
        lines.append(
            f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} "
            f"| {row['support']} |"
        )
    lines += ["", "Confusions (gold -> predicted):", ""]
    lines += [f"- {pair}: {count}" for pair, count in metrics["confusions"]]
    return "\n".join(lines) + "\n"


def report_name(data: Path) -> str:
    """A report file name unique per set: two sets may share a file name in two folders."""
    return f"{data.parent.name}-{data.stem}" if data.parent.name else data.stem


def gates(args: argparse.Namespace, index: int) -> dict[str, float]:
    """The minimums for the ``index``-th data file: one value per file, or one for all."""

    def pick(values: list[float] | None, default: float) -> float:
        if not values:
            return default
        return values[index] if len(values) > 1 else values[0]

    return {
        **THRESHOLDS,
        "intent_accuracy": pick(args.min_accuracy, THRESHOLDS["intent_accuracy"]),
        "intent_macro_f1": pick(args.min_macro_f1, THRESHOLDS["intent_macro_f1"]),
        "button_rate": pick(args.max_button_rate, MAX_BUTTON_RATE),
    }


def report(
    metrics: dict[str, Any], data: Path, limits: dict[str, float], aggregate_only: bool
) -> list[str]:
    """Print one file's figures; return the names of the gates it missed."""
    print(f"\nHeld-out NLU evaluation ({metrics['messages']} messages, {data})")
    failed = []
    for key in (
        "intent_accuracy",
        "intent_macro_f1",
        "kb_term_recall",
        "kb_term_precision",
    ):
        limit = limits.get(key)
        ok = limit is None or metrics[key] >= limit
        failed += [] if ok else [key]
        shown = f"(threshold {limit:.2f})" if limit else ""
        target = TARGETS.get(key)
        if target is not None:
            met = "met" if metrics[key] >= target else "NOT MET"
            shown += f" target {target:.2f}: {met}"
        print(
            f"  {key:<20} {metrics[key]:.3f} {shown} {'' if ok else 'BELOW THRESHOLD'}"
        )
    ok = metrics["button_rate"] <= limits["button_rate"]
    failed += [] if ok else ["button_rate"]
    print(
        f"  {'button_rate':<20} {metrics['button_rate']:.3f} "
        f"(at most {limits['button_rate']:.2f}) {'' if ok else 'ABOVE THRESHOLD'}"
    )
    print(f"  low-confidence (buttons offered): {metrics['low_confidence']}")
    print(f"  NLU parse time: {metrics['parse_ms_per_message']:.1f} ms per message")
    if not aggregate_only:
        for pair, count in metrics["confusions"][:8]:
            print(f"  confusion {pair}: {count}")
    return failed


def main() -> int:
    """CLI: ``python -m scripts.eval_nlu --model M --data tests/nlu/heldout.yml [more.yml]``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, default=Path("results/nlu"))
    parser.add_argument("--min-accuracy", type=float, nargs="+")
    parser.add_argument("--min-macro-f1", type=float, nargs="+")
    parser.add_argument("--max-button-rate", type=float, nargs="+")
    parser.add_argument(
        "--aggregate-only",
        action="store_true",
        help="print no confusion pairs (the reports still hold them)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug events would print message text
    args.out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for index, data in enumerate(args.data):
        metrics = evaluate(args.model, data)
        name = report_name(data)
        (args.out / f"{name}.json").write_text(json.dumps(metrics, indent=2))
        (args.out / f"{name}.md").write_text(markdown(metrics))
        missed = report(metrics, data, gates(args, index), args.aggregate_only)
        failed += [f"{data}: {gate}" for gate in missed]
        print(f"  report: {args.out / (name + '.md')}")
    for line in failed:
        print(f"  GATE MISSED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
