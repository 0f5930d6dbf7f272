"""Which KB entries the conversation scripts reach, and with how many wordings.

An entry is *reached* by a step whose ``kb_entry`` expectation names exactly that entry
(a list of alternatives proves nothing about any one of them). After a run, only steps
whose reply really carried that entry count; without a run (``--check``), the scripts'
expectations are counted. *Wordings* are the distinct typed questions (case, spacing and
punctuation ignored) that reach an entry; pressed buttons reach an entry but are not wordings.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from convtest.client import ConversationResult
from convtest.script import Conversation, Step


def wording_key(text: str) -> str:
    """Normalise a question for counting wordings: lower-case letters and digits only."""
    return " ".join(re.findall(r"[0-9a-z]+", text.casefold()))


@dataclass(frozen=True)
class CoverageReport:
    """Reach per KB entry."""

    reached_by: dict[str, int]  # entry id -> steps that reach it
    wordings: dict[str, set[str]]  # entry id -> distinct typed wordings
    min_wordings: int

    @property
    def missing(self) -> list[str]:
        """Entries no step reaches."""
        return sorted(e for e, n in self.reached_by.items() if n == 0)

    @property
    def thin(self) -> list[str]:
        """Entries reached by fewer than ``min_wordings`` distinct typed questions."""
        return sorted(e for e, w in self.wordings.items() if len(w) < self.min_wordings)

    @property
    def ok(self) -> bool:
        """True if every entry is reached (and, if asked, by enough wordings)."""
        return not self.missing and (self.min_wordings <= 1 or not self.thin)

    def format(self) -> str:
        """Readable summary for the report."""
        total = len(self.reached_by)
        lines = [
            f"KB coverage: {total - len(self.missing)}/{total} entries reached by the scripts"
        ]
        if self.missing:
            lines.append(
                "  Not reached by any script (add a step with 'kb_entry: <id>'):"
            )
            lines.extend(f"    {e}" for e in self.missing)
        if self.min_wordings > 1:
            thin = self.thin
            lines.append(
                f"  Entries asked in fewer than {self.min_wordings} different wordings: "
                f"{len(thin)}"
            )
            lines.extend(f"    {e}: {len(self.wordings[e])}" for e in thin)
        return "\n".join(lines)


def _single_entry(step: Step) -> str | None:
    ids = step.expect.kb_entry
    return ids[0] if len(ids) == 1 else None


def compute_coverage(
    kb_ids: Collection[str],
    conversations: Sequence[Conversation] = (),
    results: Sequence[ConversationResult] | None = None,
    min_wordings: int = 1,
) -> CoverageReport:
    """Coverage from the scripts (``results`` None) or from the replies of a run."""
    reached: dict[str, int] = {e: 0 for e in kb_ids}
    wordings: dict[str, set[str]] = {e: set() for e in kb_ids}

    def count(step: Step, entry: str) -> None:
        if entry not in reached:
            return
        reached[entry] += 1
        if step.user is not None and wording_key(step.user):
            wordings[entry].add(wording_key(step.user))

    if results is None:
        for conv in conversations:
            for step in conv.steps:
                entry = _single_entry(step)
                if entry:
                    count(step, entry)
    else:
        for result in results:
            for step_result in result.steps:
                entry = _single_entry(step_result.step)
                if not entry or step_result.reply is None:
                    continue
                ids = {str(a.get("id")) for a in step_result.reply.kb_answers}
                if entry in ids:
                    count(step_result.step, entry)
    return CoverageReport(
        reached_by=reached, wordings=wordings, min_wordings=min_wordings
    )
