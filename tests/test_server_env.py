"""The server is no AWS client of the user's: an AWS_PROFILE (or AWS_DEFAULT_PROFILE) naming a
profile this machine lacks, as CI jobs and containers often set, must not break it. It made
every request fail with a 500 (botocore's ProfileNotFound while loading a service model)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from emulator.testing.server import free_port

KEY, SECRET = "AKIAPROFILETEST00001", "profile-test-secret-profile-test-secret-0"


def test_a_missing_aws_profile_does_not_reach_the_server(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AWS_PROFILE": "no-such-profile", "AWS_DEFAULT_PROFILE": "no-such-profile",
           "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
           "EMULATOR_ROOT_ACCESS_KEY_ID": KEY, "EMULATOR_ROOT_SECRET_ACCESS_KEY": SECRET}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
                             "--services", "dynamodb,iam"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
        config = Config(retries={"max_attempts": 1})
        ddb = session.client("dynamodb", endpoint_url=endpoint, config=config)
        ddb.create_table(TableName="profiles", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="profiles", Item={"pk": {"S": "a"}})
        assert ddb.get_item(TableName="profiles", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        s3 = session.client("s3", endpoint_url=endpoint, config=config)  # served by moto
        s3.create_bucket(Bucket="profiles")
        s3.put_object(Bucket="profiles", Key="k", Body=b"v")
        assert s3.get_object(Bucket="profiles", Key="k")["Body"].read() == b"v"
        sqs = session.client("sqs", endpoint_url=endpoint, config=config)
        assert sqs.create_queue(QueueName="profiles")["QueueUrl"].endswith("/profiles")
        assert session.client("sts", endpoint_url=endpoint, config=config).get_caller_identity()["Arn"].endswith(":root")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert b"ProfileNotFound" not in (tmp_path / "server.log").read_bytes()
