"""Where answer feedback is kept: one row per vote, never who voted or what they typed.

A row holds the KB entry id, the facet answered, the vote (up/down), the channel and the
time (UTC, to the minute). The database is an SQLite file by default; any SQLAlchemy URL
works, so PostgreSQL can be used later without code changes.

Setting (environment variable ``FEEDBACK_DB``): a file path (``var/feedback.db``) or a URL
(``sqlite:////abs/path.db``, ``postgresql://user@host/db``). Without it the file sits next
to the tracker database (``TRACKER_DB``, set by ``scripts/serve.py``), so servers started
for tests keep their votes in their own folder; else ``var/feedback.db`` in the repository.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
ENV_URL = "FEEDBACK_DB"
DEFAULT_FILE = "feedback.db"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
VOTES = ("up", "down")

metadata = sa.MetaData()
# The only table. Nothing here can hold a message text or a sender id.
feedback = sa.Table(
    "answer_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kb_id", sa.String(100), nullable=False, index=True),
    sa.Column("facet", sa.String(40), nullable=False),
    sa.Column("vote", sa.String(4), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(20), nullable=False),  # ISO UTC, to the minute
)


@dataclass(frozen=True)
class Vote:
    """One validated vote on one answer."""

    kb_id: str
    facet: str
    vote: str  # "up" or "down"
    channel: str


@dataclass(frozen=True)
class EntryCounts:
    """Votes on one KB entry (one facet of it, or all facets together: ``facet`` None)."""

    kb_id: str
    up: int
    down: int
    facet: str | None = None


def database_url(setting: str | None = None) -> str:
    """The SQLAlchemy URL for ``setting`` (a path or URL), else for the environment."""
    value = setting or os.environ.get(ENV_URL)
    if not value:
        tracker_db = os.environ.get("TRACKER_DB")
        base = Path(tracker_db).parent if tracker_db else ROOT / "var"
        value = str(base / DEFAULT_FILE)
    if "://" in value:
        return value
    path = Path(value)
    if not path.is_absolute():
        path = ROOT / path
    return f"sqlite:///{path}"


def _prepare_sqlite_file(db: str) -> None:
    """Create the SQLite file empty and private (0600) in a private folder (0700)."""
    path = Path(db)
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
        os.close(fd)
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            companion = Path(f"{db}{suffix}")
            if companion.stat().st_mode & 0o777 != PRIVATE_FILE:
                companion.chmod(PRIVATE_FILE)


@functools.lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """A cached engine for ``url``, with the table created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    ):
        _prepare_sqlite_file(parsed.database)
    engine = sa.create_engine(url, future=True)
    metadata.create_all(engine)
    logger.debug("feedback store ready (%s)", parsed.get_backend_name())
    return engine


def now_minute() -> str:
    """The current UTC time to the minute, e.g. ``2026-12-01T20:15Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def record(vote: Vote, url: str | None = None) -> None:
    """Store one vote.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: if the database refuses it.
        ValueError: if the vote is neither up nor down.
    """
    if vote.vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}")
    engine = engine_for(database_url(url))
    with engine.begin() as conn:
        conn.execute(
            feedback.insert().values(
                kb_id=vote.kb_id,
                facet=vote.facet,
                vote=vote.vote,
                channel=vote.channel[:40],
                created_at=now_minute(),
            )
        )


def counts(url: str | None = None, by_facet: bool = False) -> list[EntryCounts]:
    """Up and down votes per entry (or per entry and facet), most "not helpful" first,
    then fewest "helpful", then by id."""
    engine = engine_for(database_url(url))
    up = sa.func.sum(sa.case((feedback.c.vote == "up", 1), else_=0))
    down = sa.func.sum(sa.case((feedback.c.vote == "down", 1), else_=0))
    keys = [feedback.c.kb_id] + ([feedback.c.facet] if by_facet else [])
    query = sa.select(*keys, up, down).group_by(*keys)
    rows: list[EntryCounts] = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            facet = str(row[1]) if by_facet else None
            u, d = row[-2], row[-1]
            rows.append(EntryCounts(str(row[0]), int(u or 0), int(d or 0), facet))
    return sorted(rows, key=lambda r: (-r.down, r.up, r.kb_id, r.facet or ""))
