"""DynamoDB Contributor Insights in a cluster: the data plane in the dynamodb role, the rules in
the monitoring role (CloudWatch's insight-rule engine, emulator/monitoring/insight_rules.py).

- ``RemoteInsightRules`` is the dynamodb role's ``InsightsBackend``
  (emulator/dynamodb/insights.py). The data plane counts exactly as in one process
  (``record``, into per-minute counters held here, off the request path: a dict update);
  a thread ships the counters every ``telemetry_flush`` seconds in one request. The control
  operations (UpdateContributorInsights, DescribeContributorInsights,
  ListContributorInsights, a reset) are one request each.
- ``insights_route`` is the monitoring role's end: it merges shipped counters into its rules'
  buffer (``InsightRules.merge``; GetInsightRuleReport reads them as it reads its own) and runs
  the control operations with the very functions one process runs
  (``apply_update``/``read_state``/``read_states``).

Every answer carries the enabled DynamoDB rules (``dynamodb_targets``), so the role learns of
rules changed elsewhere (DeleteInsightRules, another dynamodb instance, a reset of
CloudWatch) with its next batch; while nothing is enabled and nothing counted, it asks only
every ``IDLE_SYNC`` seconds. Requests go through the gateway (which forwards
``INSIGHTS_PATH`` to a monitoring instance) with the internal credential, as telemetry does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.handlers.base import Route
from emulator.monitoring.insight_rules import fold
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.cluster.role import InternalClient
    from emulator.context import RequestContext
    from emulator.dynamodb.insights import State, Summary
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.cluster")

INSIGHTS_PATH = "/_emulator/cluster/insights"
IDLE_SYNC = 5.0  # seconds between syncs of the enabled rules while none is enabled here
MAX_PENDING = 200_000  # counters kept while the monitoring role does not answer
_JSON = {"content-type": "application/json"}

Targets = dict[tuple[str, str], list[tuple[str, str, str, str]]]
Counters = dict[tuple[str, str], dict[tuple[int, tuple[str, ...]], list[float]]]


def targets_doc(targets: Targets) -> list[Any]:
    # list(): one step under the GIL, while the CloudWatch engine may be reloading the dict
    return [[region, table, [list(t) for t in entries]] for (region, table), entries in list(targets.items())]


def _targets_of(doc: Any) -> Targets:
    return {(str(region), str(table)): [(str(i), str(k), str(r), str(tid)) for i, k, r, tid in entries] for region, table, entries in doc}


def unavailable(detail: str) -> AwsError:
    log.warning("cluster: Contributor Insights call failed: %s", detail)
    return AwsError("InternalServerError", "Contributor Insights is unavailable: CloudWatch (the monitoring role) did not answer. Try again later.", 500)


# ------------------------------------------------------------------ the dynamodb role
class RemoteInsightRules:
    """``InsightsBackend`` of the dynamodb role: the rules are the monitoring role's."""

    def __init__(self, client: InternalClient, flush_interval: float) -> None:
        self.client = client
        self.flush_interval = max(0.05, flush_interval)
        # Mutated in place: ContributorInsights.targets is this very dict.
        self.dynamodb_targets: Targets = {}
        self._pending: Counters = {}
        self._lock = threading.Lock()
        self._ship_lock = threading.Lock()
        self._epoch = 0  # bumped by every control answer: a batch answered before it must not undo it
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sync = 0.0
        self.shipped = 0
        self.dropped = 0

    # -------------------------------------------------------- data plane
    def record(self, region: str, rule: str, keys: tuple[str, ...], value: float, ts: float | None = None) -> None:
        """As InsightRules.record: one contribution, aggregated per minute until shipped."""
        minute = int((time.time() if ts is None else ts) // 60) * 60
        with self._lock:
            fold(self._pending.setdefault((region, rule), {}), (minute, keys), 1.0, value, value, value)

    # -------------------------------------------------------- shipping
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cluster-insights", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.flush()
        except Exception:  # the monitoring role is gone too
            log.debug("cluster: last Contributor Insights batch not shipped", exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                idle = not self.dynamodb_targets and not self._pending
                if not idle or time.monotonic() - self._last_sync >= IDLE_SYNC:
                    self.flush()
            except Exception:
                log.exception("cluster: Contributor Insights shipping failed")

    def flush(self) -> None:
        """Ship the buffered counters (one request) and take the enabled rules from the answer."""
        with self._ship_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            rows = [[region, rule, minute, list(keys), *agg] for (region, rule), points in pending.items() for (minute, keys), agg in points.items()]
            epoch = self._epoch
            status, body = self.client.call(INSIGHTS_PATH, orjson.dumps({"op": "ship", "counters": rows}))
            self._last_sync = time.monotonic()
            if status != 200:
                self._keep(pending, rows)
                log.debug("cluster: Contributor Insights batch not accepted (%s): %r", status, body[:200])
                return
            self.shipped += len(rows)
            if epoch == self._epoch:
                self._install(orjson.loads(body).get("targets") or [])

    def _keep(self, pending: Counters, rows: list[Any]) -> None:
        """The monitoring role did not take a batch: back into the buffer (bounded), merged with what came since."""
        with self._lock:
            if sum(len(p) for p in self._pending.values()) + len(rows) > MAX_PENDING:
                self.dropped += len(rows)
                return
            for key, points in pending.items():
                mine = self._pending.setdefault(key, {})
                for point, (count, total, lo, hi) in points.items():
                    fold(mine, point, count, total, lo, hi)

    def _install(self, doc: Any) -> None:
        found = _targets_of(doc)
        if found != self.dynamodb_targets:
            # In place, as InsightRules._reload does: the data plane holds this dict.
            for key in [k for k in self.dynamodb_targets if k not in found]:
                del self.dynamodb_targets[key]
            self.dynamodb_targets.update(found)

    # -------------------------------------------------------- control operations
    def _call(self, doc: dict[str, Any]) -> Any:
        # On the role's event loop (DynamoDB's insights operations are synchronous handlers):
        # one round trip through the gateway, as in one process these write SQLite in place.
        status, body = self.client.call(INSIGHTS_PATH, orjson.dumps(doc))
        if status == 0:
            raise unavailable(body.decode(errors="replace"))
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise unavailable(f"{status}: {body[:200]!r}") from None
        if status != 200:
            if isinstance(answer, dict) and status < 500 and answer.get("__type"):
                raise AwsError(str(answer["__type"]), str(answer.get("message", "")), status)
            raise unavailable(f"{status}: {body[:200]!r}")
        self._epoch += 1
        self._install(answer.get("targets") or [])
        return answer.get("result")

    def reset_dynamodb(self) -> None:
        with self._lock:
            self._pending.clear()
        try:
            self._call({"op": "reset"})
        except AwsError:
            # A reset of DynamoDB does not fail for CloudWatch being away: the state it keeps
            # names the tables by id, so none of it applies to the tables made from now on.
            log.warning("cluster: Contributor Insights state not reset (the monitoring role did not answer)")

    def update_state(self, region: str, table: str, index: str, table_id: str, arn: str, kinds: list[str] | None, mode: str, now: float) -> None:
        self._call({"op": "update", "args": [region, table, index, table_id, arn, kinds, mode, now]})

    def state(self, region: str, table: str, index: str, arn: str) -> State | None:
        found = self._call({"op": "state", "args": [region, table, index, arn]})
        if found is None:
            return None
        table_id, status, mode, updated, names = found
        return str(table_id), str(status), str(mode), float(updated), [str(n) for n in names]

    def states(self, region: str) -> list[Summary]:
        return [(str(t), str(i), str(tid), str(s), str(m)) for t, i, tid, s, m in self._call({"op": "states", "args": [region]})]

    def health(self) -> dict[str, Any]:
        return {"shipped_counters": self.shipped, "dropped_counters": self.dropped, "tables": len(self.dynamodb_targets)}


# ------------------------------------------------------------------ the monitoring role
def insights_route(runtime: Runtime) -> Route:
    """The monitoring role's end of the dynamodb role's Contributor Insights (internal credential only)."""
    from emulator.dynamodb.insights import apply_update, read_state, read_states

    def run(doc: dict[str, Any]) -> dict[str, Any]:
        monitoring = runtime.components.get("monitoring")
        rules = getattr(monitoring, "insight_rules", None)
        if rules is None:
            raise AwsError("ServiceUnavailable", "monitoring is not running", 503)
        op = doc.get("op")
        args = doc.get("args") or []
        result: Any = None
        if op == "ship":
            rows = doc.get("counters") or []
            rules.merge((str(region), str(rule), int(minute), tuple(str(k) for k in keys), float(c), float(s), float(lo), float(hi))
                        for region, rule, minute, keys, c, s, lo, hi in rows)
        elif op == "update":
            region, table, index, table_id, arn, kinds, mode, now = args
            apply_update(rules, region, table, index, table_id, arn, kinds, mode, float(now))
        elif op == "state":
            result = read_state(rules, *args)
        elif op == "states":
            result = read_states(rules, *args)
        elif op == "reset":
            rules.reset_dynamodb()
        else:
            raise AwsError("ValidationException", f"unknown operation {op!r}", 400)
        # Read after the change: what the role holds from now on.
        return {"result": result, "targets": targets_doc(rules.dynamodb_targets)}

    async def handle(request: Request, ctx: RequestContext) -> Response:
        try:
            doc = orjson.loads(request.body)
            if not isinstance(doc, dict):
                raise TypeError("expected a JSON object")
            out = await asyncio.get_running_loop().run_in_executor(None, run, doc)
        except AwsError as err:
            return Response(err.status, dict(_JSON), orjson.dumps({"__type": err.code, "message": err.message}))
        except (ValueError, TypeError) as exc:
            return Response(400, dict(_JSON), orjson.dumps({"__type": "ValidationException", "message": str(exc)}))
        return Response(200, dict(_JSON), orjson.dumps(out))

    return Route(INSIGHTS_PATH, handle, ("POST",), summary="DynamoDB Contributor Insights of the dynamodb role (internal credential)")
