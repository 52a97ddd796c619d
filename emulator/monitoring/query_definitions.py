"""Metric data query definitions (CloudWatch API Reference: PutMetricDataQueryDefinition,
GetMetricDataQueryDefinition, ListMetricDataQueryDefinitions, DeleteMetricDataQueryDefinition).

A definition saves a query (PromQL, Metrics Insights SQL or metric math) under a path that
is unique in the Region; CloudWatch neither validates nor runs the expression when it is
saved. Definitions are regional (ARN
arn:aws:cloudwatch:REGION:ACCOUNT:metric-query-definition/ID), kept in ``monitoring.db`` with
their tags.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring import resource_tags
from emulator.monitoring.resource_tags import invalid, missing
from emulator.monitoring.statedb import StateDB

MAX_DEFINITIONS = 1000  # "You can have up to 1,000 metric data query definitions in each Region of your account."
MAX_PATH_BYTES = 1015
TYPES = ("PROMQL", "SQL", "METRIC_MATH")

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS metric_query_definition (
        region TEXT NOT NULL, id TEXT NOT NULL, path TEXT NOT NULL, expression TEXT NOT NULL, type TEXT NOT NULL,
        tags BLOB NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (region, id));
    CREATE UNIQUE INDEX IF NOT EXISTS metric_query_definition_path ON metric_query_definition(region, path);
"""


def not_found(definition_id: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"The metric data query definition {definition_id} does not exist.", 404,
        extra={"ResourceType": "MetricDataQueryDefinition", "ResourceId": definition_id},
    )


def _token(offset: int) -> str:
    # The model's token pattern is [A-Za-z0-9_-]+: URL-safe base64 without its padding.
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.", 400) from exc
    value = data.get("o") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.", 400)
    return value


def check_path(path: Any) -> str:
    """The Path's rules (PutMetricDataQueryDefinition, Path)."""
    if not path:
        raise missing("The parameter Path is required.")
    if not isinstance(path, str):
        raise invalid(f"The value {path} for parameter Path is invalid.")
    if path.startswith("/") or path.endswith("/"):
        raise invalid(f"The value {path} for parameter Path is invalid. The path can't start or end with a slash.")
    if "//" in path:
        raise invalid(f"The value {path} for parameter Path is invalid. The path can't contain an empty folder name (//).")
    if len(path.encode()) > MAX_PATH_BYTES:
        raise invalid(f"The value for parameter Path is invalid. The path can be at most {MAX_PATH_BYTES} bytes when encoded as UTF-8.")
    return path


class QueryDefinitions:
    def __init__(self, db: StateDB, account_id: str) -> None:
        self.db = db
        self.account_id = account_id
        with db.lock:
            db.db.executescript(_SCHEMA)

    def reset(self) -> None:
        """Forget every definition of every region (POST /_emulator/reset of CloudWatch)."""
        self.db.clear("metric_query_definition")

    def arn(self, definition_id: str, region: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{self.account_id}:metric-query-definition/{definition_id}"

    def _row(self, definition_id: str, region: str) -> tuple[Any, ...] | None:
        rows = self.db.query(
            "SELECT id, path, expression, type, created, updated FROM metric_query_definition WHERE region=? AND id=?", (region, definition_id)
        )
        return tuple(rows[0]) if rows else None

    def _view(self, row: tuple[Any, ...], region: str) -> dict[str, Any]:
        definition_id, path, expression, type_, created, updated = row
        return {
            "Id": definition_id, "Arn": self.arn(definition_id, region), "Path": path, "Expression": expression, "Type": type_,
            "CreatedAt": created, "UpdatedAt": updated,
        }

    def put(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        path = check_path(p.get("Path"))
        expression = p.get("Expression")
        if not expression:
            raise missing("The parameter Expression is required.")
        type_ = p.get("Type")
        if not type_:
            raise missing("The parameter Type is required.")
        if type_ not in TYPES:
            raise invalid(f"The value {type_} for parameter Type is invalid. Valid values: {', '.join(TYPES)}.")
        definition_id = p.get("Id")
        tags = resource_tags.parse_tags(p.get("Tags"))
        now = time.time()
        with self.db.lock:
            clash = self.db.query("SELECT id FROM metric_query_definition WHERE region=? AND path=?", (region, path))
            if clash and clash[0][0] != definition_id:
                raise AwsError("ConflictException", f"A metric data query definition with the path {path} already exists.", 409)
            if definition_id is not None:
                # An update "replaces the path, expression, and type, and keeps the creation time"; Tags apply only on creation.
                if self._row(definition_id, region) is None:
                    raise not_found(str(definition_id))
                self.db.execute(
                    "UPDATE metric_query_definition SET path=?, expression=?, type=?, updated=? WHERE region=? AND id=?",
                    (path, expression, type_, now, region, definition_id),
                )
            else:
                count = int(self.db.query("SELECT COUNT(*) FROM metric_query_definition WHERE region=?", (region,))[0][0])
                if count >= MAX_DEFINITIONS:
                    raise AwsError(
                        "LimitExceededException", f"You can have up to {MAX_DEFINITIONS} metric data query definitions in each Region of your account.", 400
                    )
                definition_id = str(uuid.uuid4())
                self.db.execute(
                    "INSERT INTO metric_query_definition(region, id, path, expression, type, tags, created, updated) VALUES (?,?,?,?,?,?,?,?)",
                    (region, definition_id, path, expression, type_, json.dumps(tags), now, now),
                )
            row = self._row(definition_id, region)
        assert row is not None
        return self._view(row, region)

    def get(self, definition_id: Any, region: str) -> dict[str, Any]:
        if not definition_id:
            raise missing("The parameter Id is required.")
        row = self._row(str(definition_id), region)
        if row is None:
            raise not_found(str(definition_id))
        return self._view(row, region)

    def list_definitions(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        size = resource_tags.page_size(p, "MaxResults", 100) or 100
        start = _offset(p["NextToken"]) if p.get("NextToken") else 0
        rows = self.db.query(
            "SELECT id, path, type, updated FROM metric_query_definition WHERE region=? ORDER BY path, id LIMIT ? OFFSET ?", (region, size + 1, start)
        )
        out: dict[str, Any] = {"Items": [{"Id": i, "Path": path, "Type": t, "UpdatedAt": u} for i, path, t, u in rows[:size]]}
        if len(rows) > size:
            out["NextToken"] = _token(start + size)
        return out

    def delete(self, definition_id: Any, region: str) -> None:
        """Idempotent: "If the definition doesn't exist, the operation succeeds without returning an error"."""
        if not definition_id:
            raise missing("The parameter Id is required.")
        self.db.execute("DELETE FROM metric_query_definition WHERE region=? AND id=?", (region, str(definition_id)))

    # ------------------------------------------------------------ tags (TagResource & co. with a definition ARN)
    def id_from_arn(self, arn: str, region: str) -> str | None:
        """The definition an ARN names (None when it is no metric-query-definition ARN); ResourceNotFoundException when there is none."""
        return resource_tags.key_from_arn(
            arn, ":metric-query-definition/", lambda definition_id: self.arn(definition_id, region),
            lambda definition_id: self._row(definition_id, region) is not None,
        )

    def tags_for(self, definition_id: str, region: str) -> dict[str, str]:
        return resource_tags.read_tags(self.db, "metric_query_definition", "id", region, definition_id)

    def set_tags(self, definition_id: str, tags: dict[str, str], region: str) -> None:
        resource_tags.write_tags(self.db, "metric_query_definition", "id", region, definition_id, tags)
