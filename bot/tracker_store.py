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
``bot/rasa_patches.py`` adds the kind ``store_unavailable`` sentence ("try again shortly",
bot/domain/availability.yml), so no turn is dropped silently.

Saving skips Rasa's count of the stored events: ``SQLTrackerStore.save`` counts the
conversation's rows on every save to find which events are new (about 1 ms of the Rasa
server's CPU per message, docs/performance.md). :class:`SafeSQLTrackerStore` remembers on the
tracker how many events were loaded or saved, and appends only those after them; a tracker it
did not load or save itself (a new conversation, a copy) is counted as Rasa does. Turns of one
conversation are serialised by the lock store, so no other save comes in between. The rows
are written in one ``INSERT`` (SQLAlchemy Core) and read back by one prepared ``SELECT`` of
their ``data`` column, where Rasa builds an ORM query and an ORM object per event: the same
rows, the same order, the same latest-session rule (a test reads them with Rasa's store).

:func:`delete_conversation` is the one way every channel's "forget me" deletes a
conversation (Telegram ``/forget``, REST ``POST /webhooks/rest/forget``, the widget's
"Delete my conversation"): whichever store is configured, behind Rasa's wrappers, while
holding the conversation's lock so that no turn in progress saves it again.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import json
import logging
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    MongoTrackerStore,
    RedisTrackerStore,
    SQLTrackerStore,
    TrackerStore,
    create_engine_kwargs,
    ensure_schema_exists,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT_NAME_KEY
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
# On a tracker this store loaded or saved: how many of its events the database holds.
STORED_EVENTS = "_netchemo_stored_events"


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

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker, marked with how many events it was loaded with."""
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events; afterwards the database holds all of them."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [
                self._event_row(tracker.sender_id, event)
                for event in self._additional_events(session, tracker)
            ]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        setattr(tracker, STORED_EVENTS, len(tracker.events))

    @staticmethod
    def _event_row(sender_id: str, event: Event) -> dict[str, Any]:
        """One ``events`` row, with the columns Rasa's ``save`` fills."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {})
            .get("intent", {})
            .get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    @functools.lru_cache(maxsize=2)  # noqa: B019 (one store per process, kept for good)
    def _data_query(self, all_sessions: bool) -> sa.sql.Select:
        """Rasa's ``_event_query`` as one prepared ``SELECT data`` (``:sender`` bound)."""
        table = self.SQLEvent.__table__
        sender = table.c.sender_id == sa.bindparam("sender")
        query = sa.select(table.c.data).where(sender).order_by(table.c.id)
        if all_sessions:
            return query
        start = (
            sa.select(sa.func.max(table.c.timestamp))
            .where(sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        return query.where(sa.or_(table.c.timestamp >= start, start.is_(None)))

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """The conversation's events (the latest session's, or all) as a tracker."""
        with self.session_scope() as session:
            query = self._data_query(fetch_events_from_all_sessions)
            rows = session.execute(query, {"sender": sender_id}).scalars().all()
        events = [json.loads(data) for data in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _additional_events(
        self, session: Session, tracker: DialogueStateTracker
    ) -> Iterator:
        """The events after those the database holds, without counting its rows."""
        stored = getattr(tracker, STORED_EVENTS, None)
        if not isinstance(stored, int) or not 0 <= stored <= len(tracker.events):
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    def use_engine(self, engine: sa.engine.Engine) -> None:
        """Replace the engine Rasa built (pool settings Rasa does not expose)."""
        old: sa.engine.Engine = self.engine  # type: ignore[has-type]
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


# --------------------------------------------------------------------------------------
# Deleting one conversation ("forget me")
# --------------------------------------------------------------------------------------


class ForgetNotSupported(TrackerStoreError):
    """The configured tracker store cannot delete a conversation."""


# Rasa 3.6 (checked against 3.6.21) wraps the configured store in FailSafeTrackerStore
# (agent.py) and often AwaitableTrackerStore (tracker_store.py), and neither offers a
# public way to reach the store inside: both keep it in ``_tracker_store``. This is the
# only place that reads that attribute; tests/test_tracker_store.py fails if it goes.
WRAPPERS = (FailSafeTrackerStore, AwaitableTrackerStore)
WRAPPED_ATTRIBUTE = "_tracker_store"
# The stores :func:`delete_conversation` can delete from.
DELETABLE = (
    SQLTrackerStore,
    InMemoryTrackerStore,
    RedisTrackerStore,
    MongoTrackerStore,
)


def _stores_behind(tracker_store: TrackerStore | None) -> list[TrackerStore]:
    """The concrete stores behind Rasa's wrappers (FailSafe's in-memory fallback too)."""
    stores: list[TrackerStore] = []
    pending: list[Any] = [tracker_store]
    while pending:
        store = pending.pop()
        if store is None or any(store is seen for seen in stores):
            continue
        if isinstance(store, WRAPPERS):
            inner = getattr(store, WRAPPED_ATTRIBUTE, None)
            if inner is None:
                raise ForgetNotSupported(
                    f"{type(store).__name__} no longer keeps its store in "
                    f"{WRAPPED_ATTRIBUTE} (Rasa changed): cannot delete conversations"
                )
            pending.append(inner)
            if isinstance(store, FailSafeTrackerStore):
                # Turns saved while the primary store was down went to the fallback.
                pending.append(store.fallback_tracker_store)
            continue
        stores.append(store)
    return stores


def _delete_sql(store: SQLTrackerStore, sender_id: str) -> bool:
    # Rasa's SQL store has no delete: remove the sender's event rows in one transaction,
    # with the store's own session (SafeSQLTrackerStore raises TrackerStoreError or
    # TrackerStoreUnavailable from it) and table mapping. Runs on the event loop like the
    # store's own methods (an SQLite ':memory:' database is per thread).
    with store.session_scope() as session:
        deleted = (
            session.query(store.SQLEvent)
            .filter(store.SQLEvent.sender_id == sender_id)
            .delete(synchronize_session=False)
        )
        session.commit()
    return bool(deleted)


def _delete_from(store: TrackerStore, sender_id: str) -> bool:
    """Delete ``sender_id`` from one concrete store; True if something was there."""
    if isinstance(store, SQLTrackerStore):
        return _delete_sql(store, sender_id)
    if isinstance(store, InMemoryTrackerStore):
        return store.store.pop(sender_id, None) is not None
    if isinstance(store, RedisTrackerStore):
        return bool(store.red.delete(store.key_prefix + sender_id))
    if isinstance(store, MongoTrackerStore):
        return (
            store.conversations.delete_many({"sender_id": sender_id}).deleted_count > 0
        )
    raise ForgetNotSupported(f"cannot delete conversations from {type(store).__name__}")


async def delete_conversation(
    tracker_store: TrackerStore | None,
    sender_id: str,
    lock_store: LockStore | None = None,
) -> bool:
    """Delete every stored event of the conversation ``sender_id``.

    Args:
        tracker_store: the agent's store (``agent.tracker_store``), wrapped or not: the
            SQL stores (SQLite, PostgreSQL), in-memory, Redis and Mongo are supported.
        sender_id: the conversation as Rasa knows it (namespaced, e.g. ``tg:42``).
        lock_store: the agent's lock store (``agent.lock_store``, in memory or Redis):
            held while deleting, so a turn being handled cannot save the old
            conversation back afterwards.

    Returns:
        True if something was deleted, False if nothing was stored for ``sender_id``.

    Raises:
        ForgetNotSupported: no store, or one this function cannot delete from.
        TrackerStoreError: the database refused or could not be reached
            (:class:`TrackerStoreUnavailable`, also for a Redis store); the
            conversation is then as it was (SQL deletes in one transaction).

    Copies already published to an event broker are not affected.
    """
    stores = _stores_behind(tracker_store)
    if not stores:
        raise ForgetNotSupported("there is no tracker store to delete from")
    unsupported = [s for s in stores if not isinstance(s, DELETABLE)]
    if unsupported:  # checked first, so nothing is deleted from only some stores
        raise ForgetNotSupported(
            f"cannot delete conversations from {type(unsupported[0]).__name__}"
        )
    if lock_store is None:
        return _delete_all(stores, sender_id)
    async with lock_store.lock(sender_id):
        return _delete_all(stores, sender_id)


def _delete_all(stores: list[TrackerStore], sender_id: str) -> bool:
    try:
        deleted = [_delete_from(store, sender_id) for store in stores]
    except redis.exceptions.RedisError as exc:
        raise TrackerStoreUnavailable(
            f"the tracker store's Redis did not answer ({type(exc).__name__})"
        ) from None
    logger.debug("conversation deleted on request (%s)", any(deleted))
    return any(deleted)
