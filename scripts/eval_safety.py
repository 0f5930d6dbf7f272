"""Evaluate the deterministic safety screen on the safety suites, and snapshot it.

Modes:

* default: red-flag recall, false-alarm rate and crisis recall of the in-process
  :class:`~bot.components.safety_screen.SafetyScreen` on our own suites (the urgent
  turns of ``tests/conversations/safety_red_flags.yml`` and the ``RED_FLAGS`` of
  ``tests/components/test_safety.py``; the crisis turns of ``safety_crisis.yml``;
  ``tests/safety/false_alarms.yml``); with ``--dev``, on the development suites
  (``scripts.safety_suites.DEV_SUITES``: ``tests/safety_dev/``, its ``own/`` and its
  numbered sets from ``v3/`` on; all tuned against, so development sets;
  ``--show-misses`` lists their misses); with
  ``--blind``, on the blind suites (``tests/safety_blind_v2/``, ``v3/`` and ``v4/``),
  with gates. Own and dev suites are gated at the issue's targets unless an option says
  otherwise; the blind suites get their gates from mk/safety.mk. ``--model`` adds the
  whole NLU of a trained model (classifier + screen: what the bot does), gated by
  ``--model-gates`` (YAML; mk/safety.mk passes ``tests/safety/whole_nlu_gates.yml``).
  For the blind suites only aggregate numbers are printed, never a message (they are kept unseen on
  purpose). Every suite of the dev / blind format also reports how many of its English
  messages (``lang: en``; every false-alarm message, all English by the suites' rules)
  the language check reads as another language (``english_misread_rate``).
  Loading and scoring live in :mod:`scripts.safety_suites`; this module is the report.
* ``--snapshot OUT``: write the screen's verdict for every message of the training data,
  the conversation scripts and the safety unit tests' parametrizations (JSON).
* ``--compare FILE``: re-screen the messages of a snapshot and list the differences.

Usage: ``python scripts/eval_safety.py [--dev] [--blind] [--snapshot OUT | --compare FILE]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.components.safety import SafetyScreen, build_screen  # noqa: E402
from scripts.safety_suites import (  # noqa: E402,F401 (re-exported for the tests)
    BLIND_SUITES,
    CONVERSATIONS,
    DEV_SUITES,
    GATE_FLAGS,
    OWN_LABEL,
    TARGETS,
    SuiteResult,
    blind_suites,
    conversation_messages,
    default_gates,
    english_messages,
    load_model_gates,
    model_intents,
    nlu_messages,
    own_suites,
    passes,
    screen_intents,
    screen_languages,
)

logger = logging.getLogger(__name__)

TEST_MODULES = (
    "tests/components/test_safety.py",
    "tests/components/test_safety_temperature.py",
    "tests/components/test_safety_mentions.py",
)


def make_screen() -> SafetyScreen:
    """The screen as the NLU pipeline builds it, from config/safety.yml."""
    return build_screen()


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)) and depth < 2:
        for item in value:
            yield from _strings(item, depth + 1)


def test_parametrizations() -> List[Tuple[str, str]]:
    """(module, text) for the strings in the safety unit tests' module-level lists."""
    found: List[Tuple[str, str]] = []
    for rel in TEST_MODULES:
        path = REPO_ROOT / rel
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import the test module {rel}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, (list, tuple)):
                found += [(path.stem, s) for s in _strings(value) if s.strip()]
    return found


def corpus() -> List[Tuple[str, str]]:
    """Every message the snapshot covers, deduplicated, as (source, text)."""
    items = nlu_messages(sorted((REPO_ROOT / "data" / "nlu").glob("*.yml")))
    items += conversation_messages(sorted(CONVERSATIONS.glob("*.yml")))
    items += test_parametrizations()
    seen: Dict[str, str] = {}
    for source, text in items:
        seen.setdefault(text, source)
    return [(source, text) for text, source in seen.items()]


def verdict(screen: SafetyScreen, text: str) -> Dict[str, Any]:
    """The screen's result as plain JSON data."""
    result = asdict(screen.screen(text))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in result.items()}


def snapshot(screen: SafetyScreen, out: Path) -> int:
    """Write every corpus message's verdict to ``out``; returns the message count."""
    rows = [
        {"source": source, "text": text, "verdict": verdict(screen, text)}
        for source, text in corpus()
    ]
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(rows)


def compare(screen: SafetyScreen, path: Path, fields: Sequence[str]) -> List[Dict]:
    """Rows of a snapshot whose verdict (restricted to ``fields``) changed."""
    changed = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        now = verdict(screen, row["text"])
        before = {k: row["verdict"].get(k) for k in fields}
        after = {k: now.get(k) for k in fields}
        if before != after:
            changed.append({**row, "before": before, "after": after})
    return changed


def _line(result: SuiteResult, gate: float | None, ok: bool) -> str:
    classes = ", ".join(
        f"{cls} {h}/{n}" for cls, (h, n) in sorted((result.per_class or {}).items())
    )
    verdict = f" gate {gate:.1%} {'ok' if ok else 'FAIL'}" if gate is not None else ""
    return (
        f"{result.name:<22} {result.measure:<20} {result.rate:6.1%}"
        f" ({result.hits}/{result.total}){verdict}\n    per class: {classes}"
    )


def _report(
    results: Iterable[SuiteResult],
    gates: Dict[str, float | None],
    out: Callable[[str], Any],
) -> bool:
    """Write one line per result with its gate; True if every result passes."""
    all_ok = True
    for result in results:
        ok = passes(result, gates)
        all_ok &= ok
        out(_line(result, gates.get(result.measure), ok) + "\n")
    return all_ok


def _rss_mb() -> float:
    """Resident memory of this process (Linux /proc), in MB."""
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def language_cost(screen: SafetyScreen) -> str:
    """Memory the language detector adds and its time per call (English training data)."""
    import time

    texts = [
        t for _, t in nlu_messages(sorted((REPO_ROOT / "data" / "nlu").glob("*.yml")))
    ]
    before = _rss_mb()
    screen.language.warm_up()
    after = _rss_mb()
    start = time.perf_counter()
    for text in texts:
        screen.language.is_other_language(text)
    per_call = (time.perf_counter() - start) / len(texts) * 1000
    start = time.perf_counter()
    for text in texts:
        screen.screen(text)
    per_screen = (time.perf_counter() - start) / len(texts) * 1000
    return (
        f"language detector ({', '.join(screen.lexicon.language.languages)}): "
        f"+{after - before:.0f} MB RSS, {per_call:.2f} ms per call, whole screen "
        f"{per_screen:.2f} ms per message ({len(texts)} messages)\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, help="write the verdict snapshot")
    parser.add_argument("--compare", type=Path, help="diff against a snapshot")
    parser.add_argument(
        "--fields", default="red_flags,crisis,personal_advice,other_language,negated"
    )
    parser.add_argument("--dev", action="store_true", help="also the dev suites")
    parser.add_argument("--blind", action="store_true", help="also the blind suites")
    for label in (*DEV_SUITES, *BLIND_SUITES):
        defaults = default_gates(label)
        for measure, flag in GATE_FLAGS:
            parser.add_argument(
                f"--{label}-{flag}-gate", type=float, default=defaults[measure]
            )
    parser.add_argument(
        "--own-false-alarm-gate", type=float, default=TARGETS["false_alarm_rate"]
    )
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        help="also evaluate this trained model's whole NLU (classifier + screen)",
    )
    parser.add_argument(
        "--model-gates",
        type=Path,
        help="gates for --model (YAML, see scripts.safety_suites.load_model_gates)",
    )
    parser.add_argument(
        "--show-misses", action="store_true", help="own and dev suites only"
    )
    parser.add_argument("--language-cost", action="store_true", help="RSS and time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = sys.stdout.write
    screen = make_screen()
    if args.language_cost:
        out(language_cost(screen))
        return 0
    if args.snapshot:
        out(
            f"snapshot: {snapshot(screen, args.snapshot)} messages -> {args.snapshot}\n"
        )
        return 0
    if args.compare:
        changed = compare(screen, args.compare, args.fields.split(","))
        for row in changed:
            out(
                f"{row['source']}: {row['text']!r}\n  {row['before']}\n  {row['after']}\n"
            )
        out(f"{len(changed)} verdicts changed\n")
        return 0
    failed = False
    own_gates = {**TARGETS, "false_alarm_rate": args.own_false_alarm_gate}
    gates_of = {
        label: {
            measure: getattr(args, f"{label}-{flag}-gate".replace("-", "_"))
            for measure, flag in GATE_FLAGS
        }
        for label in (*DEV_SUITES, *BLIND_SUITES)
    }
    out("== the safety screen alone (gated)\n")
    for result, misses in own_suites(screen_intents(screen)):
        failed |= not _report([result], own_gates, out)
        if args.show_misses:
            out("".join(f"    miss: {t!r}\n" for t in misses))
    if args.dev:
        for label, folder in DEV_SUITES.items():
            dev_misses: List[str] = []
            gates = gates_of[label]
            results = blind_suites(
                screen_intents(screen),
                label,
                folder,
                dev_misses,
                language_of=screen_languages(screen),
            )
            failed |= not _report(results, gates, out)
            if args.show_misses:
                out("".join(f"    miss: {t!r}\n" for t in dev_misses))
    if args.blind:
        for label, folder in BLIND_SUITES.items():
            gates = gates_of[label]
            results = blind_suites(
                screen_intents(screen),
                label,
                folder,
                language_of=screen_languages(screen),
            )
            failed |= not _report(results, gates, out)
    model_gates = load_model_gates(args.model_gates) if args.model_gates else {}
    for model in args.model:
        gated = "gated" if model_gates else "not gated"
        out(f"== whole NLU of {model.name} (classifier + screen; {gated})\n")
        intents = model_intents(model)
        runs = [(OWN_LABEL, [r for r, _ in own_suites(intents)])]
        folders = {
            **(DEV_SUITES if args.dev else {}),
            **(BLIND_SUITES if args.blind else {}),
        }
        runs += [
            (label, blind_suites(intents, label, f)) for label, f in folders.items()
        ]
        for label, results in runs:
            failed |= not _report(results, model_gates.get(label, {}), out)
    out("safety gates: " + ("FAILED" if failed else "all passed") + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
