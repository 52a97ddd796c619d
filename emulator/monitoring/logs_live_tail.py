"""CloudWatch Logs Live Tail (StartLiveTail): a response event stream of the log events
ingested into up to 10 log groups while the session is open.

The stream is a ``sessionStart`` event, then a ``sessionUpdate`` about every second (an
empty ``sessionResults`` when nothing new matched), as AWS sends it. An update holds at
most 500 events; when more matched since the last one, 500 of them are picked at random
(in ingestion order) and ``sessionMetadata.sampled`` is true. A session ends when the
client closes the stream (the server notices at the next update: emulator/app.py
``_send``), after three hours (``SessionTimeoutException``), or on a reset. At most 15
sessions run at once per account and region (the CloudWatch Logs quota); one more is
``LimitExceededException``. A session also ends when the server shuts down: uvicorn's
graceful shutdown waits for every open response, and tells the application nothing
(``_exiting``).

A session follows the store by event id, the table's rowid, which grows with every
insert: each poll reads the rows past the last id seen (a rowid range scan, off the event
loop), keeps those of its groups and streams, and applies the filter pattern with the
engine metric filters use. A poll that has read MAX_SCAN rows of its groups skips the
rest up to the newest row it saw (AWS too drops events a session cannot take: it
buffers 5,000) and marks the update sampled. Rows deleted at the end of the table (a reset, a deleted stream) let
SQLite hand their ids out again: a poll that finds the largest id below its mark moves
the mark back to it, so the events written after that are not missed.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring.filterpattern import Matcher, compile_pattern
from emulator.monitoring.logstore import Group, LogStore, invalid

MAX_GROUPS = 10
MAX_STREAM_FILTERS = 100
MAX_SESSIONS = 15  # concurrent Live Tail sessions per account and Region (CloudWatch Logs quotas)
MAX_RESULTS = 500  # log events in one sessionUpdate
SESSION_SECONDS = 3 * 3600
POLL_SECONDS = 1.0
BATCH = 1000  # rows read per query: short reads, since the event loop writes under the store lock
MAX_SCAN = 50_000  # rows of the session's groups read per poll; beyond that the rest is skipped


@dataclass
class Session:
    id: str
    key: tuple[str, str]  # (account, region): what the session quota counts by
    groups: dict[int, Group]  # by group id
    identifiers: dict[int, str]  # group id -> logGroupIdentifier of its results ("ACCOUNT:NAME")
    names: frozenset[str] | None
    prefixes: tuple[str, ...] | None
    matcher: Matcher
    mark: int  # the last event id seen
    started: float
    streams: dict[int, dict[int, str]] = field(default_factory=dict)  # group id -> stream id -> name
    closed: bool = False
    polls: int = 0


def _exiting() -> Callable[[], bool]:
    """Whether the server is shutting down. uvicorn's SIGTERM/SIGINT handler is its Server's
    ``handle_exit``, which sets ``should_exit``; without it (another server, a test's
    in-process app) a session ends only by its client, its timeout or a reset."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if server is None or not hasattr(server, "should_exit"):
        return lambda: False
    return lambda: bool(server.should_exit)


def _length_error(name: str, value: list[Any], hi: int) -> AwsError:
    return invalid(f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: Member must have length less than or equal to {hi}")


class LiveTail:
    def __init__(self, store: LogStore, poll_seconds: float = POLL_SECONDS, session_seconds: float = SESSION_SECONDS) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.session_seconds = session_seconds
        self.sessions: dict[str, Session] = {}
        # Data protection (emulator.monitoring.logs_protection, set by the Logs handler): a
        # session shows what GetLogEvents shows, masked, and its pattern sees the masked text.
        self.protection: Any = None
        self.polls = 0  # since start, every session's: /_emulator/health shows it
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the operation
    def start(self, p: dict[str, Any], region: str, account_id: str, request_id: str) -> dict[str, Any]:
        """StartLiveTail: validates, takes a session slot, and returns the response whose
        ``responseStream`` the protocol writes as an event stream."""
        idents = p.get("logGroupIdentifiers")
        if not idents:
            raise invalid("1 validation error detected: Value null at 'logGroupIdentifiers' failed to satisfy constraint: Member must not be null")
        if not isinstance(idents, list) or not all(isinstance(i, str) and i for i in idents):
            raise invalid("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 1]")
        if len(idents) > MAX_GROUPS:
            raise _length_error("logGroupIdentifiers", idents, MAX_GROUPS)
        names, prefixes = p.get("logStreamNames"), p.get("logStreamNamePrefixes")
        for member, value in (("logStreamNames", names), ("logStreamNamePrefixes", prefixes)):
            if value is not None and not value:
                raise invalid(f"1 validation error detected: Value '[]' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to 1")
            if value and len(value) > MAX_STREAM_FILTERS:
                raise _length_error(member, value, MAX_STREAM_FILTERS)
        if names and prefixes:
            raise invalid("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.")
        if (names or prefixes) and len(idents) > 1:
            raise invalid("logStreamNames and logStreamNamePrefixes can only be specified when logGroupIdentifiers contains exactly one log group.")
        pattern = p.get("logEventFilterPattern")
        if pattern is not None and len(pattern) > 1024:
            raise invalid(f"1 validation error detected: Value '{pattern}' at 'logEventFilterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024")
        matcher = compile_pattern(pattern, background=True)  # InvalidParameterException for a malformed pattern
        groups: dict[int, Group] = {}
        for ident in idents:
            if ident.startswith("arn:") and ident.endswith("*"):
                raise invalid(f"Invalid log group identifier: {ident}. A log group ARN can't end with an asterisk (*).")
            name = self.store.name_from_arn(ident, region) if ident.startswith("arn:") and ":log-group:" in ident else ident
            group = self.store.get_group(name, region)  # ResourceNotFoundException
            groups[group.id] = group
        key = (account_id, region)
        with self._lock:
            if sum(1 for s in self.sessions.values() if s.key == key) >= MAX_SESSIONS:
                raise AwsError("LimitExceededException", f"You have reached the maximum number of concurrent Live Tail sessions ({MAX_SESSIONS}) for this account.", 400)
            session = Session(
                id=str(uuid.uuid4()),
                key=key,
                groups=groups,
                identifiers={gid: f"{account_id}:{g.name}" for gid, g in groups.items()},
                names=frozenset(names) if names else None,
                prefixes=tuple(prefixes) if prefixes else None,
                matcher=matcher,
                mark=self._last_id(),
                started=time.monotonic(),
            )
            self.sessions[session.id] = session
        start: dict[str, Any] = {"requestId": request_id, "sessionId": session.id, "logGroupIdentifiers": list(idents)}
        if names:
            start["logStreamNames"] = list(names)
        if prefixes:
            start["logStreamNamePrefixes"] = list(prefixes)
        if pattern is not None:
            start["logEventFilterPattern"] = pattern
        events = self._events(session, start, _exiting())
        # A stream that is never iterated (the client left before the first frame) never
        # runs the generator's finally: freeing the slot when it is collected covers that.
        weakref.finalize(events, self._release, session.id)
        return {"responseStream": events}

    async def _events(self, session: Session, start: dict[str, Any], exiting: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"sessionStart": start}
            due = time.monotonic()
            while True:
                due += self.poll_seconds
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if session.closed or exiting():
                    return
                if time.monotonic() - session.started >= self.session_seconds:
                    raise AwsError("SessionTimeoutException", "Session timed out after three hours.", 400)
                results, sampled = await asyncio.to_thread(self._poll, session)
                if session.closed:
                    return
                yield {"sessionUpdate": {"sessionMetadata": {"sampled": sampled}, "sessionResults": results}}
                due = max(due, time.monotonic() - self.poll_seconds)  # a slow reader: no burst of catch-up polls
        finally:
            self._release(session.id)

    # ------------------------------------------------------------ polling (a worker thread)
    def _last_id(self) -> int:
        with self.store.lock:
            row = self.store.db.execute("SELECT MAX(id) FROM event").fetchone()
        return int(row[0] or 0)

    def _stream_name(self, session: Session, gid: int, sid: int) -> str | None:
        names = session.streams.get(gid)
        if names is None or sid not in names:
            names = session.streams[gid] = self.store.stream_names(gid)  # a stream created since
        return names.get(sid)

    def _wanted(self, session: Session, stream: str) -> bool:
        if session.names is not None:
            return stream in session.names
        if session.prefixes is not None:
            return stream.startswith(session.prefixes)
        return True

    def _poll(self, session: Session) -> tuple[list[dict[str, Any]], bool]:
        session.polls += 1
        with self._lock:
            self.polls += 1
        last = self._last_id()
        session.mark = min(session.mark, last)  # rows at the end were deleted: their ids are handed out again
        gids = list(session.groups)
        # "+gid": SQLite must walk the rowid range, not the group index (every event of the group)
        sql = f"SELECT id, gid, sid, ts, ingest, message FROM event WHERE id > ? AND +gid IN ({','.join('?' * len(gids))}) ORDER BY id LIMIT {BATCH}"
        matched: list[dict[str, Any]] = []
        skipped = False
        read = 0
        protection = self.protection
        maskers = {gid: protection.masker(group) for gid, group in session.groups.items()} if protection is not None else {}
        while True:
            with self.store.lock:
                rows = self.store.db.execute(sql, [session.mark, *gids]).fetchall()
            read += len(rows)
            for eid, gid, sid, ts, ingest, message in rows:
                if (mask := maskers.get(gid)) is not None:
                    message = mask(message, ingest)
                stream = self._stream_name(session, gid, sid)
                if stream is None or not self._wanted(session, stream) or not session.matcher(message):
                    continue
                matched.append({"logStreamName": stream, "logGroupIdentifier": session.identifiers[gid], "message": message, "timestamp": ts, "ingestionTime": ingest})
            if rows:
                session.mark = rows[-1][0]
            if len(rows) < BATCH or session.mark >= last or session.closed:
                break
            if read >= MAX_SCAN:  # a flood: what is left up to the newest row is dropped
                session.mark = last
                skipped = True
                break
        if len(matched) > MAX_RESULTS:
            keep = sorted(random.sample(range(len(matched)), MAX_RESULTS))
            return [matched[i] for i in keep], True
        return matched, skipped

    # ------------------------------------------------------------ bookkeeping
    def _release(self, session_id: str) -> None:
        with self._lock:
            session = self.sessions.pop(session_id, None)
        if session is not None:
            session.closed = True

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"sessions": len(self.sessions), "polls": self.polls}

    def reset(self) -> None:
        """End every session (POST /_emulator/reset): their groups are gone, and the ids
        they follow start over."""
        with self._lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for session in sessions:
            session.closed = True
