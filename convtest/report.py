"""The readable report (printed) and the JUnit XML file.

This is the only module that prints.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from convtest.client import ConversationResult, StepResult
from convtest.domain import normalise_space
from convtest.script import ScriptError

SHORT = 160
# Characters XML 1.0 cannot hold (scripts test odd input, and the bot may echo it).
_NOT_XML = re.compile(
    "[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _xml(text: str) -> str:
    """``text`` with characters that XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def display_path(path: str) -> str:
    """``path`` relative to the current directory when it is below it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _shorten(text: str, limit: int | None) -> str:
    text = normalise_space(text)
    if limit is not None and len(text) > limit:
        return text[: limit - 3] + "..."
    return text


def format_step(step_result: StepResult, full: bool = True) -> list[str]:
    """Lines for one turn: what was said, what the bot said, what failed."""
    step = step_result.step
    turn = f" (turn {step_result.turn}/{step.repeat})" if step.repeat > 1 else ""
    mark = "ok  " if step_result.passed else "FAIL"
    lines = [f"  {mark} step {step.index}{turn}  {step.describe()}"]
    if step.button is not None and step_result.sent is not None:
        lines.append(f"         sent payload: {step_result.sent!r}")
    if step.note and full:
        lines.append(f"         note: {step.note}")
    limit = None if full else SHORT
    if step_result.reply is not None:
        if not step_result.reply.messages:
            lines.append("         bot: (no messages)")
        for i, msg in enumerate(step_result.reply.messages, start=1):
            name = f" [{'/'.join(sorted(msg.names))}]" if msg.names else ""
            if msg.text is not None:
                lines.append(f"         bot {i}{name}: {_shorten(msg.text, limit)}")
            if msg.buttons:
                titles = " ".join(f"[{b.title}]" for b in msg.buttons)
                lines.append(f"         bot {i} buttons: {titles}")
            if msg.kb_answer is not None:
                kb = msg.kb_answer
                lines.append(
                    f"         bot {i} kb_answer: id={kb.get('id')} facet={kb.get('facet')} "
                    f"reviewed={kb.get('reviewed')}"
                )
            elif msg.custom is not None:
                lines.append(
                    f"         bot {i} custom: {_shorten(repr(msg.custom), limit)}"
                )
    if step_result.error:
        lines.append(f"         ERROR: {step_result.error}")
    for failure in step_result.failures:
        lines.append(f"         x {failure.check}")
        lines.append(f"             expected: {failure.expected}")
        lines.append(f"             actual:   {failure.actual}")
        if failure.diff:
            lines.append("             diff (- expected, + actual):")
            lines.extend(f"               {line}" for line in failure.diff)
    return lines


def format_conversation(result: ConversationResult, verbose: bool = False) -> list[str]:
    """Header line, plus the transcript when it failed (or always with ``verbose``)."""
    conv = result.conversation
    status = "PASS" if result.passed else ("ERROR" if result.errored else "FAIL")
    turns = len(result.steps)
    lines = [
        f"{status:5} {conv.suite} :: {conv.name}  ({turns} turns, {result.seconds:.1f}s)"
    ]
    if result.passed and not verbose:
        return lines
    lines.append(f"  file: {display_path(conv.path)}   sender: {result.sender}")
    for step_result in result.steps:
        lines.extend(format_step(step_result, full=verbose or not step_result.passed))
    if result.not_run:
        lines.append(f"  ({result.not_run} later step(s) not run)")
    return lines


def format_report(
    results: Sequence[ConversationResult],
    seconds: float,
    url: str,
    verbose: bool = False,
) -> str:
    """The whole report: failures first in detail, then a summary line."""
    lines: list[str] = [f"Conversation tests against {url}", ""]
    for result in results:
        lines.extend(format_conversation(result, verbose))
    passed = sum(r.passed for r in results)
    errors = sum((not r.passed) and r.errored for r in results)
    failed = len(results) - passed - errors
    turns = sum(len(r.steps) for r in results)
    lines.append("")
    lines.append(
        f"{len(results)} conversations, {turns} turns in {seconds:.1f}s: "
        f"{passed} passed, {failed} failed, {errors} errors"
    )
    failing = [r for r in results if not r.passed]
    if failing:
        lines.append("Failed:")
        lines.extend(
            f"  {r.conversation.path} :: {r.conversation.name}" for r in failing
        )
    return "\n".join(lines)


def format_script_errors(errors: Sequence[ScriptError]) -> str:
    """One line per malformed-script problem."""
    head = f"{len(errors)} problem(s) in the conversation scripts (nothing was run):"
    return "\n".join([head] + [f"  {e}" for e in errors])


def write_junit(
    results: Sequence[ConversationResult], path: Path, seconds: float
) -> None:
    """Write JUnit XML: one test suite per script file, one test case per conversation."""
    suites: dict[str, list[ConversationResult]] = OrderedDict()
    for result in results:
        suites.setdefault(result.conversation.path, []).append(result)
    root = ET.Element("testsuites", name="conversations", time=f"{seconds:.3f}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite_path, suite_results in suites.items():
        errors = sum((not r.passed) and r.errored for r in suite_results)
        failures = sum(not r.passed for r in suite_results) - errors
        suite = ET.SubElement(
            root,
            "testsuite",
            name=suite_results[0].conversation.suite,
            file=display_path(suite_path),
            tests=str(len(suite_results)),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=f"{sum(r.seconds for r in suite_results):.3f}",
        )
        totals["tests"] += len(suite_results)
        totals["failures"] += failures
        totals["errors"] += errors
        for result in suite_results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"conversations.{result.conversation.suite}",
                name=_xml(result.conversation.name),
                file=display_path(suite_path),
                time=f"{result.seconds:.3f}",
            )
            if result.passed:
                continue
            transcript = "\n".join(format_conversation(result, verbose=True))
            first = next((s for s in result.steps if not s.passed), None)
            if result.errored:
                message = first.error if first and first.error else "error"
                ET.SubElement(
                    case, "error", message=_xml(message), type="error"
                ).text = _xml(transcript)
            else:
                message = (
                    str(first.failures[0]) if first and first.failures else "failed"
                )
                ET.SubElement(
                    case, "failure", message=_xml(message), type="expectation"
                ).text = _xml(transcript)
    for key, value in totals.items():
        root.set(key, str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def emit(text: str, stream: TextIO | None = None) -> None:
    """Print report text (the one place output is written); default stream: stdout."""
    print(text, file=stream or sys.stdout, flush=True)
