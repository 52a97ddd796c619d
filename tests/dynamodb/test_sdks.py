"""Other clients: the AWS SDK for JavaScript v3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "dynamodb_smoke.mjs"


def _env(emulator: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": emulator.access_key,
            "AWS_SECRET_ACCESS_KEY": emulator.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(not (ROOT / "node_modules" / "@aws-sdk" / "lib-dynamodb").exists(), reason="npm install has not been run (make test does it)")
def test_javascript_sdk_v3(emulator: Any, new_name: Any) -> None:
    proc = subprocess.run(
        ["node", str(SCRIPT), emulator.endpoint, new_name("js")], check=False, cwd=ROOT, env=_env(emulator), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("OK")


def _aws(emulator: Any, *args: str) -> Any:
    aws = Path(sys.executable).parent / "aws"
    proc = subprocess.run(
        [str(aws), "--endpoint-url", emulator.endpoint, "--output", "json", "dynamodb", *args],
        check=False,
        env=_env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


@pytest.mark.skipif(not (Path(sys.executable).parent / "aws").exists(), reason="the AWS CLI is not installed in the venv")
def test_aws_cli(emulator: Any, new_name: Any) -> None:
    name = new_name("cli")
    _aws(
        emulator,
        "create-table",
        "--table-name", name,
        "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    _aws(emulator, "wait", "table-exists", "--table-name", name)
    _aws(emulator, "put-item", "--table-name", name, "--item", '{"pk": {"S": "k"}, "v": {"N": "42"}}')
    got = _aws(emulator, "get-item", "--table-name", name, "--key", '{"pk": {"S": "k"}}')
    assert got["Item"]["v"] == {"N": "42"}
    scanned = _aws(emulator, "scan", "--table-name", name)
    assert scanned["Count"] == 1
    assert name in _aws(emulator, "list-tables")["TableNames"]
    _aws(emulator, "delete-table", "--table-name", name)
