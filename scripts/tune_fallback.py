"""Choose the fallback thresholds by cross-validation on the training data, never a held-out set.

Reads the predictions that ``scripts/nlu_cv.py --no-retrieval`` kept (every fold's intent
ranking) and replays the end of the pipeline for each candidate setting: the fallback
classifier's ``threshold`` and ``ambiguity_threshold``, then the retrieval step over sample
questions (``bot.components.retrieval_intent``) with its minimum similarity, then the
knowledge-intent hint. Prints accuracy, macro-F1, the button rate and the wrong-answer rate
(in-scope questions answered as something else) for each, best first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.eval_nlu import FALLBACK, IN_SCOPE, button_rate, macro_f1  # noqa: E402
from scripts.paths import ROOT  # noqa: E402

HINT_FROM = {"ask_capabilities", "ask_what_is"}
# The safety layer puts the intent it forces first with confidence 1.0, above the classifier's
# ranking; the classifier itself is never that sure of an unsure message.
FORCED = 0.9999


def fold_indexes(rows: List[Dict[str, Any]]) -> Dict[int, Any]:
    """One retrieval index per fold, built from that fold's training examples only (every
    row of the other folds: together the rows are the whole training data)."""
    from bot.components.retrieval_intent import SampleIndex
    from bot.components.term_matching import matcher_for

    matcher = matcher_for()
    shown = [SampleIndex.placeholder_text(r["text"], matcher) for r in rows]
    indexes = {}
    for fold in sorted({r["fold"] for r in rows}):
        keep = [i for i, r in enumerate(rows) if r["fold"] != fold]
        indexes[fold] = SampleIndex.fit(
            [shown[i] for i in keep], [rows[i]["gold"] for i in keep]
        )
    return indexes


def replay(
    row: Dict[str, Any],
    threshold: float,
    ambiguity: float,
    min_similarity: float,
    neighbour: Tuple[str, float] | None,
    broad: frozenset,
) -> str:
    """The final intent of one message under one setting."""
    ranking = [(n, c) for n, c in row["ranking"] if n != FALLBACK]
    if not ranking:
        return row["predicted"]
    top, conf = ranking[0]
    if row["predicted"] not in (FALLBACK, top) or conf >= FORCED:
        return row["predicted"]  # forced by the safety layer or the hint: unchanged
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    unsure = conf < threshold or conf - second < ambiguity
    if not unsure:
        return top
    if (
        neighbour is not None
        and neighbour[1] >= min_similarity
        and neighbour[0] in {r[0] for r in ranking[:2]}
    ):
        return neighbour[0]
    named = [t for t in row["terms"] if t not in broad]
    if top == "out_of_scope" and not row["terms"]:
        return "out_of_scope"
    if top in HINT_FROM and named:
        return "ask_what_is"
    return FALLBACK


def scores(gold: Sequence[str], pred: Sequence[str]) -> Dict[str, float]:
    """Accuracy, macro-F1, button rate, wrong-answer rate."""
    f1, _ = macro_f1(list(gold), list(pred))
    scoped = [(g, p) for g, p in zip(gold, pred, strict=True) if g in IN_SCOPE]
    wrong = sum(p not in (g, FALLBACK) for g, p in scoped) / max(1, len(scoped))
    return {
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
        "macro_f1": f1,
        "buttons": button_rate(list(gold), list(pred)),
        "wrong": wrong,
    }


def main() -> int:
    """CLI: ``python scripts/tune_fallback.py --predictions results/nlu-cv-fast/...``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--predictions",
        type=Path,
        default=ROOT / "results" / "nlu-cv-fast" / "cv_predictions.json",
    )
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    from bot.components.retrieval_intent import SampleIndex
    from bot.components.term_matching import matcher_for

    rows = json.loads(args.predictions.read_text())
    indexes = fold_indexes(rows)
    matcher = matcher_for()
    broad = frozenset(matcher.broad)
    neighbours = [
        indexes[r["fold"]].nearest(SampleIndex.placeholder_text(r["text"], matcher))
        for r in rows
    ]
    gold = [r["gold"] for r in rows]
    results = []
    grid = itertools.product(
        (0.3, 0.4, 0.5, 0.6),  # fallback threshold
        (0.0, 0.02, 0.05),  # ambiguity threshold
        (0.5, 0.6, 0.7, 0.8, 2.0),  # retrieval minimum similarity (2.0: no retrieval)
    )
    for threshold, ambiguity, min_sim in grid:
        pred = [
            replay(r, threshold, ambiguity, min_sim, n, broad)
            for r, n in zip(rows, neighbours, strict=True)
        ]
        results.append(((threshold, ambiguity, min_sim), scores(gold, pred)))
    results.sort(key=lambda kv: (-kv[1]["macro_f1"], kv[1]["buttons"]))
    print("threshold ambiguity min_sim | accuracy macro_f1 buttons wrong")
    for (t, a, s), sc in results[: args.top]:
        print(
            f"{t:9.2f} {a:9.2f} {s:7.2f} | {sc['accuracy']:.3f}    {sc['macro_f1']:.3f}"
            f"    {sc['buttons']:.3f}   {sc['wrong']:.3f}"
        )
    current = next(sc for (t, a, s), sc in results if (t, a, s) == (0.5, 0.05, 2.0))
    print(f"current setting (0.5, 0.05, no retrieval): {current}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
