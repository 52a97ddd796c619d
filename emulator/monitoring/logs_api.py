"""CloudWatch Logs operations over the log store (the handler stays dict in -> dict out).

Every operation is of the request's region (``region``; None: the store's default region):
its log groups, and the Insights queries started in it."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from emulator.errors import AwsError
from emulator.monitoring import insights
from emulator.monitoring.filterpattern import compile_pattern
from emulator.monitoring.logstore import EVENT_OVERHEAD, Group, LogStore, invalid
from emulator.monitoring.query import decode_token as _decode
from emulator.monitoring.query import encode_token
from emulator.monitoring.query import token_int as _token_int

MAX_QUERY_RECORDS = 10_000
MAX_RESPONSE_BYTES = 1_048_576  # GetLogEvents and FilterLogEvents return up to 1 MB of events
LIST_PATTERN_RE = re.compile(r"^\^?[\.\-_/#A-Za-z0-9]{3,24}$")
QUERY_KEEP_SECONDS = 7 * 86400


def decode_token(token: str) -> dict[str, Any]:
    try:
        return _decode(token)
    except AwsError as exc:
        raise invalid("The specified nextToken is invalid.") from exc


def token_int(token: str, key: str) -> int:
    try:
        return _token_int(token, key)
    except AwsError as exc:
        raise invalid("The specified nextToken is invalid.") from exc


def event_size(message: str) -> int:
    """An event's bytes towards a response's 1 MB: its message in UTF-8 plus 26, as AWS sizes a PutLogEvents batch."""
    return len(message.encode()) + EVENT_OVERHEAD


def _limit(value: Any, default: int, hi: int, name: str) -> int:
    if value is None:
        return default
    n = int(value)
    if n < 1 or n > hi:
        raise invalid(f"1 validation error detected: Value '{n}' at '{name}' failed to satisfy constraint: Member must have value between 1 and {hi}")
    return n


class Masking(Protocol):
    """Data protection (emulator.monitoring.logs_protection): ``masker(group)`` is None for a
    group under no policy, so that reading one costs nothing per event."""

    def masker(self, group: Group) -> Callable[[str, int], str] | None: ...

    def status(self, group: Group) -> str | None: ...

    def inherited(self, group: Group) -> list[str]: ...

    def reset(self) -> None: ...


MAX_QUERY_GROUPS = 50


class LogsAPI:
    def __init__(self, store: LogStore, account_id: str, filter_count: Callable[[int], int] | None = None) -> None:
        self.store = store
        self.filter_count = filter_count or (lambda _gid: 0)
        self.account_id = account_id
        self.queries: dict[str, dict[str, Any]] = {}
        self._qlock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="logs-insights")
        self.protection: Masking | None = None  # set by the Logs handler

    def _masker(self, group: Group, unmask: Any = False) -> Callable[[str, int], str] | None:
        return None if unmask or self.protection is None else self.protection.masker(group)

    # ------------------------------------------------------------ groups
    def describe_log_groups(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        prefix, pattern = p.get("logGroupNamePrefix"), p.get("logGroupNamePattern")
        if prefix and pattern:
            raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        limit = _limit(p.get("limit"), 50, 50, "limit")
        after = decode_token(p["nextToken"]).get("after", "") if p.get("nextToken") else ""
        if not isinstance(after, str):
            raise invalid("The specified nextToken is invalid.")
        idents = p.get("logGroupIdentifiers")
        out: list[dict[str, Any]] = []
        more = False
        for group, stored in self.store.list_groups(prefix, pattern, p.get("logGroupClass"), after, region):
            arn = self.store.group_arn(group.name, group.region)
            if idents and group.name not in idents and arn not in idents and arn + ":*" not in idents:
                continue
            if len(out) >= limit:
                more = True
                break
            item: dict[str, Any] = {
                "logGroupName": group.name,
                "creationTime": group.created,
                "metricFilterCount": self.filter_count(group.id),
                "arn": arn + ":*",
                "logGroupArn": arn,
                "storedBytes": stored,
                "logGroupClass": group.cls,
                "deletionProtectionEnabled": group.protection,
            }
            if group.retention:
                item["retentionInDays"] = group.retention
            if group.kms:
                item["kmsKeyId"] = group.kms
            if self.protection is not None:
                status, inherited = self.protection.status(group), self.protection.inherited(group)
                if status:
                    item["dataProtectionStatus"] = status
                if inherited:
                    item["inheritedProperties"] = inherited
            out.append(item)
        result: dict[str, Any] = {"logGroups": out}
        if more:
            result["nextToken"] = encode_token({"after": out[-1]["logGroupName"]})
        return result

    def list_log_groups(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """ListLogGroups: ``logGroupNamePattern`` is up to five case-sensitive alternatives
        (``|``), each a substring, or a prefix when it starts with ``^``."""
        limit = _limit(p.get("limit"), 50, 1000, "limit")
        cls = p.get("logGroupClass")
        if cls is not None and cls not in ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS"):
            raise invalid(f"1 validation error detected: Value '{cls}' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY, ESSENTIALS]")
        pattern = p.get("logGroupNamePattern")
        alternatives: list[str] = []
        if pattern is not None:
            alternatives = pattern.split("|")
            if not 3 <= len(pattern) <= 129 or len(alternatives) > 5 or not all(LIST_PATTERN_RE.match(a) for a in alternatives):
                raise invalid(
                    f"1 validation error detected: Value '{pattern}' at 'logGroupNamePattern' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                    "(\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24}){0,4}"
                )

        def matches(name: str) -> bool:
            return not alternatives or any(name.startswith(a[1:]) if a.startswith("^") else a in name for a in alternatives)

        accounts = p.get("accountIdentifiers")
        wanted_tags = p.get("logGroupTags") or []
        after = decode_token(p["nextToken"]).get("after", "") if p.get("nextToken") else ""
        if not isinstance(after, str):
            raise invalid("The specified nextToken is invalid.")
        out: list[dict[str, Any]] = []
        more = False
        # This account has no linked (source) accounts, so includeLinkedAccounts adds nothing; and its
        # groups have no data sources or field indexes, so filtering on those matches no group.
        if not p.get("dataSources") and not p.get("fieldIndexNames") and (not accounts or self.account_id in accounts):
            for group, _stored in self.store.list_groups(None, None, cls, after, region):
                if not matches(group.name):
                    continue
                if any(t["key"] not in group.tags or (t.get("values") and group.tags[t["key"]] not in t["values"]) for t in wanted_tags):
                    continue
                if len(out) >= limit:
                    more = True
                    break
                out.append({"logGroupName": group.name, "logGroupArn": self.store.group_arn(group.name, group.region), "logGroupClass": group.cls})
        result: dict[str, Any] = {"logGroups": out}
        if more:
            result["nextToken"] = encode_token({"after": out[-1]["logGroupName"]})
        return result

    def describe_log_streams(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        group = self.store.resolve_group(p, region=region)
        prefix = p.get("logStreamNamePrefix")
        order = p.get("orderBy", "LogStreamName")
        if order not in ("LogStreamName", "LastEventTime"):
            raise invalid(f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")
        if prefix and order == "LastEventTime":
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        limit = _limit(p.get("limit"), 50, 50, "limit")
        streams = [s for s in self.store.list_streams(group) if not prefix or s["logStreamName"].startswith(prefix)]
        if order == "LastEventTime":
            streams.sort(key=lambda s: (s.get("lastEventTimestamp") or 0, s["logStreamName"]), reverse=bool(p.get("descending")))
        else:
            streams.sort(key=lambda s: s["logStreamName"], reverse=bool(p.get("descending")))
        start = token_int(p["nextToken"], "o") if p.get("nextToken") else 0
        page = streams[start : start + limit]
        for s in page:
            s.pop("_stored", None)
        result: dict[str, Any] = {"logStreams": page}
        if start + limit < len(streams):
            result["nextToken"] = encode_token({"o": start + limit})
        return result

    # ------------------------------------------------------------ events
    def get_log_events(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        group = self.store.resolve_group(p, region=region)
        sid = self.store.stream_id(group, p.get("logStreamName", ""))
        limit = _limit(p.get("limit"), 10_000, 10_000, "limit")
        start, end = p.get("startTime"), p.get("endTime")
        cutoff = self.store.cutoff_ms(group)
        start = max(start, cutoff) if start is not None else (cutoff if group.retention else None)
        token = p.get("nextToken")
        backward = False
        lo = hi = None
        if token:
            try:
                direction, _, pos = token.partition("/")
                ts_s, _, id_s = pos.partition("-")
                position = (int(ts_s), int(id_s))
                if direction not in ("f", "b"):
                    raise ValueError
            except ValueError as exc:
                raise invalid("The specified nextToken is invalid.") from exc
            if direction == "f":
                lo = position
            else:
                hi = position
                backward = True
        else:
            backward = not p.get("startFromHead", False)
        rows = self.store.stream_events(sid, lo, hi, start, end, limit, backward)
        # keep the response within 1 MB like AWS
        size = 0
        events: list[tuple[int, int, int, str]] = []
        for eid, ts, ingest, message in (reversed(rows) if backward else rows):
            size += event_size(message)
            if size > MAX_RESPONSE_BYTES and events:
                break
            events.append((eid, ts, ingest, message))
        if backward:
            events.reverse()
        mask = self._masker(group, p.get("unmask"))
        out = [{"timestamp": ts, "message": mask(message, ingest) if mask else message, "ingestionTime": ingest} for _, ts, ingest, message in events]
        if events:
            first, last = events[0], events[-1]
            fwd = f"f/{last[1]:013d}-{last[0]}"
            bwd = f"b/{first[1]:013d}-{first[0]}"
        elif token:
            # no more events: AWS hands back the token that was passed in
            pos = token.partition("/")[2]
            fwd, bwd = f"f/{pos}", f"b/{pos}"
        else:
            # nothing yet: reading forward from here returns the events that arrive later (a tail polls so)
            fwd = f"f/{max(start or 0, 0):013d}-0"
            bwd = "b/0000000000000-0"
        return {"events": out, "nextForwardToken": fwd, "nextBackwardToken": bwd}

    def filter_log_events(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        group = self.store.resolve_group(p, region=region)
        names, prefix = p.get("logStreamNames"), p.get("logStreamNamePrefix")
        if names and prefix:
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        limit = _limit(p.get("limit"), 10_000, 10_000, "limit")
        matcher = compile_pattern(p.get("filterPattern"))
        streams = self.store.stream_names(group.id)
        stream_ids = None
        if names or prefix:
            stream_ids = [sid for sid, n in streams.items() if (names and n in names) or (prefix and n.startswith(prefix))]
            if names and not stream_ids:
                raise AwsError("ResourceNotFoundException", "The specified log stream does not exist.", 400)
        start, end = p.get("startTime"), p.get("endTime")
        cutoff = self.store.cutoff_ms(group)
        start = max(start, cutoff) if start is not None else (cutoff if group.retention else None)
        after = None
        if p.get("nextToken"):
            tok = decode_token(p["nextToken"])
            try:
                after = (int(tok["ts"]), int(tok["id"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise invalid("The specified nextToken is invalid.") from exc
        events: list[dict[str, Any]] = []
        last_match: tuple[int, int] | None = None
        more = False
        size = 0  # a page holds up to `limit` events and 1 MB of them (at least one event); nextToken resumes after its last
        mask = self._masker(group, p.get("unmask"))
        for eid, sid, ts, ingest, message in self.store.group_events(group.id, start, end, after, stream_ids):
            if mask is not None:
                message = mask(message, ingest)  # the pattern sees the masked message: a search cannot reveal masked data
            if matcher(message):
                size += event_size(message)
                if len(events) >= limit or (size > MAX_RESPONSE_BYTES and events):
                    more = True
                    break
                last_match = (ts, eid)
                events.append({"logStreamName": streams.get(sid, ""), "timestamp": ts, "message": message, "ingestionTime": ingest, "eventId": f"{ts}{eid:020d}"})
        result: dict[str, Any] = {"events": events, "searchedLogStreams": [{"logStreamName": streams[s], "searchedCompletely": not more} for s in (stream_ids or streams.keys()) if s in streams]}
        if more and last_match is not None:
            result["nextToken"] = encode_token({"ts": last_match[0], "id": last_match[1]})
        return result

    # ------------------------------------------------------------ Insights
    def start_query(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        given = [k for k in ("logGroupName", "logGroupNames", "logGroupIdentifiers") if p.get(k)]
        if len(given) != 1:
            raise invalid("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified." if given else "Log group name(s) or identifier(s) must be specified.")
        raw = p.get(given[0])
        names = [raw] if isinstance(raw, str) else list(raw or [])
        if len(names) > MAX_QUERY_GROUPS:  # "You can include up to 50 log groups" (StartQuery API reference)
            raise invalid(f"A query can include up to {MAX_QUERY_GROUPS} log groups; {len(names)} were given in {given[0]}.")
        groups = []
        for name in names:
            groups.append(self.store.resolve_group({"logGroupIdentifier": name}, region=region))
        start, end = int(p["startTime"]), int(p["endTime"])
        if end < start:
            raise invalid("End time should not be before the start time")
        limit = _limit(p.get("limit"), MAX_QUERY_RECORDS, MAX_QUERY_RECORDS, "limit")
        query = insights.compile_query(p.get("queryString", ""))
        qid = str(uuid.uuid4())
        state: dict[str, Any] = {
            "queryId": qid,
            "region": region or self.store.region,
            "queryString": p.get("queryString", ""),
            "status": "Scheduled",
            "createTime": int(time.time() * 1000),
            "logGroupName": groups[0].name,
            # ListLogGroupsForQuery: the groups the query reads, by ARN, each once, in the order given
            "logGroupArns": list(dict.fromkeys(self.store.group_arn(g.name, g.region) for g in groups)),
            "results": [],
            "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0},
            "cancel": threading.Event(),
        }
        with self._qlock:
            self.queries[qid] = state
            cutoff = time.time() * 1000 - QUERY_KEEP_SECONDS * 1000
            for old in [k for k, v in self.queries.items() if v["createTime"] < cutoff]:
                del self.queries[old]
        self._pool.submit(self._run_query, state, query, groups, start * 1000, end * 1000 + 999, limit)
        return {"queryId": qid}

    def _run_query(self, state: dict[str, Any], query: insights.Query, groups: list[Any], start: int, end: int, limit: int) -> None:
        if state["cancel"].is_set():
            return
        state["status"] = "Running"
        try:
            scanned = 0
            nbytes = 0
            records = []
            for group in groups:
                streams = self.store.stream_names(group.id)
                gstart = max(start, self.store.cutoff_ms(group))
                mask = self._masker(group)  # Insights results are masked; unmask(@message) reads the original
                unmask = mask is not None and insights.uses_unmask(state["queryString"])
                for eid, sid, ts, ingest, message in self.store.group_events(group.id, gstart, end):
                    original = message
                    if mask is not None:
                        message = mask(message, ingest)
                    if state["cancel"].is_set():
                        state["status"] = "Cancelled"
                        return
                    scanned += 1
                    nbytes += len(message.encode())
                    record = insights.make_record(eid, ts, ingest, message, streams.get(sid, ""), group.name, self.account_id)
                    if unmask and message != original:
                        record[insights.UNMASKED] = original
                    records.append(record)
            rows, matched = insights.run(query, records, limit)
            state["results"] = rows
            state["statistics"] = {"recordsMatched": float(matched), "recordsScanned": float(scanned), "bytesScanned": float(nbytes)}
            state["status"] = "Complete"
        except AwsError as exc:
            state["status"] = "Failed"
            state["error"] = exc.message
        except Exception as exc:  # noqa: BLE001 - a failing query is reported, never a 500
            state["status"] = "Failed"
            state["error"] = str(exc)

    def _query(self, p: dict[str, Any], region: str | None) -> dict[str, Any] | None:
        """A query started in ``region``: a query id of another region's is unknown here."""
        state = self.queries.get(p.get("queryId", ""))
        return state if state is not None and state["region"] == (region or self.store.region) else None

    def get_query_results(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        state = self._query(p, region)
        if state is None:
            raise AwsError("ResourceNotFoundException", "Query does not exist.", 400)
        return {"queryLanguage": "CWLI", "results": state["results"], "statistics": state["statistics"], "status": state["status"]}

    def stop_query(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        state = self._query(p, region)
        if state is None:
            raise AwsError("ResourceNotFoundException", "Query does not exist.", 400)
        if state["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            return {"success": False}
        state["cancel"].set()
        state["status"] = "Cancelled"
        return {"success": True}

    def describe_queries(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        out = []
        region = region or self.store.region
        for q in sorted(self.queries.values(), key=lambda q: -q["createTime"]):
            if q["region"] != region:
                continue
            if p.get("logGroupName") and q["logGroupName"] != p["logGroupName"]:
                continue
            if p.get("status") and q["status"] != p["status"]:
                continue
            out.append({"queryId": q["queryId"], "queryString": q["queryString"], "status": q["status"], "createTime": q["createTime"], "logGroupName": q["logGroupName"], "queryLanguage": "CWLI"})
        return {"queries": out[: int(p.get("maxResults") or 1000)]}

    def list_log_groups_for_query(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """The log groups a query started here analyzes (``logGroupIdentifiers``: their ARNs),
        ``maxResults`` (50 to 500, the model's range; 50 when not given) at a time."""
        state = self._query(p, region)
        if state is None:
            raise AwsError("ResourceNotFoundException", "Query does not exist.", 400)
        limit = int(p.get("maxResults") or 50)  # the gateway has checked the model's range
        arns: list[str] = state["logGroupArns"]
        start = token_int(p["nextToken"], "o") if p.get("nextToken") else 0
        out: dict[str, Any] = {"logGroupIdentifiers": arns[start : start + limit]}
        if start + limit < len(arns):
            out["nextToken"] = encode_token({"o": start + limit})
        return out

    def get_log_record(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """The fields of one event, by the @ptr an Insights query returned."""
        ptr = p.get("logRecordPointer") or ""
        group_name, _, eid_s = ptr.rpartition("/")
        if not group_name or not eid_s.isdigit():
            raise invalid("The specified logRecordPointer is invalid.")
        group = self.store.get_group(group_name, region)
        with self.store.lock:
            row = self.store.db.execute("SELECT id, sid, ts, ingest, message FROM event WHERE id=? AND gid=?", (int(eid_s), group.id)).fetchone()
        if row is None or row[2] < self.store.cutoff_ms(group):
            raise AwsError("ResourceNotFoundException", "The specified log record does not exist.", 400)
        eid, sid, ts, ingest, message = row
        mask = self._masker(group, p.get("unmask"))
        if mask is not None:
            message = mask(message, ingest)
        record = insights.make_record(eid, ts, ingest, message, self.store.stream_names(group.id).get(sid, ""), group.name, self.account_id)
        out = {k: v if isinstance(v, str) else insights.to_text(v) for k, v in record.items() if k not in ("@timestamp_ms", "@id", "@ptr")}
        out["@timestamp"] = str(ts)
        out["@ingestionTime"] = str(ingest)
        return {"logRecord": out}

    def get_log_group_fields(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """Field names of a sample of the group's recent events, with the percentage of events having each."""
        group = self.store.resolve_group(p, region=region)
        t = p.get("time")
        end = int(t) * 1000 if t else None
        start = (end - 15 * 60 * 1000) if end is not None else max(self.store.cutoff_ms(group), self.store.now_ms() - 15 * 60 * 1000)
        counts: dict[str, int] = {}
        total = 0
        streams = self.store.stream_names(group.id)
        for eid, sid, ts, ingest, message in self.store.group_events(group.id, start, end, batch=1000):
            total += 1
            for key in insights.make_record(eid, ts, ingest, message, streams.get(sid, ""), group.name, self.account_id):
                if key not in ("@timestamp_ms", "@id", "@ptr"):
                    counts[key] = counts.get(key, 0) + 1
            if total >= 10_000:
                break
        fields = [{"name": k, "percent": round(100 * v / total)} for k, v in sorted(counts.items())] if total else []
        return {"logGroupFields": fields}

    def reset(self) -> None:
        """Forget every Insights query (POST /_emulator/reset); those still running are
        cancelled, so they stop reading the store and are never listed again."""
        with self._qlock:
            for state in self.queries.values():
                state["cancel"].set()
            self.queries.clear()
        if self.protection is not None:
            self.protection.reset()  # data protection and account policies (emulator.monitoring.logs_protection)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
