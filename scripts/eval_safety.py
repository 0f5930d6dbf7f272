"""Evaluate the deterministic safety screen on the safety suites, and snapshot it.

Modes:

* default: red-flag recall, false-alarm rate and crisis recall of the in-process
  :class:`~bot.components.safety_screen.SafetyScreen` on our own suites (the urgent
  turns of ``tests/conversations/safety_red_flags.yml`` and the ``RED_FLAGS`` of
  ``tests/components/test_safety.py``; the crisis turns of ``safety_crisis.yml``;
  ``tests/safety/false_alarms.yml``); with ``--dev``, on the development suites
  (``tests/safety_dev/*.yml``: written blind, seen during development on 2026-12-01,
  so tuned against; ``tests/safety_dev/own/*.yml``: ours, written in batches from public
  helpline lists before each tuning round, then tuned against; ``tests/safety_dev/v3/``:
  written blind on 2026-12-02 as a development set; ``tests/safety_dev/v4/``: the same,
  written blind later that day; ``tests/safety_dev/v5/`` and ``v6/``: the same, written
  blind later again; ``--show-misses`` lists their misses); with
  ``--blind``, on the blind suites (``tests/safety_blind_v2/`` and
  ``tests/safety_blind_v3/``), with gates. ``--model`` adds the
  whole NLU of a trained model (classifier + screen), ungated. For the blind suites
  only aggregate numbers are printed, never a message (they are kept unseen on
  purpose). Every suite of the dev / blind format also reports how many of its English
  messages (``lang: en``; every false-alarm message, all English by the suites' rules)
  the language check reads as another language (``english_misread_rate``, gated only
  when its gate option is given).
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
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.components.safety import (  # noqa: E402
    INTENT_OTHER_LANGUAGE,
    SafetyScreen,
    build_screen,
)

logger = logging.getLogger(__name__)

OWN_DIR = REPO_ROOT / "tests" / "safety"
# written blind, seen during development on 2026-12-01: a development set now
DEV_DIR = REPO_ROOT / "tests" / "safety_dev"
# our own development suites (issue 11 families), written before tuning, tuned against
DEV_OWN_DIR = DEV_DIR / "own"
# written blind on 2026-12-02 as a development set (tuned against from the start)
DEV_V3_DIR = DEV_DIR / "v3"
# written blind on 2026-12-02 (later that day) as a development set
DEV_V4_DIR = DEV_DIR / "v4"
# written blind on 2026-12-02 (later again) as a development set
DEV_V5_DIR = DEV_DIR / "v5"
# written blind on 2026-12-02 (last of that day) as a development set
DEV_V6_DIR = DEV_DIR / "v6"
# the blind sets: never read, never print their messages
BLIND_DIR = REPO_ROOT / "tests" / "safety_blind_v2"
BLIND_V3_DIR = REPO_ROOT / "tests" / "safety_blind_v3"
BLIND_V4_DIR = REPO_ROOT / "tests" / "safety_blind_v4"
# label (also the prefix of its gate options) -> folder
DEV_SUITES = {
    "dev": DEV_DIR,
    "dev-own": DEV_OWN_DIR,
    "dev-v3": DEV_V3_DIR,
    "dev-v4": DEV_V4_DIR,
    "dev-v5": DEV_V5_DIR,
    "dev-v6": DEV_V6_DIR,
}
BLIND_SUITES = {
    "blind": BLIND_DIR,
    "blind-v3": BLIND_V3_DIR,
    "blind-v4": BLIND_V4_DIR,
}
GATE_FLAGS = (
    ("red_flag_recall", "red-flag"),
    ("false_alarm_rate", "false-alarm"),
    ("crisis_recall", "crisis"),
    ("english_misread_rate", "english-misread"),
)
CONVERSATIONS = REPO_ROOT / "tests" / "conversations"
TEST_MODULES = (
    "tests/components/test_safety.py",
    "tests/components/test_safety_temperature.py",
    "tests/components/test_safety_mentions.py",
)
_ANNOTATION_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)|\[([^\]]+)\]\{[^}]*\}")

# Gates (fraction). Own suites: the targets. Dev and blind suites: mk/safety.mk.
# English read as another language: the target is 0, but it is gated only where a
# gate option is given (None: reported, not gated), so that older suites keep their gates.
GATES: Dict[str, float | None] = {
    "red_flag_recall": 1.0,
    "false_alarm_rate": 0.05,
    "crisis_recall": 1.0,
    "english_misread_rate": None,
}
# measures where fewer hits are better (the gate is a maximum)
MAXIMUM_MEASURES = frozenset({"false_alarm_rate", "english_misread_rate"})


def make_screen() -> SafetyScreen:
    """The screen as the NLU pipeline builds it, from config/safety.yml."""
    return build_screen()


def _strip(text: str) -> str:
    return _ANNOTATION_RE.sub(lambda m: m.group(1) or m.group(2), text).strip()


def nlu_messages(paths: Iterable[Path]) -> List[Tuple[str, str]]:
    """(intent, text) for every example in Rasa NLU YAML files."""
    found: List[Tuple[str, str]] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.append((intent, _strip(line[2:])))
    return found


def conversation_messages(
    paths: Iterable[Path], expect: str | None = None
) -> List[Tuple[str, str]]:
    """(file stem, text) for the user turns of the conversation scripts.

    Args:
        paths: script files.
        expect: ``"urgent"`` keeps the turns expected to get the urgent reply first,
            ``"crisis"`` those expected to get ``utter_crisis``; None keeps all.
    """
    from convtest.script import parse_file

    found: List[Tuple[str, str]] = []
    for path in paths:
        conversations, _ = parse_file(path)
        for conversation in conversations:
            for step in conversation.steps:
                if not step.user:
                    continue
                if expect == "urgent" and not step.expect.urgent_first:
                    continue
                if expect == "crisis" and "utter_crisis" not in step.expect.responses:
                    continue
                found.append((path.stem, step.user))
    return found


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


ALARM_INTENTS = frozenset({"red_flag", "red_flag_crisis", "crisis"})
RED_FLAG_INTENTS = frozenset({"red_flag", "red_flag_crisis"})
CRISIS_INTENTS = frozenset({"crisis", "red_flag_crisis"})


@dataclass
class SuiteResult:
    """Aggregate result of one suite: hits out of total, overall and per class."""

    name: str
    measure: str
    hits: int = 0
    total: int = 0
    per_class: Dict[str, List[int]] | None = None

    @property
    def rate(self) -> float:
        """hits / total (0 for an empty suite)."""
        return self.hits / self.total if self.total else 0.0


def suite_messages(path: Path) -> List[Dict[str, str]]:
    """``messages: [{text, class, lang?}]`` of a safety suite file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [m for m in data.get("messages") or [] if isinstance(m, dict)]


IntentOf = Callable[[str], "str | None"]
OTHER_LANGUAGE_INTENTS = frozenset({INTENT_OTHER_LANGUAGE})


def screen_intents(screen: SafetyScreen) -> IntentOf:
    """The intent the screen alone forces (None: the classifier would decide)."""
    return lambda text: screen.screen(text).intent


def screen_languages(screen: SafetyScreen) -> IntentOf:
    """``other_language`` if the screen's language check reads ``text`` as not English,
    whatever else the screen found (a red flag would hide the reading otherwise)."""
    return lambda text: (
        INTENT_OTHER_LANGUAGE if screen.is_other_language(text) else None
    )


def english_messages(name: str, messages: Sequence[Dict[str, str]]) -> List[str]:
    """Texts of a suite file's English messages: ``lang: en``, or no ``lang`` in a
    false-alarm file (all English by the suites' rules)."""
    default = "en" if name == "false_alarms.yml" else None
    return [m["text"] for m in messages if m.get("lang", default) == "en"]


def model_intents(model: Path) -> IntentOf:
    """The intent the trained model's whole NLU pipeline gives (classifier + screen)."""
    import asyncio
    import contextlib
    import io

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parsed text at DEBUG through structlog, to stdout: the blind
    # suites' messages must never be printed, so silence it and swallow stdout too.
    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()

    def intent(text: str) -> str | None:
        with contextlib.redirect_stdout(io.StringIO()):
            parsed = loop.run_until_complete(agent.parse_message(text))
        return (parsed.get("intent") or {}).get("name")

    return intent


def score(
    intent_of: IntentOf,
    name: str,
    measure: str,
    items: Sequence[Tuple[str, str]],
    wanted: frozenset,
) -> Tuple[SuiteResult, List[str]]:
    """Count messages whose forced intent is in ``wanted``; returns misses' texts too.

    For a false-alarm suite ``hits`` are the false alarms.
    """
    per_class: Dict[str, List[int]] = {}
    result = SuiteResult(name, measure, per_class=per_class)
    misses: List[str] = []
    false_alarm = measure in MAXIMUM_MEASURES
    for cls, text in items:
        hit = intent_of(text) in wanted
        counts = per_class.setdefault(cls, [0, 0])
        counts[0] += hit
        counts[1] += 1
        result.hits += hit
        result.total += 1
        if hit == false_alarm:
            misses.append(text)
    return result, misses


def own_suites(screen: IntentOf) -> List[Tuple[SuiteResult, List[str]]]:
    """Our suites: tests/safety/*.yml and the red-flag / crisis conversation scripts."""
    out = []
    red = [
        ("script", t)
        for _, t in conversation_messages(
            [CONVERSATIONS / "safety_red_flags.yml"], "urgent"
        )
    ]
    unit = REPO_ROOT / "tests" / "components" / "test_safety.py"
    spec = importlib.util.spec_from_file_location("test_safety_suite", unit)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        red += [("unit_tests", t) for t in getattr(module, "RED_FLAGS", [])]
    out.append(score(screen, "own red flags", "red_flag_recall", red, RED_FLAG_INTENTS))
    crisis = [
        ("script", t)
        for _, t in conversation_messages(
            [CONVERSATIONS / "safety_crisis.yml"], "crisis"
        )
    ]
    out.append(score(screen, "own crisis", "crisis_recall", crisis, CRISIS_INTENTS))
    fa = OWN_DIR / "false_alarms.yml"
    if fa.exists():
        items = [(m.get("class", "?"), m["text"]) for m in suite_messages(fa)]
        out.append(
            score(screen, "own false alarms", "false_alarm_rate", items, ALARM_INTENTS)
        )
    return out


def blind_suites(
    screen: IntentOf,
    label: str = "blind",
    folder: Path = BLIND_DIR,
    misses: List[str] | None = None,
    language_of: IntentOf | None = None,
) -> List[SuiteResult]:
    """Suites in the blind-set format (red_flags, false_alarms, crisis) of ``folder``.

    Only aggregate results are returned; ``misses`` (development suites only, never
    the blind ones) collects ``"<suite>: <text>"`` for every error. The last row counts
    the English messages of the three files read as another language, by
    ``language_of`` (default: ``screen``'s intent is ``other_language``); its classes
    are the files.
    """
    specs = (
        ("red_flags.yml", "red_flag_recall", RED_FLAG_INTENTS),
        ("false_alarms.yml", "false_alarm_rate", ALARM_INTENTS),
        ("crisis.yml", "crisis_recall", CRISIS_INTENTS),
    )
    results = []
    english: List[Tuple[str, str]] = []
    for name, measure, wanted in specs:
        path = folder / name
        if not path.exists():
            continue
        messages = suite_messages(path)
        english += [(name[:-4], text) for text in english_messages(name, messages)]
        items = [(m.get("class", "?"), m["text"]) for m in messages]
        if name == "red_flags.yml":
            # a red flag with crisis wording must get both replies (red_flag_crisis)
            both = [(c, t) for c, t in items if c == "red_flag_and_crisis"]
            if both:
                extra, missed = score(
                    screen,
                    f"{label} red+crisis",
                    "crisis_recall",
                    both,
                    frozenset({"red_flag_crisis"}),
                )
                results.append(extra)
                if misses is not None:
                    misses += [f"red+crisis: {text}" for text in missed]
        if name == "crisis.yml":
            # recall over the crisis messages; the others (not_crisis, ambiguous) are
            # reported per class as how often they got the crisis reply
            others = [(c, t) for c, t in items if c != "crisis"]
            items = [(c, t) for c, t in items if c == "crisis"]
            extra, _ = score(screen, f"{label} not-crisis", "info", others, wanted)
            results.append(extra)
        result, missed = score(screen, f"{label} {name[:-4]}", measure, items, wanted)
        results.append(result)
        if misses is not None:
            misses += [f"{name[:-4]}: {text}" for text in missed]
    if english:
        result, missed = score(
            language_of or screen,
            f"{label} english",
            "english_misread_rate",
            english,
            OTHER_LANGUAGE_INTENTS,
        )
        results.append(result)
        if misses is not None:
            misses += [f"read as another language: {text}" for text in missed]
    return results


def passes(result: SuiteResult, gates: Dict[str, float | None]) -> bool:
    """Whether the suite meets its gate (``info`` rows and None gates have none)."""
    if result.measure == "info":
        return True
    gate = gates.get(result.measure)
    if gate is None:
        return True
    if result.measure in MAXIMUM_MEASURES:
        return result.rate <= gate + 1e-9
    return result.rate >= gate - 1e-9


def _line(result: SuiteResult, gate: float | None, ok: bool) -> str:
    classes = ", ".join(
        f"{cls} {h}/{n}" for cls, (h, n) in sorted((result.per_class or {}).items())
    )
    verdict = f" gate {gate:.0%} {'ok' if ok else 'FAIL'}" if gate is not None else ""
    return (
        f"{result.name:<22} {result.measure:<20} {result.rate:6.1%}"
        f" ({result.hits}/{result.total}){verdict}\n    per class: {classes}"
    )


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
        for measure, flag in GATE_FLAGS:
            parser.add_argument(
                f"--{label}-{flag}-gate", type=float, default=GATES[measure]
            )
    parser.add_argument(
        "--own-false-alarm-gate", type=float, default=GATES["false_alarm_rate"]
    )
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        help="also evaluate this trained model's whole NLU (classifier + screen)",
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
    own_gates = {**GATES, "false_alarm_rate": args.own_false_alarm_gate}
    gates_of = {
        label: {
            measure: getattr(args, f"{label}-{flag}-gate".replace("-", "_"))
            for measure, flag in GATE_FLAGS
        }
        for label in (*DEV_SUITES, *BLIND_SUITES)
    }
    out("== the safety screen alone (gated)\n")
    for result, misses in own_suites(screen_intents(screen)):
        ok = passes(result, own_gates)
        failed |= not ok
        out(_line(result, own_gates.get(result.measure), ok) + "\n")
        if args.show_misses:
            out("".join(f"    miss: {t!r}\n" for t in misses))
    if args.dev:
        for label, folder in DEV_SUITES.items():
            dev_misses: List[str] = []
            gates = gates_of[label]
            for result in blind_suites(
                screen_intents(screen),
                label,
                folder,
                dev_misses,
                language_of=screen_languages(screen),
            ):
                ok = passes(result, gates)
                failed |= not ok
                out(_line(result, gates.get(result.measure), ok) + "\n")
            if args.show_misses:
                out("".join(f"    miss: {t!r}\n" for t in dev_misses))
    if args.blind:
        for label, folder in BLIND_SUITES.items():
            gates = gates_of[label]
            for result in blind_suites(
                screen_intents(screen),
                label,
                folder,
                language_of=screen_languages(screen),
            ):
                ok = passes(result, gates)
                failed |= not ok
                out(_line(result, gates.get(result.measure), ok) + "\n")
    for model in args.model:
        out(f"== whole NLU of {model.name} (classifier + screen; not gated)\n")
        intents = model_intents(model)
        for result, _ in own_suites(intents):
            out(_line(result, None, True) + "\n")
        folders = {
            **(DEV_SUITES if args.dev else {}),
            **(BLIND_SUITES if args.blind else {}),
        }
        for label, folder in folders.items():
            for result in blind_suites(intents, label, folder):
                out(_line(result, None, True) + "\n")
    out("safety gates: " + ("FAILED" if failed else "all passed") + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
