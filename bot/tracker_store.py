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

:class:`EnvTrackerStore` (the type ``bot/endpoints.yml`` names) chooses by environment:
``TRACKER_STORE_URL`` unset or ``sqlite:///<path>`` is the SQLite file (``TRACKER_DB``,
default ``var/tracker.db``); ``postgresql://user:password@host:5432/db`` is PostgreSQL through
:class:`SafeSQLTrackerStore` (connections checked before use, so a restarted database is
picked up without restarting the assistant).

When the database cannot be reached (refused, dropped, timed out), the store raises
:class:`TrackerStoreUnavailable` and sets :data:`STORE_UNAVAILABLE` for the current
message: Rasa's ``FailSafeTrackerStore`` then answers that message from a fresh in-memory
conversation (so red-flag and crisis replies still arrive) and the Rasa patch in
``bot/rasa_patches.py`` adds the kind ``store_unavailable`` sentence of kb/messages.yml
("try again shortly"), so no turn is dropped silently.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from pathlib import Path
from typing import Any, Generator

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import (
    SQLTrackerStore,
    create_engine_kwargs,
    ensure_schema_exists,
)
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
URL_ENV = "TRACKER_STORE_URL"
DB_ENV = "TRACKER_DB"
DEFAULT_DB = "var/tracker.db"
CONNECT_TIMEOUT_S = 3  # PostgreSQL: give up on an unreachable server quickly
# Errors that mean "the database is away", not "this value is bad".
UNAVAILABLE_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)
# True once the store failed during the current message (read by bot/rasa_patches.py).
STORE_UNAVAILABLE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "netchemo_store_unavailable", default=False
)


class TrackerStoreError(RasaException):
    """The store could not read or write one conversation (the server keeps running)."""


class TrackerStoreUnavailable(TrackerStoreError):
    """The database could not be reached; the next message tries again."""


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
        except UNAVAILABLE_ERRORS as exc:
            STORE_UNAVAILABLE.set(True)
            with contextlib.suppress(Exception):
                session.rollback()
            raise TrackerStoreUnavailable(
                f"the tracker database is unreachable ({type(exc).__name__})"
            ) from None
        except ValueError as exc:
            # The message names the error type only: the value may hold what a user sent.
            session.rollback()
            raise TrackerStoreError(
                f"the database refused a value ({type(exc).__name__})"
            ) from None
        finally:
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                session.close()

    def use_engine(self, engine: sa.engine.Engine) -> None:
        """Replace the engine Rasa built (pool settings Rasa does not expose)."""
        old = self.engine
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)
        old.dispose()


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
        # One connection kept open (QueuePool) instead of SQLAlchemy 1.4's NullPool for
        # files: closing the last connection of a WAL database runs a checkpoint (about
        # 7 ms per message in docs/performance.md). Rasa uses the store from the event
        # loop's thread; check_same_thread is off only so a pooled connection may be
        # used by another thread of the same process (never two at once).
        engine = sa.create_engine(
            self.engine.url,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _apply_pragmas)
        self.use_engine(engine)
        with self.engine.connect():
            pass  # opens the WAL files now, so they can be made private too
        make_private(db)
        logger.debug("SQLite tracker store in WAL mode")


class PostgreSQLTrackerStore(SafeSQLTrackerStore):
    """:class:`SafeSQLTrackerStore` at a ``postgresql://`` URL, connections pre-pinged."""

    def __init__(
        self,
        domain: Domain | None = None,
        url: str = "",
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("host", None)
        kwargs.pop("db", None)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        options = create_engine_kwargs(url)
        connect_args = options.pop("connect_args", {})
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        self.use_engine(
            sa.create_engine(
                url, pool_pre_ping=True, connect_args=connect_args, **options
            )
        )
        logger.debug("PostgreSQL tracker store")


def tracker_store_url(environ: dict | None = None) -> str:
    """The configured store as a URL: ``TRACKER_STORE_URL``, else the SQLite file."""
    env = os.environ if environ is None else environ
    url = env.get(URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{env.get(DB_ENV, '').strip() or DEFAULT_DB}"


class EnvTrackerStore(SafeSQLTrackerStore):
    """The store ``bot/endpoints.yml`` names: SQLite or PostgreSQL by environment.

    Rasa instantiates the class it is given, so this one builds the right store and
    hands back that object (see the module docstring for the variables).
    """

    def __new__(  # type: ignore[misc]
        cls,
        domain: Domain | None = None,
        db: str | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> SafeSQLTrackerStore:
        kwargs.pop("host", None)
        env = dict(os.environ)
        if db:
            env.setdefault(DB_ENV, db)
        return open_store(tracker_store_url(env), domain, event_broker, **kwargs)


def open_store(
    url: str,
    domain: Domain | None = None,
    event_broker: EventBroker | None = None,
    **kwargs: Any,
) -> SafeSQLTrackerStore:
    """The tracker store at ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        return SQLiteTrackerStore(domain, db=path, event_broker=event_broker, **kwargs)
    if url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        url = url.replace("postgres://", "postgresql://", 1)
        return PostgreSQLTrackerStore(domain, url, event_broker, **kwargs)
    raise TrackerStoreError(f"{URL_ENV} must start with postgresql:// or sqlite:///")
