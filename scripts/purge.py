"""Delete conversations older than N days from the configured tracker store.

``make purge DAYS=N``: every conversation whose last event is more than ``N`` days old is
deleted whole (all its events), from whichever store ``TRACKER_STORE_URL`` / ``TRACKER_DB``
name (bot/tracker_store.py: the SQLite file by default, or PostgreSQL). Prints how many
conversations were deleted; never prints who they were.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import sqlalchemy as sa

from bot import warnings_filter
from bot.tracker_store import tracker_store_url

logger = logging.getLogger(__name__)
DAY_S = 86_400.0

OLD_SENDERS = sa.text(
    "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"
)
DELETE_SENDER = sa.text("DELETE FROM events WHERE sender_id = :sender")


def purge(url: str, days: float, now: float | None = None) -> int:
    """Delete conversations idle for more than ``days`` days at ``url``; their count."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    cutoff = (time.time() if now is None else now) - days * DAY_S
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0
        with engine.begin() as conn:
            senders = [row[0] for row in conn.execute(OLD_SENDERS, {"cutoff": cutoff})]
            for sender in senders:
                conn.execute(DELETE_SENDER, {"sender": sender})
        return len(senders)
    finally:
        engine.dispose()


def main() -> int:
    """CLI for ``make purge DAYS=N``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, required=True)
    parser.add_argument("--url", default=None, help="default: the configured store")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = args.url or tracker_store_url()
    count = purge(url, args.days)
    logger.info(
        "deleted %d conversation(s) idle for more than %g days (%s)",
        count,
        args.days,
        sa.engine.make_url(url).render_as_string(hide_password=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
