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


def load_report(args: argparse.Namespace) -> dict[str, Any]:
    if args.endpoint:
        url = args.endpoint.rstrip("/") + "/_emulator/usage" + (f"?month={args.month}" if args.month else "")
        with urllib.request.urlopen(url, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data
    from emulator.monitoring.costs import Ledger, load_prices
    from emulator.monitoring.statedb import StateDB

    settings = _settings_from(argparse.Namespace(**{k: v for k, v in vars(args).items() if k in ("data_dir", "config_file")}))
    path = settings.data_dir / "monitoring" / "monitoring.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = StateDB(path)
    try:
        return Ledger(db, load_prices(settings.extra)).report(args.month)
    finally:
        db.close()


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
    report = load_report(args)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


COMMANDS["usage"] = ("usage and cost report: AWS list prices vs local energy", _configure, _run)
