"""Smoke tests with clients other than boto3: the AWS SDK for JavaScript v3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing.raw import send
from emulator.testing.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def client_env(emulator: EmulatorServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "EMULATOR_ENDPOINT": emulator.endpoint,
            "AWS_ACCESS_KEY_ID": emulator.access_key,
            "AWS_SECRET_ACCESS_KEY": emulator.secret_key,
            "AWS_REGION": emulator.region,
            "AWS_DEFAULT_REGION": emulator.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
        }
    )
    return env


def native(emulator: EmulatorServer, service: str) -> bool:
    return service in send(emulator.endpoint, "GET", "/_emulator/health", {}).json()["services"]


# --- AWS SDK for JavaScript v3 --------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("node is not installed (make test installs the JS SDK with npm)")
    if not (ROOT / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        pytest.fail("node_modules is missing: run `npm install` (make test does)")
    return exe


def test_js_sdk(emulator: EmulatorServer, node: str) -> None:
    args = [node, str(HERE / "smoke.mjs")]
    with_ddb = native(emulator, "dynamodb")
    if with_ddb:
        args.append("dynamodb")
    out = subprocess.run(args, env=client_env(emulator), capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["sts"]["Account"] == "000000000000"
    assert result["sts"]["RequestId"]
    if with_ddb:
        assert result["dynamodb"]["Item"] == {"pk": "k1", "n": 42, "tags": ["a", "b"], "nested": {"ok": True}}


def test_js_sdk_paths(emulator: EmulatorServer, node: str) -> None:
    """S3 checksums, paginators and waiters, lib-dynamodb marshalling, CloudWatch over CBOR:
    sdk_paths.mjs asserts each; here, that it ran every part and what it saw."""
    args = [node, str(HERE / "sdk_paths.mjs")]
    parts = [service for service in ("dynamodb", "cloudwatch") if native(emulator, service)]
    out = subprocess.run([*args, *parts], env=client_env(emulator), capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["s3"] == {"checksum": "DUoRhQ==", "composite": "4fn9rQ==-2", "pages": 3, "attributes": 11}
    if "dynamodb" in parts:
        assert result["dynamodb"] == {"big": "12345678901234567890123.5", "queried": 50, "scanned": 10}
    if "cloudwatch" in parts:
        assert result["cloudwatch"] == {"sums": {"m1": [19.5], "e1": [39]}, "alarm": True}


def test_js_sdk_http2(emulator: EmulatorServer, node: str) -> None:
    """The JS SDK's HTTP/2-only request handler (NodeHttp2Handler, what its Bedrock Runtime
    and Kinesis clients use) against the plain-HTTP port: h2c with prior knowledge."""
    assert (ROOT / "node_modules" / "@smithy" / "node-http-handler").is_dir(), "installed with the JS SDK's clients"
    args = [node, str(HERE / "h2.mjs")]
    with_ddb = native(emulator, "dynamodb")
    if with_ddb:
        args.append("dynamodb")
    out = subprocess.run(args, env=client_env(emulator), capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    # Over HTTP/2 the SDK signs ':authority' in place of 'host', as AWS accepts (gateway/sigv4.py).
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["sts"]["Account"] == "000000000000" and result["sts"]["status"] == 200 and result["sts"]["RequestId"]
    if with_ddb:
        assert result["dynamodb"] == {"items": list(range(10)), "missing": {"name": "ResourceNotFoundException", "status": 400}}


def test_js_sdk_bad_secret_is_refused(emulator: EmulatorServer, node: str) -> None:
    env = client_env(emulator)
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    out = subprocess.run([node, str(HERE / "smoke.mjs")], env=env, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert out.returncode != 0
    assert "SignatureDoesNotMatch" in out.stderr


# --- AWS CLI --------------------------------------------------------------------------


def aws(emulator: EmulatorServer, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("aws")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "awscli"]
    return subprocess.run([*cmd, "--endpoint-url", emulator.endpoint, "--output", "json", *args], env=client_env(emulator), capture_output=True, text=True, timeout=120, check=False)


def test_aws_cli_sts(emulator: EmulatorServer) -> None:
    out = aws(emulator, "sts", "get-caller-identity")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Account"] == "000000000000"


def test_aws_cli_dynamodb_list_tables(emulator: EmulatorServer) -> None:
    out = aws(emulator, "dynamodb", "list-tables")
    assert out.returncode == 0, out.stderr
    assert isinstance(json.loads(out.stdout)["TableNames"], list)


def test_aws_cli_error_is_reported(emulator: EmulatorServer) -> None:
    out = aws(emulator, "sqs", "get-queue-url", "--queue-name", "clients-no-such-queue")
    assert out.returncode in (254, 255)  # aws-cli v2 and v1 exit codes for a service error
    assert "NonExistentQueue" in out.stderr or "QueueDoesNotExist" in out.stderr
