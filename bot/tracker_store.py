"""Tracker stores: Rasa's SQL store made safe for hostile input, and its embedded SQLite form.

Rasa's ``SQLTrackerStore.session_scope`` (checked against rasa 3.6.21) turns *any*
``ValueError`` raised while a session is open into ``print_error_and_exit``, i.e.
``sys.exit``. A ``ValueError`` is what the database driver raises for data it cannot store:
a ``UnicodeEncodeError`` for a lone UTF-16 surrogate on SQLite, a NUL character on
PostgreSQL (psycopg2). One request with such a sender id stopped the whole Rasa server.
:class:`SafeSQLTrackerStore` raises :class:`TrackerStoreError` instead; Rasa's
``FailSafeTrackerStore`` (which wraps every store) logs it, and only that message is affected.

:class:`SQLiteTrackerStore` is the default (``bot/endpoints.yml``): a local SQLite file in
WAL mode. WAL journaling with ``synchronous=NORMAL`` lets readers and the writer work at the
same time and avoids an fsync per message; a committed conversation survives a crash of the
server (only a power cut can lose the last few turns). The database file and its ``-wal`` and
``-shm`` companions are kept readable by their owner only (0600).

For PostgreSQL use :class:`SafeSQLTrackerStore` with a URL, e.g. in ``bot/endpoints.yml``::

    tracker_store:
      type: bot.tracker_store.SafeSQLTrackerStore
      url: postgresql://netchemo:${PGPASSWORD}@127.0.0.1:5432/netchemo
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Generator

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class TrackerStoreError(RasaException):
    """The store could not read or write one conversation (the server keeps running)."""


class SafeSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that raises :class:`TrackerStoreError` instead of exiting.

    Any dialect Rasa's SQL store supports; pass a full database URL as ``url`` (Rasa hands
    it over as ``host``) or the separate ``dialect``, ``host``, ``port``, ``db`` fields.
    """

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Session, None, None]:
        """A session around a series of operations; driver value errors are raised."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as exc:
                raise TrackerStoreError(
                    f"PostgreSQL schema '{exc}' was not found in the database"
                ) from None
            yield session
        except ValueError as exc:
            # The message names the error type only: the value may hold what a user sent.
            session.rollback()
            raise TrackerStoreError(
                f"the database refused a value ({type(exc).__name__})"
            ) from None
        finally:
            session.close()


def _apply_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def make_private(db: str | os.PathLike[str]) -> None:
    """chmod 0600 the SQLite file ``db`` and its companions that exist."""
    for suffix in SQLITE_COMPANIONS:
        path = Path(f"{os.fspath(db)}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mode & 0o777 != PRIVATE_FILE:
                path.chmod(PRIVATE_FILE)


class SQLiteTrackerStore(SafeSQLTrackerStore):
    """:class:`SafeSQLTrackerStore` fixed to SQLite at ``db`` (a file path), WAL mode."""

    def __init__(
        self,
        domain: Domain | None = None,
        db: str = "var/tracker.db",
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("dialect", None)
        path = Path(db)
        if not path.exists():
            # Created empty and private, so the database never exists world-readable.
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
            os.close(fd)
        super().__init__(
            domain=domain, dialect="sqlite", db=db, event_broker=event_broker, **kwargs
        )
        event.listen(self.engine, "connect", _apply_pragmas)
        self.engine.dispose()  # connections made before the listener reconnect with it
        with self.engine.connect():
            pass  # opens the WAL files now, so they can be made private too
        make_private(db)
        logger.debug("SQLite tracker store in WAL mode")
