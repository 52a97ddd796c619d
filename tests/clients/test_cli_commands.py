"""The AWS CLI's high-level commands against the emulator, through the wire: what users type
(``aws s3 cp/sync/mv/rm/rb/presign``, waiters, paginated scans, ``file://`` input, profiles
that assume a role, endpoints from the config file, ``--query`` with text and table output).
These commands chain many calls and compare the answers (sync compares sizes and
LastModified, a waiter polls until a field matches): a divergence shows as a copy made twice
or a wait that never ends, not as an error.

Each command starts a Python process (about a second): every test runs a few of them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.testing.raw import send
from emulator.testing.server import EmulatorServer

CLI = Path(sys.executable).with_name("aws")
ACCOUNT = "000000000000"

Aws = Callable[..., subprocess.CompletedProcess[str]]


def _cli_command() -> list[str]:
    if CLI.exists():
        return [str(CLI)]
    if importlib.util.find_spec("awscli") is not None:
        return [sys.executable, "-m", "awscli"]
    pytest.skip("the AWS CLI (awscli) is not installed")


def clean_env(emulator: EmulatorServer, home: Path) -> dict[str, str]:
    """The caller's environment without its AWS settings (as tests/clients/test_clients.py),
    with the server's keys, and a HOME of the test's: the CLI caches assumed-role credentials there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": emulator.access_key,
            "AWS_SECRET_ACCESS_KEY": emulator.secret_key,
            "AWS_DEFAULT_REGION": emulator.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
        }
    )
    return env


@pytest.fixture
def aws(emulator: EmulatorServer, tmp_path: Path) -> Aws:
    """``aws(*args, env=None, endpoint=True, stdin=None)``: runs the CLI (``--endpoint-url``
    unless ``endpoint`` is False) in ``tmp_path``; a failed command fails the test unless
    ``check=False``."""
    command = _cli_command()

    def run(*args: str, env: dict[str, str] | None = None, endpoint: bool = True, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        prefix = ["--endpoint-url", emulator.endpoint] if endpoint else []
        out = subprocess.run(
            [*command, *prefix, *args], env=env or clean_env(emulator, tmp_path), input=stdin, capture_output=True,
            text=True, timeout=120, check=False, cwd=tmp_path,
        )
        if check:
            assert out.returncode == 0, f"aws {' '.join(args)}: {out.stderr[-3000:]}"
        return out

    return run


def _native(emulator: EmulatorServer, service: str) -> bool:
    return service in send(emulator.endpoint, "GET", "/_emulator/health", {}).json()["services"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Completed ")]


# ------------------------------------------------------------------ aws s3
def test_s3_sync_copies_only_what_changed(aws: Aws, tmp_path: Path) -> None:
    """sync uploads what is missing or newer, a second sync copies nothing (sizes and
    LastModified compare), --delete removes what is gone, --exclude/--include filter, and a
    sync down then a second one down copy nothing again (the CLI sets each file's mtime to
    the object's LastModified)."""
    bucket = _name("cli-sync")
    src = tmp_path / "src"
    (src / "sub dir").mkdir(parents=True)
    files = {"a.txt": "alpha", "sub dir/b c+d.txt": "beta", "skip.log": "log", "ünï.txt": "u"}
    for rel, body in files.items():
        (src / rel).write_text(body)
        past = time.time() - 3600  # edited an hour ago: the upload is newer, whatever the clock's second
        os.utime(src / rel, (past, past))
    aws("s3", "mb", f"s3://{bucket}")
    first = aws("s3", "sync", str(src), f"s3://{bucket}/site/")
    assert sum("upload:" in line for line in _lines(first.stdout)) == 4
    assert _lines(aws("s3", "sync", str(src), f"s3://{bucket}/site/").stdout) == []

    (src / "skip.log").unlink()
    deleted = aws("s3", "sync", str(src), f"s3://{bucket}/site/", "--delete")
    assert _lines(deleted.stdout) == [f"delete: s3://{bucket}/site/skip.log"]
    aws("s3", "sync", str(src), f"s3://{bucket}/txt/", "--exclude", "*", "--include", "*.txt")
    listed = aws("s3", "ls", f"s3://{bucket}/", "--recursive", "--summarize")
    keys = sorted(line.split(maxsplit=3)[3] for line in _lines(listed.stdout) if line[:2] == "20")
    assert keys == ["site/a.txt", "site/sub dir/b c+d.txt", "site/ünï.txt", "txt/a.txt", "txt/sub dir/b c+d.txt", "txt/ünï.txt"]
    assert "Total Objects: 6" in listed.stdout

    down = tmp_path / "down"
    aws("s3", "sync", f"s3://{bucket}/site/", str(down))
    assert (down / "sub dir" / "b c+d.txt").read_text() == "beta"
    assert _lines(aws("s3", "sync", f"s3://{bucket}/site/", str(down)).stdout) == []
    aws("s3", "rb", f"s3://{bucket}", "--force")


def test_s3_multipart_cp_mv_presign_rb(aws: Aws, tmp_path: Path) -> None:
    """cp above the CLI's 8 MB threshold uploads in parts with the storage class and the
    encryption asked for; the object downloads whole; mv copies then deletes; presign gives a
    URL that reads the object without credentials; rb refuses a bucket with objects, --force
    empties it first."""
    bucket = _name("cli-cp")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    aws("s3", "mb", f"s3://{bucket}")
    aws("s3", "cp", str(big), f"s3://{bucket}/big.bin", "--storage-class", "STANDARD_IA", "--sse", "AES256")
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "big.bin").stdout)
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].endswith('-2"')
    assert (head["StorageClass"], head["ServerSideEncryption"]) == ("STANDARD_IA", "AES256")
    aws("s3", "cp", f"s3://{bucket}/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()

    aws("s3", "cp", "-", f"s3://{bucket}/note.txt", stdin="hello from stdin\n")
    aws("s3", "mv", f"s3://{bucket}/note.txt", f"s3://{bucket}/moved.txt")
    assert aws("s3", "ls", f"s3://{bucket}/note.txt", check=False).returncode == 1
    url = aws("s3", "presign", f"s3://{bucket}/moved.txt", "--expires-in", "300").stdout.strip()
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"hello from stdin\n"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace("Signature=", "Signature=x"), timeout=30)
    assert refused.value.code == 403

    refused_rb = aws("s3", "rb", f"s3://{bucket}", check=False)
    assert refused_rb.returncode != 0 and "BucketNotEmpty" in refused_rb.stderr
    aws("s3", "rb", f"s3://{bucket}", "--force")
    assert bucket not in aws("s3", "ls").stdout


# ------------------------------------------------------------------ DynamoDB
def test_dynamodb_wait_batch_write_and_paginated_scan(emulator: EmulatorServer, aws: Aws, tmp_path: Path) -> None:
    if not _native(emulator, "dynamodb"):
        pytest.skip("DynamoDB is not native on this server")
    table = _name("cli-table")
    aws("dynamodb", "create-table", "--table-name", table, "--attribute-definitions", "AttributeName=pk,AttributeType=S",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    aws("dynamodb", "wait", "table-exists", "--table-name", table)
    requests = {table: [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "n": {"N": str(i)}}}} for i in range(5)]}
    (tmp_path / "items.json").write_text(json.dumps(requests))
    written = json.loads(aws("dynamodb", "batch-write-item", "--request-items", "file://items.json").stdout)
    assert written["UnprocessedItems"] == {}

    first = json.loads(aws("dynamodb", "scan", "--table-name", table, "--max-items", "2").stdout)
    assert len(first["Items"]) == 2 and first["NextToken"]
    rest = aws("dynamodb", "scan", "--table-name", table, "--max-items", "10", "--starting-token", first["NextToken"],
               "--query", "Items[].pk.S", "--output", "text")
    keys = {item["pk"]["S"] for item in first["Items"]} | set(rest.stdout.split())
    assert keys == {f"k{i}" for i in range(5)}
    aws("dynamodb", "delete-table", "--table-name", table)
    aws("dynamodb", "wait", "table-not-exists", "--table-name", table)


# ------------------------------------------------------------------ CloudWatch and Logs
def test_cloudwatch_statistics_and_alarm_waiter(aws: Aws) -> None:
    namespace, alarm = _name("Cli/Test"), _name("cli-alarm")
    stamp = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(time.time() - 120))
    data = [{"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}], "Timestamp": stamp, "Values": [10, 20], "Counts": [1, 2], "Unit": "Milliseconds"}]
    aws("cloudwatch", "put-metric-data", "--namespace", namespace, "--metric-data", json.dumps(data))
    stats = aws("cloudwatch", "get-metric-statistics", "--namespace", namespace, "--metric-name", "Latency",
                "--dimensions", "Name=Service,Value=api", "--start-time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 900)),
                "--end-time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60)), "--period", "60",
                "--statistics", "Sum", "SampleCount", "Maximum", "--query", "Datapoints[].[Sum,SampleCount,Maximum,Unit]", "--output", "text")
    assert stats.stdout.split() == ["50.0", "3.0", "20.0", "Milliseconds"]

    aws("cloudwatch", "put-metric-alarm", "--alarm-name", alarm, "--namespace", namespace, "--metric-name", "Latency",
        "--statistic", "Average", "--period", "60", "--evaluation-periods", "1", "--threshold", "100",
        "--comparison-operator", "GreaterThanThreshold")
    aws("cloudwatch", "wait", "alarm-exists", "--alarm-names", alarm)
    table = aws("cloudwatch", "describe-alarms", "--alarm-names", alarm, "--output", "table", "--query", "MetricAlarms[].[AlarmName,Threshold]")
    assert alarm in table.stdout and "100.0" in table.stdout
    aws("cloudwatch", "delete-alarms", "--alarm-names", alarm)


def test_logs_filter_as_tail_reads_them(aws: Aws) -> None:
    """`aws logs tail` (CLI v2) is FilterLogEvents with logGroupIdentifier, interleaved,
    startTime and filterPattern: the same call through CLI v1."""
    group = f"/cli/{_name('tail')}"
    now = int(time.time() * 1000)
    aws("logs", "create-log-group", "--log-group-name", group)
    aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "app")
    events = [{"timestamp": now - 7_200_000, "message": "ERROR too old"}, {"timestamp": now - 2000, "message": "ERROR boom"}, {"timestamp": now - 1000, "message": "INFO fine"}]
    aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "app", "--log-events", json.dumps(events))
    found = aws("logs", "filter-log-events", "--log-group-identifier", group, "--interleaved", "--start-time", str(now - 600_000),
                "--filter-pattern", "ERROR", "--query", "events[].[logStreamName,message]", "--output", "text")
    assert found.stdout.splitlines() == ["app\tERROR boom"]
    aws("logs", "delete-log-group", "--log-group-name", group)


# ------------------------------------------------------------------ SQS
def test_sqs_long_poll_returns_when_a_message_arrives(emulator: EmulatorServer, aws: Aws, tmp_path: Path) -> None:
    """receive-message --wait-time-seconds waits for a message sent meanwhile and answers as
    soon as it arrives, with the system attributes asked for by --attribute-names."""
    queue = aws("sqs", "create-queue", "--queue-name", _name("cli-queue"), "--query", "QueueUrl", "--output", "text").stdout.strip()
    started = time.monotonic()
    receiver = subprocess.Popen(
        [*_cli_command(), "--endpoint-url", emulator.endpoint, "sqs", "receive-message", "--queue-url", queue, "--wait-time-seconds", "15",
         "--attribute-names", "SentTimestamp", "ApproximateReceiveCount", "--message-attribute-names", "All"],
        env=clean_env(emulator, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(2.5)  # the receiver is waiting by now
    emulator.client("sqs").send_message(QueueUrl=queue, MessageBody="late", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    stdout, stderr = receiver.communicate(timeout=60)
    assert receiver.returncode == 0, stderr
    assert time.monotonic() - started < 12
    (message,) = json.loads(stdout)["Messages"]
    assert message["Body"] == "late"
    assert set(message["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}
    assert message["MessageAttributes"] == {"k": {"StringValue": "v", "DataType": "String"}}
    aws("sqs", "delete-queue", "--queue-url", queue)


# ------------------------------------------------------------------ profiles
def test_profile_assumes_a_role_with_endpoints_from_the_config_file(emulator: EmulatorServer, aws: Aws, tmp_path: Path) -> None:
    """A profile with role_arn and source_profile: the CLI calls AssumeRole with the source
    profile's keys and signs with the session; the endpoints come from a ``services`` section
    of the config file (no --endpoint-url, no AWS_ENDPOINT_URL)."""
    iam = emulator.client("iam")
    user, role = _name("cli-user"), _name("cli-role")
    iam.create_user(UserName=user)
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    iam.put_role_policy(RoleName=role, PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    (tmp_path / "config").write_text(
        "[profile dev]\nregion = us-east-1\nservices = emu\n\n"
        f"[profile admin]\nrole_arn = {role_arn}\nsource_profile = dev\nrole_session_name = cli-test\nregion = us-east-1\nservices = emu\n\n"
        f"[services emu]\nsts =\n  endpoint_url = {emulator.endpoint}\ns3 =\n  endpoint_url = {emulator.endpoint}\n"
    )
    (tmp_path / "credentials").write_text(f"[dev]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n")
    env = clean_env(emulator, tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        env.pop(name)
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")})

    source = aws("sts", "get-caller-identity", "--profile", "dev", "--query", "Arn", "--output", "text", env=env, endpoint=False)
    assert source.stdout.strip() == f"arn:aws:iam::{ACCOUNT}:user/{user}"
    assumed = aws("sts", "get-caller-identity", "--profile", "admin", "--output", "json", env=env, endpoint=False)
    assert json.loads(assumed.stdout)["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/cli-test"
    # The role's policy allows listing buckets, and nothing else: the session signs as the role.
    aws("s3", "ls", "--profile", "admin", env=env, endpoint=False)
    denied = aws("s3", "mb", f"s3://{_name('cli-denied')}", "--profile", "admin", env=env, endpoint=False, check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
