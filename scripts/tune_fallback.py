"""Choose the fallback thresholds by cross-validation on the training data, never a held-out set.

Reads the predictions that ``scripts/nlu_cv --no-retrieval`` kept (every fold's intent
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import warnings_filter
from scripts.eval_nlu import (
    FALLBACK,
    IN_SCOPE,
    KNOWLEDGE_INTENTS,
    button_rate,
    macro_f1,
)
from scripts.paths import ROOT

HINT_FROM = {"ask_capabilities", "ask_what_is"}
KEEP_INTENTS = {"followup_topic"}  # the hint's keep_intents in config.yml
# The retrieval step's no_term_intents in config.yml: knowledge readings that nearly always
# name a KB term.
NO_TERM_INTENTS = KNOWLEDGE_INTENTS
# The safety layer puts the intent it forces first with confidence 1.0, above the classifier's
# ranking; the classifier itself is never that sure of an unsure message.
FORCED = 0.9999


def kind(row: dict[str, Any]) -> str:
    """``cv`` (held back in its fold), ``extra`` (always trained on) or ``dev`` (an exposed
    development set parsed by every fold model)."""
    return row.get("set", "cv")


def fold_indexes(rows: list[dict[str, Any]], encoder: str) -> dict[int, Any]:
    """One retrieval index per fold, built from that fold's training examples only: the
    cross-validation rows of the other folds plus the examples always trained on."""
    import numpy as np

    from bot.components.retrieval_intent import DenseIndex, SampleIndex
    from bot.components.term_matching import matcher_for

    pool = [r for r in rows if kind(r) in ("cv", "extra")]
    matcher = matcher_for()
    if encoder == "minilm":
        vectors = DenseIndex.encode([" ".join(r["text"].split()) for r in pool])
    else:
        shown = [SampleIndex.placeholder_text(r["text"], matcher) for r in pool]
    indexes: dict[int, Any] = {}
    for fold in sorted({r["fold"] for r in rows if kind(r) != "extra"}):
        keep = [i for i, r in enumerate(pool) if r["fold"] != fold]
        labels = [pool[i]["gold"] for i in keep]
        if encoder == "minilm":
            indexes[fold] = DenseIndex(vectors[np.array(keep)], labels)
        else:
            indexes[fold] = SampleIndex.fit([shown[i] for i in keep], labels)
    return indexes


def neighbours(
    rows: list[dict[str, Any]], encoder: str
) -> list[tuple[str, float] | None]:
    """Each scored row's nearest example in its fold's training data: intent, similarity."""
    import numpy as np

    from bot.components.retrieval_intent import DenseIndex, SampleIndex
    from bot.components.term_matching import matcher_for

    indexes = fold_indexes(rows, encoder)
    matcher = matcher_for()
    rows = [r for r in rows if kind(r) != "extra"]
    if encoder == "tfidf":
        return [
            indexes[r["fold"]].nearest(SampleIndex.placeholder_text(r["text"], matcher))
            for r in rows
        ]
    texts = sorted({" ".join(r["text"].split()) for r in rows})
    vectors = dict(zip(texts, DenseIndex.encode(texts), strict=True))
    out: list[tuple[str, float] | None] = []
    for r in rows:
        index = indexes[r["fold"]]
        sims = index.vectors @ vectors[" ".join(r["text"].split())]
        best = int(np.argmax(sims))
        out.append((index.labels[best], float(sims[best])))
    return out


def replay(
    row: dict[str, Any],
    threshold: float,
    ambiguity: float,
    min_similarity: float,
    neighbour: tuple[str, float] | None,
    broad: frozenset,
    floor: float = 0.0,
    hint_floor: float = 0.0,
    no_term_oos: float = 0.0,
) -> str:
    """The final intent of one message under one setting: the fallback classifier, the
    retrieval step (unsure messages; term-less knowledge readings like an off-topic
    example when ``no_term_oos`` is set) and the knowledge-intent hint, as config.yml
    runs them."""
    ranking = [(n, c) for n, c in row["ranking"] if n != FALLBACK]
    if not ranking:
        return row["predicted"]
    top, conf = ranking[0]
    if row["predicted"] not in (FALLBACK, top) or conf >= FORCED:
        return row["predicted"]  # forced by the safety layer or the hint: unchanged
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    unsure = conf < threshold or conf - second < ambiguity
    named = [t for t in row["terms"] if t not in broad]
    if not unsure:
        if (
            no_term_oos
            and top in NO_TERM_INTENTS
            and not row["terms"]
            and neighbour is not None
            and neighbour[0] == "out_of_scope"
            and neighbour[1] >= no_term_oos
        ):
            return "out_of_scope"
        if top in HINT_FROM - {"ask_what_is"} and named:
            return "ask_what_is"
        return top
    readings = dict(ranking[:2])
    if (
        neighbour is not None
        and neighbour[1] >= min_similarity
        and readings.get(neighbour[0], -1.0) >= floor
    ):
        if neighbour[0] == "ask_capabilities" and named:
            return "ask_what_is"  # the hint's rule for a named topic
        return neighbour[0]
    if top == "out_of_scope" and not row["terms"]:
        return "out_of_scope"
    if top in KEEP_INTENTS:
        return top if named else FALLBACK
    if top in HINT_FROM and named and conf >= hint_floor:
        return "ask_what_is"
    return FALLBACK


def scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
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
    """CLI: ``python -m scripts.tune_fallback --predictions results/nlu-cv-tune/...``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--predictions",
        type=Path,
        default=ROOT / "results" / "nlu-cv-tune" / "cv_predictions.json",
    )
    parser.add_argument("--encoder", choices=("minilm", "tfidf"), default="minilm")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--max-buttons", type=float, default=0.03)
    parser.add_argument(
        "--report",
        type=float,
        nargs=5,
        action="append",
        metavar=("THRESHOLD", "AMBIGUITY", "MIN_SIM", "FLOOR", "NO_TERM_OOS"),
        help="also print the per-intent table and confusions of this setting "
        "(repeatable)",
    )
    parser.add_argument("--show-errors", type=int, default=0)
    args = parser.parse_args()
    from bot.components.term_matching import matcher_for

    every = json.loads(args.predictions.read_text())
    scored = [r for r in every if kind(r) != "extra"]
    nearest = dict(zip(map(id, scored), neighbours(every, args.encoder), strict=True))
    broad = frozenset(matcher_for().broad)
    sets = {
        name: [r for r in scored if kind(r) == name]
        for name in ("cv", "dev")
        if any(kind(r) == name for r in scored)
    }
    results = []
    grid = itertools.product(
        (0.4, 0.5, 0.6, 0.7),  # fallback threshold
        (0.0, 0.05),  # ambiguity threshold
        (0.3, 0.4, 0.5, 0.6, 0.7, 2.0),  # retrieval minimum similarity (2.0: none)
        (0.0, 0.1, 0.2, 0.3),  # minimum classifier confidence of the retrieved reading
        (0.0, 0.3, 0.4, 0.5, 0.6),  # term-less off-topic rule's similarity (0: off)
    )

    def run(setting: tuple[float, ...], rows: list[dict[str, Any]]) -> list[str]:
        threshold, ambiguity, min_similarity, floor, no_term = setting
        return [
            replay(
                r,
                threshold,
                ambiguity,
                min_similarity,
                nearest[id(r)],
                broad,
                floor=floor,
                no_term_oos=no_term,
            )
            for r in rows
        ]

    for setting in grid:
        results.append(
            (
                setting,
                {
                    name: scores([r["gold"] for r in rows], run(setting, rows))
                    for name, rows in sets.items()
                },
            )
        )
    results.sort(key=lambda kv: (-kv[1]["cv"]["macro_f1"], kv[1]["cv"]["buttons"]))
    head = (
        "threshold ambiguity min_sim floor no_term | "
        "CV: accuracy macro_f1 buttons wrong"
    )
    print(head + (" | dev: accuracy macro_f1 buttons" if "dev" in sets else ""))
    shown = [kv for kv in results if kv[1]["cv"]["buttons"] <= args.max_buttons]
    for (t, a, s, f, o), sc in shown[: args.top]:
        cv = sc["cv"]
        line = (
            f"{t:9.2f} {a:9.2f} {s:7.2f} {f:5.2f} {o:7.2f} |     {cv['accuracy']:.3f}    "
            f"{cv['macro_f1']:.3f}    {cv['buttons']:.3f}   {cv['wrong']:.3f}"
        )
        if "dev" in sc:
            d = sc["dev"]
            line += f" |      {d['accuracy']:.3f}    {d['macro_f1']:.3f}   {d['buttons']:.3f}"
        print(line)
    if args.report:
        from scripts.nlu_cv import per_intent_report

        for setting in map(tuple, args.report):
            for name, rows in sets.items():
                replayed = [
                    {**r, "predicted": p}
                    for r, p in zip(rows, run(setting, rows), strict=True)
                ]
                totals = scores(
                    [r["gold"] for r in rows], [r["predicted"] for r in replayed]
                )
                print(
                    f"\n{name}, setting {setting}: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in totals.items())
                )
                if len(args.report) == 1 or args.show_errors:
                    print(per_intent_report(replayed, args.show_errors))
    for ref in ((0.5, 0.05, 2.0, 0.0, 0.0), (0.4, 0.05, 2.0, 0.0, 0.0)):
        sc = next(v for k, v in results if k == ref)
        print(
            f"without retrieval {ref[:2]}: "
            + "; ".join(
                f"{name} " + ", ".join(f"{k} {v:.3f}" for k, v in s.items())
                for name, s in sc.items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
