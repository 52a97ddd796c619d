"""``emulator usage``: what this month would have cost on AWS, and what it cost here.

Reads the usage ledger in the data dir directly (works with the server running
or not); ``--endpoint`` asks a running server's GET /_emulator/usage instead.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from typing import Any

from emulator.cli import COMMANDS, _settings_from


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", help="YYYY-MM (default: this month)")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.add_argument("--endpoint", help="ask a running emulator instead of reading the data dir")
    p.add_argument("--access-key-id", help="with --endpoint: the key to sign with (default: $AWS_ACCESS_KEY_ID); it needs ce:GetCostAndUsage")
    p.add_argument("--secret-access-key", help="with --endpoint: its secret (default: $AWS_SECRET_ACCESS_KEY)")


def load_report(args: argparse.Namespace) -> dict[str, Any]:
    if args.endpoint:
        with urllib.request.urlopen(usage_request(args), timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data
    from emulator.monitoring.costs import Ledger, load_prices
    from emulator.monitoring.statedb import StateDB

    settings = _settings_from(argparse.Namespace(**{k: v for k, v in vars(args).items() if k in ("data_dir", "config_file")}))
    from emulator.cli import data_dir_exists

    if not data_dir_exists(settings):  # a mistyped --data-dir: reported, not created
        raise SystemExit(1)
    path = settings.data_dir / "monitoring" / "monitoring.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = StateDB(path)
    try:
        return Ledger(db, load_prices(settings.extra)).report(args.month)
    finally:
        db.close()


def usage_request(args: argparse.Namespace) -> urllib.request.Request:
    """GET /_emulator/usage of ``--endpoint``, signed with AWS Signature Version 4 (signing name
    ``ce``, Cost Explorer's, whose ce:GetCostAndUsage the server requires) with the key of
    --access-key-id/--secret-access-key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and
    AWS_SESSION_TOKEN); unsigned without a key (a server run with --no-auth)."""
    import os
    from urllib.parse import urlencode

    url = args.endpoint.rstrip("/") + "/_emulator/usage" + ("?" + urlencode({"month": args.month}) if args.month else "")
    key_id = getattr(args, "access_key_id", None) or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = getattr(args, "secret_access_key", None) or os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        return urllib.request.Request(url, method="GET")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    token = os.environ.get("AWS_SESSION_TOKEN") if not getattr(args, "access_key_id", None) else None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    signed = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(key_id, secret, token), "ce", region).add_auth(signed)
    return urllib.request.Request(url, headers=dict(signed.headers.items()), method="GET")


def format_report(report: dict[str, Any]) -> str:
    lines = [f"Usage for {report['month']} ({report['currency']})", ""]
    lines.append(f"{'service':<14} {'item':<44} {'quantity':>16} {'cost':>12}")
    for service, info in sorted(report["by_service"].items()):
        for item, entry in sorted(info["items"].items()):
            lines.append(f"{service:<14} {item[:44]:<44} {entry['quantity']:>16.4f} {entry['cost_usd']:>12.6f}")
    lines.append("")
    lines.append("By access key (AWS prices):")
    for key, info in sorted(report["by_key"].items()):
        if key == "local":
            continue
        lines.append(f"  {key:<24} {info['aws_cost_usd']:>12.6f}")
    lines.append("")
    lines.append(f"Would have cost on AWS: ${report['aws_cost_usd']:.6f}")
    lines.append(f"Cost here (energy):     ${report['local_cost_usd']:.6f}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    import sys
    import urllib.error

    from emulator.monitoring.service import _MONTH

    # The rule of GET /_emulator/usage?month=, for the data dir's ledger too.
    if args.month is not None and not _MONTH.fullmatch(args.month):
        print(f"emulator usage: error: Invalid 'month': expected YYYY-MM, but got {args.month!r}.", file=sys.stderr)
        return 2
    try:
        report = load_report(args)
    except urllib.error.HTTPError as exc:  # the server answered, with an error
        body = exc.read().decode("utf-8", "replace").strip()
        print(f"emulator usage: error: {args.endpoint} answered HTTP {exc.code}: {body[:500]}", file=sys.stderr)
        return 1
    except OSError as exc:  # refused, unknown host, timeout (urllib.error.URLError is an OSError)
        if not args.endpoint:
            raise
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        print(f"cannot reach {args.endpoint}: {reason}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


COMMANDS["usage"] = ("usage and cost report: AWS list prices vs local energy", _configure, _run)
