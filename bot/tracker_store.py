"""The embedded tracker store: Rasa's SQL store on a local SQLite file, in WAL mode.

WAL journaling with ``synchronous=NORMAL`` lets readers and the writer work at the same time
and avoids an fsync per message; a committed conversation survives a crash of the server
(only a power cut can lose the last few turns). Configured in ``bot/endpoints.yml``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy import event

logger = logging.getLogger(__name__)
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


def _apply_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class SQLiteTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` fixed to SQLite at ``db`` (a file path), with WAL pragmas."""

    def __init__(
        self,
        domain: Domain | None = None,
        db: str = "var/tracker.db",
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("dialect", None)
        super().__init__(
            domain=domain, dialect="sqlite", db=db, event_broker=event_broker, **kwargs
        )
        event.listen(self.engine, "connect", _apply_pragmas)
        self.engine.dispose()  # connections made before the listener reconnect with it
        logger.debug("SQLite tracker store in WAL mode")
