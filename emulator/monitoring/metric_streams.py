"""CloudWatch metric streams (PutMetricStream, GetMetricStream, ListMetricStreams,
DeleteMetricStream, StartMetricStreams, StopMetricStreams), delivered for real.

A stream is regional (arn:aws:cloudwatch:REGION:ACCOUNT:metric-stream/NAME) and kept in the
monitoring state database (table ``metric_stream``) with its delivery cursor: the newest
datapoint row of the metric store it has sent. Every ``metric_stream_interval`` seconds
(default 60, AWS's one-minute granularity) a running stream reads the datapoints stored since
its cursor in its region, keeps those its filters let through, aggregates them per metric,
minute and unit, and puts them into its Kinesis Data Firehose delivery stream, served in
process by moto (a delivery stream with an S3 destination writes them as an object of moto's
S3). The cursor advances once moto holds the records (and its snapshot of them is on disk):
a crash in between sends them again, at least once as on AWS.

Output format ``json`` as the User Guide documents it ("Metric streams output formats: JSON"):
one JSON object per line, with metric_stream_name, account_id, region, namespace, metric_name,
dimensions, timestamp (milliseconds), value {max, min, sum, count, and the additional
statistics of StatisticsConfigurations} and unit. The OpenTelemetry formats
(opentelemetry0.7, opentelemetry1.0: OTLP protobuf) are not built here; PutMetricStream
refuses them with InvalidParameterValue rather than accept a stream it would not deliver.

A stream starts at the datapoints stored after it is created (or started again); datapoints
whose timestamp is more than two hours old when delivered are not streamed (metric streams
send current data; this also keeps roll-ups of old data from counting as new).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.metrics import MetricStore
from emulator.monitoring.statedb import StateDB
from emulator.monitoring.stats import Bucket

log = logging.getLogger("emulator.monitoring.metric_streams")

FORMATS = ("json", "opentelemetry0.7", "opentelemetry1.0")
BUILT_FORMATS = ("json",)
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
FIREHOSE_ARN = re.compile(r"^arn:aws[a-z-]*:firehose:([a-z0-9-]+):(\d{12}):deliverystream/([A-Za-z0-9_.-]{1,64})$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
MAX_AGE = 2 * 3600  # datapoints older than this when delivered are not streamed
CHUNK = 5000  # datapoint rows read at a time
RECORD_BYTES = 1024 * 1024  # JSON lines per Firehose record, below its 1,000 KiB record limit
BATCH_RECORDS = 500  # PutRecordBatch's limit


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def _missing(message: str) -> AwsError:
    return AwsError("MissingParameter", message, 400)


class MetricStreams:
    """The metric streams of every region. ``deliver`` (``firehose`` set by the monitoring
    service) runs ``fn(region, backend_fn)`` against moto's Firehose."""

    def __init__(self, db: StateDB, store: MetricStore, account_id: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.store = store
        self.account_id = account_id
        self.clock = clock
        self.lock = threading.RLock()
        # set by the monitoring service: run fn() against moto (holding its Firehose and S3 locks,
        # returning once the change is on disk); None: Firehose is not served here.
        self.firehose: Callable[[Callable[[], Any]], Any] | None = None
        self.firehose_backend: Callable[[str], Any] | None = None
        self._fallback: Any = None
        self.delivered = 0  # records, for health
        self._streams: dict[tuple[str, str], dict[str, Any]] = {}
        for region, name, body in db.query("SELECT region, name, body FROM metric_stream"):
            self._streams[(region, name)] = orjson.loads(body)

    def bind(self, fallback: Any, loop: Callable[[], asyncio.AbstractEventLoop | None]) -> None:
        """Deliver into moto's Firehose (``fallback``: emulator.gateway.fallback.MotoFallback),
        from the monitoring thread, through the server's event loop (``loop()``)."""
        if fallback is None or not fallback.supports("firehose"):
            return
        self._fallback = fallback

        def run(fn: Callable[[], Any]) -> Any:
            running = loop()
            if running is None or not running.is_running():
                raise RuntimeError("the server's event loop is not running")
            return asyncio.run_coroutine_threadsafe(fallback.change("firehose", fn), running).result(timeout=60)

        self.firehose = run
        self.firehose_backend = lambda region: fallback.backend("firehose", region)

    async def firehose_exists(self, arn: str) -> bool:
        """Whether ``arn`` is a delivery stream of moto's Firehose (on the event loop)."""
        m = FIREHOSE_ARN.match(arn)
        if m is None or self._fallback is None:
            return False
        fallback = self._fallback

        def look() -> bool:
            stream = fallback.backend("firehose", m.group(1)).delivery_streams.get(m.group(3))
            return stream is not None and getattr(stream, "delivery_stream_arn", arn) == arn

        return bool(await fallback.change("firehose", look, write=False))

    def reset(self) -> None:
        with self.lock:
            self._streams.clear()
            self.db.clear("metric_stream")

    def arn(self, name: str, region: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{self.account_id}:metric-stream/{name}"

    def _save(self, region: str, name: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO metric_stream(region, name, body) VALUES (?,?,?)", (region, name, orjson.dumps(self._streams[(region, name)])))

    # ------------------------------------------------------------ validation
    def _filters(self, p: dict[str, Any], key: str) -> list[dict[str, Any]]:
        out = []
        for i, f in enumerate(p.get(key) or [], 1):
            ns = f.get("Namespace")
            if not ns:
                raise _missing(f"The parameter {key}.member.{i}.Namespace is required.")
            if len(ns) > 255 or not ns.isascii() or not ns.isprintable() or ns.isspace():
                raise _invalid(f"The value {ns} for parameter {key}.member.{i}.Namespace is invalid.")
            item: dict[str, Any] = {"Namespace": ns}
            names = f.get("MetricNames")
            if names is not None:
                for j, n in enumerate(names, 1):
                    if not n or len(n) > 255 or not n.isascii() or not n.isprintable() or n.isspace():
                        raise _invalid(f"The value {n} for parameter {key}.member.{i}.MetricNames.member.{j} is invalid.")
                item["MetricNames"] = list(names)
            out.append(item)
        if len(out) > 1000:
            raise _invalid(f"The collection {key} must not have a size greater than 1000.")
        return out

    def _statistics(self, p: dict[str, Any], fmt: str) -> list[dict[str, Any]]:
        from emulator.monitoring.query import valid_stat

        configs = p.get("StatisticsConfigurations") or []
        if len(configs) > 100:
            raise _invalid("The collection StatisticsConfigurations must not have a size greater than 100.")
        out = []
        for i, c in enumerate(configs, 1):
            where = f"StatisticsConfigurations.member.{i}"
            include, stats = c.get("IncludeMetrics"), c.get("AdditionalStatistics")
            if include is None:
                raise _missing(f"The parameter {where}.IncludeMetrics is required.")
            if stats is None:
                raise _missing(f"The parameter {where}.AdditionalStatistics is required.")
            if len(include) > 100:
                raise _invalid(f"The collection {where}.IncludeMetrics must not have a size greater than 100.")
            if len(stats) > 20:
                raise _invalid(f"The collection {where}.AdditionalStatistics must not have a size greater than 20.")
            for j, m in enumerate(include, 1):
                for key in ("Namespace", "MetricName"):
                    if not m.get(key):
                        raise _missing(f"The parameter {where}.IncludeMetrics.member.{j}.{key} is required.")
            for s in stats:
                # json streams "any additional statistic that is supported by CloudWatch"; the
                # default four (MAX, MIN, SUM, SAMPLECOUNT) are always sent
                if not valid_stat(s) or s in ("Maximum", "Minimum", "Sum", "SampleCount"):
                    raise _invalid(f"The value {s} for parameter {where}.AdditionalStatistics is invalid.")
            out.append({"IncludeMetrics": [{"Namespace": m["Namespace"], "MetricName": m["MetricName"]} for m in include], "AdditionalStatistics": list(stats)})
        return out

    # ------------------------------------------------------------ the API
    def put(self, p: dict[str, Any], region: str, exists: Callable[[str], bool]) -> str:
        """PutMetricStream; ``exists(arn)`` says whether the Firehose delivery stream is there."""
        for key in ("Name", "FirehoseArn", "RoleArn", "OutputFormat"):
            if not p.get(key):
                raise _missing(f"The parameter {key} is required.")
        name, firehose, role, fmt = p["Name"], p["FirehoseArn"], p["RoleArn"], p["OutputFormat"]
        if not NAME_RE.match(name):
            raise _invalid(f"The value {name} for parameter Name is invalid. Valid characters are A-Z, a-z, 0-9, \"-\" and \"_\".")
        if fmt not in FORMATS:
            raise _invalid(f"The value {fmt} for parameter OutputFormat is invalid. Valid values: {', '.join(FORMATS)}.")
        if fmt not in BUILT_FORMATS:
            raise _invalid(f"The value {fmt} for parameter OutputFormat is not supported by this endpoint: only json is streamed.")
        if p.get("IncludeFilters") and p.get("ExcludeFilters"):
            raise AwsError("InvalidParameterCombination", "The parameters IncludeFilters and ExcludeFilters are mutually exclusive and you have specified both.", 400)
        include, exclude = self._filters(p, "IncludeFilters"), self._filters(p, "ExcludeFilters")
        stats = self._statistics(p, fmt)
        m = FIREHOSE_ARN.match(firehose)
        if m is None:
            raise _invalid(f"The value {firehose} for parameter FirehoseArn is invalid.")
        if m.group(2) != self.account_id:
            raise _invalid("The Firehose delivery stream must be in the same account as the metric stream.")
        r = ROLE_ARN.match(role)
        if r is None:
            raise _invalid(f"The value {role} for parameter RoleArn is invalid.")
        if r.group(1) != self.account_id:
            raise _invalid("The IAM role must be in the same account as the metric stream.")
        if not exists(firehose):
            raise _invalid(f"The Firehose delivery stream {firehose} does not exist.")
        tags = p.get("Tags") or []
        if len(tags) > 50:
            raise _invalid("The collection Tags must not have a size greater than 50.")
        now = self.clock()
        with self.lock:
            old = self._streams.get((region, name))
            body: dict[str, Any] = {
                "Name": name,
                "FirehoseArn": firehose,
                "RoleArn": role,
                "OutputFormat": fmt,
                "IncludeFilters": include,
                "ExcludeFilters": exclude,
                "StatisticsConfigurations": stats,
                "IncludeLinkedAccountsMetrics": bool(p.get("IncludeLinkedAccountsMetrics", False)),
                "CreationDate": old["CreationDate"] if old else now,
                "LastUpdateDate": now,
                # an update keeps the stream's state and position; a new stream runs from now on
                "State": old["State"] if old else "running",
                "Cursor": old["Cursor"] if old else self.store.last_row(),
                # "If you are using this operation to update an existing metric stream, any tags you specify in this parameter are ignored."
                "Tags": old["Tags"] if old else {t["Key"]: t["Value"] for t in tags},
            }
            self._streams[(region, name)] = body
            self._save(region, name)
        return self.arn(name, region)

    def _get(self, name: str | None, region: str) -> dict[str, Any]:
        if not name:
            raise _missing("The parameter Name is required.")
        body = self._streams.get((region, name))
        if body is None:
            raise AwsError("ResourceNotFoundException", f"Metric stream {name} does not exist.", 404)
        return body

    def get(self, name: str | None, region: str) -> dict[str, Any]:
        with self.lock:
            body = dict(self._get(name, region))
        keys = ("Name", "IncludeFilters", "ExcludeFilters", "FirehoseArn", "RoleArn", "State", "CreationDate", "LastUpdateDate", "OutputFormat",
                "StatisticsConfigurations", "IncludeLinkedAccountsMetrics")
        return {"Arn": self.arn(body["Name"], region), **{k: body[k] for k in keys}}

    def list_streams(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        from emulator.monitoring.query import encode_token, token_int

        limit = int(p.get("MaxResults") or 500)
        if not 1 <= limit <= 500:
            raise _invalid("The parameter MaxResults must be between 1 and 500.")
        with self.lock:
            bodies = [self._streams[(region, n)] for n in sorted(n for (r, n) in self._streams if r == region)]
        start = token_int(p["NextToken"], "o") if p.get("NextToken") else 0
        page = bodies[start : start + limit]
        out: dict[str, Any] = {
            "Entries": [
                {"Arn": self.arn(b["Name"], region), "CreationDate": b["CreationDate"], "LastUpdateDate": b["LastUpdateDate"], "Name": b["Name"],
                 "FirehoseArn": b["FirehoseArn"], "State": b["State"], "OutputFormat": b["OutputFormat"]}
                for b in page
            ]
        }
        if start + limit < len(bodies):
            out["NextToken"] = encode_token({"o": start + limit})
        return out

    def delete(self, name: str | None, region: str) -> None:
        # DeleteMetricStream has no "not found" error: deleting a missing stream succeeds
        if not name:
            raise _missing("The parameter Name is required.")
        with self.lock:
            if self._streams.pop((region, name), None) is not None:
                self.db.execute("DELETE FROM metric_stream WHERE region=? AND name=?", (region, name))

    def set_state(self, names: list[str] | None, state: str, region: str) -> None:
        """StartMetricStreams / StopMetricStreams: "all or nothing"."""
        if not names:
            raise _missing("The parameter Names is required.")
        with self.lock:
            unknown = [n for n in names if (region, n) not in self._streams]
            if unknown:
                raise _invalid(f"The metric streams {', '.join(unknown)} do not exist.")
            for n in dict.fromkeys(names):
                body = self._streams[(region, n)]
                if body["State"] != state:
                    body["State"] = state
                    if state == "running":
                        body["Cursor"] = self.store.last_row()  # a stopped stream does not buffer
                    self._save(region, n)

    # ------------------------------------------------------------ tags
    def name_from_arn(self, arn: str, region: str) -> str | None:
        """The stream's name when ``arn`` is a metric stream ARN (None: another kind of resource)."""
        if ":metric-stream/" not in arn or not arn.startswith("arn:aws:cloudwatch:"):
            return None
        name = arn.split(":metric-stream/", 1)[1]
        if arn != self.arn(name, region) or (region, name) not in self._streams:
            raise AwsError("ResourceNotFoundException", f"Resource {arn} does not exist.", 404)
        return name

    def tags_for(self, name: str, region: str) -> dict[str, str]:
        with self.lock:
            return dict(self._get(name, region)["Tags"])

    def set_tags(self, name: str, tags: dict[str, str], region: str) -> None:
        with self.lock:
            self._get(name, region)["Tags"] = tags
            self._save(region, name)

    # ------------------------------------------------------------ delivery
    def deliver_all(self, now: float | None = None) -> int:
        """One round: every running stream sends what is new. Returns the records sent."""
        now = self.clock() if now is None else now
        with self.lock:
            running = [key for key, body in self._streams.items() if body["State"] == "running"]
        sent = 0
        for region, name in running:
            try:
                sent += self.deliver(region, name, now)
            except Exception:  # one stream's failure must not stop the others; it is tried again next round
                log.exception("metric stream %s (%s) delivery failed", name, region)
        self.delivered += sent
        return sent

    def deliver(self, region: str, name: str, now: float) -> int:
        with self.lock:
            body = self._streams.get((region, name))
            if body is None or body["State"] != "running":
                return 0
            body = dict(body)
        top = self.store.last_row()
        cursor = int(body["Cursor"])
        if top < cursor:  # the store was emptied (retention or reset): its row numbers start again
            cursor = 0
        lines: list[bytes] = []
        while cursor < top:
            rows = self.store.rows_after(cursor, top, region, now - MAX_AGE, CHUNK)
            if not rows:
                cursor = top
                break
            lines.extend(self._records(body, region, rows))
            cursor = int(rows[-1][0]) if len(rows) == CHUNK else top
        if lines:
            self._put(body["FirehoseArn"], lines)
        with self.lock:
            current = self._streams.get((region, name))
            # a stop, restart or delete meanwhile decides the position itself
            if current is not None and current["State"] == "running" and current["Cursor"] == body["Cursor"]:
                current["Cursor"] = cursor
                self._save(region, name)
        return len(lines)

    def _selected(self, body: dict[str, Any], namespace: str, metric: str) -> bool:
        def matches(f: dict[str, Any]) -> bool:
            return bool(f["Namespace"] == namespace and (not f.get("MetricNames") or metric in f["MetricNames"]))

        if body["IncludeFilters"]:
            return any(matches(f) for f in body["IncludeFilters"])
        return not any(matches(f) for f in body["ExcludeFilters"])

    def _records(self, body: dict[str, Any], region: str, rows: list[tuple[Any, ...]]) -> list[bytes]:
        """The JSON lines of ``rows``: one per metric, minute and unit."""
        extra: dict[tuple[str, str], list[str]] = {}
        for c in body["StatisticsConfigurations"]:
            for m in c["IncludeMetrics"]:
                extra.setdefault((m["Namespace"], m["MetricName"]), []).extend(s for s in c["AdditionalStatistics"] if s not in extra.get((m["Namespace"], m["MetricName"]), []))
        groups: dict[tuple[str, str, bytes, float, str | None], Bucket] = {}
        for _rowid, ns, metric, dims, ts, s, c, lo, hi, vals, unit, kind in rows:
            if not self._selected(body, ns, metric):
                continue
            key = (ns, metric, dims, (ts // 60) * 60, unit)
            bucket = groups.get(key)
            if bucket is None:
                bucket = groups[key] = Bucket(unit=unit)
            bucket.add(s, c, lo, hi, orjson.loads(vals) if vals else None, kind)
        out = []
        for (ns, metric, dims, minute, unit), b in groups.items():
            value: dict[str, float] = {"max": b.max, "min": b.min, "sum": b.sum, "count": b.count}
            for stat in extra.get((ns, metric), []):
                v = b.stat(stat)
                if v is not None:
                    value[stat] = v
            record = {
                "metric_stream_name": body["Name"],
                "account_id": self.account_id,
                "region": region,
                "namespace": ns,
                "metric_name": metric,
                "dimensions": dict(orjson.loads(dims)),
                "timestamp": int(minute * 1000),
                "value": value,
                "unit": unit or "None",
            }
            out.append(orjson.dumps(record) + b"\n")
        return out

    def _put(self, arn: str, lines: list[bytes]) -> None:
        """PutRecordBatch into moto's Firehose: lines packed into records below its size limits."""
        if self.firehose is None or self.firehose_backend is None:
            raise RuntimeError("Kinesis Data Firehose is not served here")
        m = FIREHOSE_ARN.match(arn)
        assert m is not None  # checked by put
        region, stream = m.group(1), m.group(3)
        records: list[dict[str, bytes]] = []
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > RECORD_BYTES:
                records.append({"Data": b"".join(chunk)})
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            records.append({"Data": b"".join(chunk)})
        backend_of = self.firehose_backend

        def put() -> None:
            backend = backend_of(region)
            for i in range(0, len(records), BATCH_RECORDS):
                backend.put_record_batch(stream, records[i : i + BATCH_RECORDS])

        self.firehose(put)
