"""Dashboards with CloudWatch's body validation (API Reference, "Dashboard Body Structure and Syntax")."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring.statedb import StateDB

_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
MAX_BODY = 1024 * 1024  # 1 MB per dashboard body


def validate(body_text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Returns (errors, warnings) as DashboardValidationMessages."""
    try:
        body = json.loads(body_text)
    except ValueError:
        return [{"DataPath": "", "Message": "The field DashboardBody must be a valid JSON object"}], []
    if not isinstance(body, dict):
        return [{"DataPath": "", "Message": "Should be object"}], []
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    widgets = body.get("widgets")
    if widgets is None:
        errors.append({"DataPath": "", "Message": "Should have required property 'widgets'"})
    elif not isinstance(widgets, list):
        errors.append({"DataPath": "/widgets", "Message": "Should be array"})
    else:
        if len(widgets) > 500:
            errors.append({"DataPath": "/widgets", "Message": "Should NOT have more than 500 items"})
        for i, w in enumerate(widgets):
            path = f"/widgets/{i}"
            if not isinstance(w, dict):
                errors.append({"DataPath": path, "Message": "Should be object"})
                continue
            wtype = w.get("type")
            if wtype is None:
                errors.append({"DataPath": path, "Message": "Should have required property 'type'"})
            elif wtype not in WIDGET_TYPES:
                errors.append({"DataPath": f"{path}/type", "Message": "Should be equal to one of the allowed values: " + ", ".join(WIDGET_TYPES)})
            for key, lo, hi in (("x", 0, 23), ("y", 0, None), ("width", 1, 24), ("height", 1, 1000)):
                if key in w:
                    v = w[key]
                    if not isinstance(v, int) or isinstance(v, bool):
                        errors.append({"DataPath": f"{path}/{key}", "Message": "Should be integer"})
                    elif v < lo or (hi is not None and v > hi):
                        errors.append({"DataPath": f"{path}/{key}", "Message": f"Should be {'>=' if v < lo else '<='} {lo if v < lo else hi}"})
            props = w.get("properties")
            if props is None:
                errors.append({"DataPath": path, "Message": "Should have required property 'properties'"})
                continue
            if not isinstance(props, dict):
                errors.append({"DataPath": f"{path}/properties", "Message": "Should be object"})
                continue
            if wtype == "metric":
                metrics = props.get("metrics")
                if metrics is None and "query" not in props and "annotations" not in props:
                    errors.append({"DataPath": f"{path}/properties", "Message": "Should have required property 'metrics'"})
                elif metrics is not None and not isinstance(metrics, list):
                    errors.append({"DataPath": f"{path}/properties/metrics", "Message": "Should be array"})
                elif metrics:
                    for j, m in enumerate(metrics):
                        if not isinstance(m, list):
                            errors.append({"DataPath": f"{path}/properties/metrics/{j}", "Message": "Should be array"})
                if "region" not in props:
                    warnings.append({"DataPath": f"{path}/properties", "Message": "Should have property 'region'; the dashboard's region is used"})
            elif wtype == "text" and not isinstance(props.get("markdown"), str):
                errors.append({"DataPath": f"{path}/properties", "Message": "Should have required property 'markdown'"})
            elif wtype == "log" and not isinstance(props.get("query"), str):
                errors.append({"DataPath": f"{path}/properties", "Message": "Should have required property 'query'"})
            elif wtype == "alarm" and not isinstance(props.get("alarms"), list):
                errors.append({"DataPath": f"{path}/properties", "Message": "Should have required property 'alarms'"})
    return errors, warnings


class Dashboards:
    def __init__(self, db: StateDB, region: str, account_id: str) -> None:
        self.db = db
        self.region = region
        self.account_id = account_id

    def arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch::{self.account_id}:dashboard/{name}"

    def reset(self) -> None:
        """Forget every dashboard and its tags (POST /_emulator/reset)."""
        self.db.clear("dashboard", "dashboard_tag")

    def put(self, name: str, body: str, tags: dict[str, str] | None = None) -> list[dict[str, str]]:
        if not _NAME_RE.match(name or ""):
            raise AwsError("InvalidParameterInput", "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).", 400)
        if len(body.encode()) > MAX_BODY:
            raise AwsError("InvalidParameterInput", "The field DashboardBody must be smaller than 1048576 bytes", 400)
        errors, warnings = validate(body)
        if errors:
            raise AwsError(
                "InvalidParameterInput",
                "The field DashboardBody is invalid: " + "; ".join(f"{e['DataPath']} {e['Message']}".strip() for e in errors),
                400,
                extra={"dashboardValidationMessages": errors},
            )
        with self.db.lock:
            exists = bool(self.db.query("SELECT 1 FROM dashboard WHERE name=?", (name,)))
            self.db.execute("INSERT OR REPLACE INTO dashboard(name, body, modified) VALUES (?,?,?)", (name, body, time.time()))
            if not exists:
                # Tags count only when the dashboard is created; an update ignores them (PutDashboard, Tags)
                self.db.execute("INSERT OR REPLACE INTO dashboard_tag(name, tags) VALUES (?,?)", (name, json.dumps(tags or {})))
        return warnings

    def get(self, name: str) -> dict[str, Any]:
        rows = self.db.query("SELECT body FROM dashboard WHERE name=?", (name,))
        if not rows:
            raise AwsError("ResourceNotFound", "Dashboard does not exist", 404)
        return {"DashboardArn": self.arn(name), "DashboardBody": rows[0][0], "DashboardName": name}

    def list_entries(self, prefix: str | None, token: str | None) -> dict[str, Any]:
        rows = self.db.query("SELECT name, body, modified FROM dashboard WHERE name > ? ORDER BY name", (token or "",))
        entries: list[dict[str, Any]] = []
        next_token = None
        for name, body, modified in rows:
            if prefix and not name.startswith(prefix):
                continue
            if len(entries) >= 1000:
                next_token = entries[-1]["DashboardName"]
                break
            entries.append({"DashboardName": name, "DashboardArn": self.arn(name), "LastModified": modified, "Size": len(body.encode())})
        out: dict[str, Any] = {"DashboardEntries": entries}
        if next_token:
            out["NextToken"] = next_token
        return out

    def delete(self, names: list[str]) -> None:
        if not names:
            raise AwsError("InvalidParameterValue", "The parameter DashboardNames is required.", 400)
        existing = {r[0] for r in self.db.query("SELECT name FROM dashboard WHERE name IN ({})".format(",".join("?" * len(names))), names)}
        missing = [n for n in names if n not in existing]
        # "the operation attempts to delete as many dashboards as possible"
        self.db.executemany("DELETE FROM dashboard WHERE name=?", [(n,) for n in names if n in existing])
        self.db.executemany("DELETE FROM dashboard_tag WHERE name=?", [(n,) for n in names if n in existing])
        if missing:
            raise AwsError("ResourceNotFound", f"The specified dashboard does not exist. [{', '.join(missing)}]", 404)

    # ------------------------------------------------------------ tags (TagResource & co. with a dashboard ARN)
    def name_from_arn(self, arn: str) -> str | None:
        """The dashboard an ARN names (``None`` when it is not a dashboard ARN); ResourceNotFoundException when there is none."""
        prefix = f"arn:aws:cloudwatch::{self.account_id}:dashboard/"
        if not arn.startswith("arn:aws:cloudwatch:") or ":dashboard/" not in arn:
            return None
        name = arn.split(":dashboard/", 1)[1]
        if not arn.startswith(prefix) or not self.db.query("SELECT 1 FROM dashboard WHERE name=?", (name,)):
            raise AwsError("ResourceNotFoundException", f"Resource {arn} does not exist.", 404)
        return name

    def tags_for(self, name: str) -> dict[str, str]:
        rows = self.db.query("SELECT tags FROM dashboard_tag WHERE name=?", (name,))
        return dict(json.loads(rows[0][0])) if rows else {}

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO dashboard_tag(name, tags) VALUES (?,?)", (name, json.dumps(tags)))
