"""Bedrock batch inference (model invocation jobs) with boto3 against the real SmolLM2 model:
records read from and answers written to S3 (moto's, in the same server)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID

ROLE = "arn:aws:iam::123456789012:role/batch-inference"
FINAL = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")
# A prompt the model keeps answering: records that take a while (Stop, restart).
LONG = {"prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_gen_len": 300, "temperature": 0}


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _llama(prompt: str, tokens: int = 8) -> dict[str, Any]:
    return {"prompt": prompt, "max_gen_len": tokens, "temperature": 0}


@pytest.fixture(scope="module")
def ctl(compute_server: EmulatorServer) -> Any:
    return compute_server.client("bedrock")


@pytest.fixture(scope="module")
def s3(compute_server: EmulatorServer) -> Any:
    return compute_server.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"batch-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _put(s3: Any, bucket: str, key: str, lines: list[Any]) -> None:
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def _read(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _create(ctl: Any, bucket: str, source: str, name: str | None = None, **extra: Any) -> str:
    arn: str = ctl.create_model_invocation_job(
        jobName=name or f"job-{uuid.uuid4().hex[:8]}", roleArn=ROLE, modelId=extra.pop("modelId", MODEL_ID),
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/{source}", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}}, **extra,
    )["jobArn"]
    return arn


def _wait(ctl: Any, arn: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        job: dict[str, Any] = ctl.get_model_invocation_job(jobIdentifier=arn)
        return job if job["status"] in statuses else None

    found: dict[str, Any] = wait_for(reached, timeout, interval=0.05)
    return found


def test_job_completes_with_output_and_manifest(ctl: Any, s3: Any, bucket: str) -> None:
    records = [
        {"recordId": "REC0000001", "modelInput": _llama("Say hi")},
        {"recordId": "REC0000002", "modelInput": {"inputText": "Say hi", "textGenerationConfig": {"maxTokenCount": 8, "temperature": 0}}},
        {"modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": [{"role": "user", "content": "Say hi"}]}},
    ]
    _put(s3, bucket, "input/records.jsonl", records)
    arn = _create(ctl, bucket, "input/records.jsonl", clientRequestToken="token-1", tags=[{"key": "team", "value": "ml"}])
    assert arn.startswith("arn:aws:bedrock:us-east-1:") and ":model-invocation-job/" in arn
    job_id = arn.rsplit("/", 1)[1]
    assert len(job_id) == 12
    # The same token: the same job, no second one.
    assert _create(ctl, bucket, "input/records.jsonl", clientRequestToken="token-1") == arn
    assert ctl.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "ml"}]
    ctl.tag_resource(resourceARN=arn, tags=[{"key": "team", "value": "nlp"}, {"key": "env", "value": "dev"}])
    ctl.untag_resource(resourceARN=arn, tagKeys=["env"])
    assert ctl.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "nlp"}]

    job = _wait(ctl, arn, *FINAL)
    assert job["status"] == "Completed", job.get("message")
    assert ctl.get_model_invocation_job(jobIdentifier=job_id)["jobArn"] == arn  # by id as by ARN
    assert job["modelId"] == MODEL_ID and job["roleArn"] == ROLE and job["clientRequestToken"] == "token-1"
    assert job["inputDataConfig"]["s3InputDataConfig"] == {"s3Uri": f"s3://{bucket}/input/records.jsonl", "s3InputFormat": "JSONL"}
    assert job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == f"s3://{bucket}/out/"
    assert job["submitTime"] <= job["lastModifiedTime"] and job["endTime"] >= job["submitTime"]
    assert job["timeoutDurationInHours"] == 24
    assert job["jobExpirationTime"] - job["submitTime"] == dt.timedelta(hours=24)
    assert (job["totalRecordCount"], job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (3, 3, 3, 0)

    out = _read(s3, bucket, f"out/{job_id}/records.jsonl.out")
    assert [r["recordId"] for r in out[:2]] == ["REC0000001", "REC0000002"]
    assert len(out[2]["recordId"]) == 11  # given one: none in the input
    assert [r["modelInput"] for r in out] == [r["modelInput"] for r in records]
    llama, titan, anthropic = (r["modelOutput"] for r in out)
    assert 0 < llama["generation_token_count"] <= 8 and isinstance(llama["generation"], str)
    assert titan["results"][0]["tokenCount"] <= 8 and titan["inputTextTokenCount"] > 0
    assert anthropic["type"] == "message" and anthropic["content"][0]["type"] == "text"
    manifest = _read(s3, bucket, f"out/{job_id}/manifest.json.out")[0]
    assert {k: manifest[k] for k in ("totalRecordCount", "processedRecordCount", "successRecordCount", "errorRecordCount")} == {
        "totalRecordCount": 3, "processedRecordCount": 3, "successRecordCount": 3, "errorRecordCount": 0}
    assert manifest["inputTokenCount"] == llama["prompt_token_count"] + titan["inputTextTokenCount"] + anthropic["usage"]["input_tokens"]
    assert manifest["outputTokenCount"] == (llama["generation_token_count"] + titan["results"][0]["tokenCount"]
                                           + anthropic["usage"]["output_tokens"])


def test_prefix_input_with_error_records(ctl: Any, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "in/a.jsonl", [{"recordId": "A1", "modelInput": _llama("One")}, {"recordId": "A2", "modelInput": _llama("Two")}])
    _put(s3, bucket, "in/sub/b.jsonl", [
        {"recordId": "B1", "modelInput": _llama("Three")},
        "this is not JSON",
        {"recordId": "B3", "input": {}},
        {"recordId": "B4", "modelInput": _llama("Four", tokens=0)},  # the model's own check: max_gen_len >= 1
    ])
    s3.put_object(Bucket=bucket, Key="in/notes.txt", Body=b"not a .jsonl file: not read")
    arn = _create(ctl, bucket, "in/")
    job = _wait(ctl, arn, *FINAL)
    job_id = arn.rsplit("/", 1)[1]
    assert job["status"] == "PartiallyCompleted" and "3 of 6 records failed" in job["message"]
    assert (job["totalRecordCount"], job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (6, 6, 3, 3)

    a = _read(s3, bucket, f"out/{job_id}/a.jsonl.out")
    assert [r["recordId"] for r in a] == ["A1", "A2"] and all("modelOutput" in r for r in a)
    b = _read(s3, bucket, f"out/{job_id}/sub/b.jsonl.out")
    assert len(b) == 4 and b[0]["recordId"] == "B1" and "modelOutput" in b[0]
    assert b[1]["error"]["errorCode"] == 400 and "not valid JSON" in b[1]["error"]["errorMessage"] and "modelInput" not in b[1]
    assert b[2]["recordId"] == "B3" and "no modelInput" in b[2]["error"]["errorMessage"]
    assert b[3]["recordId"] == "B4" and b[3]["modelInput"] == _llama("Four", tokens=0)
    assert b[3]["error"]["errorCode"] == 400 and "max_gen_len" in b[3]["error"]["errorMessage"] and "modelOutput" not in b[3]
    manifest = _read(s3, bucket, f"out/{job_id}/manifest.json.out")[0]
    assert (manifest["totalRecordCount"], manifest["successRecordCount"], manifest["errorRecordCount"]) == (6, 3, 3)
    assert manifest["outputTokenCount"] == sum(r["modelOutput"]["generation_token_count"] for r in [*a, b[0]])


def test_converse_invocation_type(ctl: Any, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "conv.jsonl", [
        {"recordId": "C1", "modelInput": {"messages": [{"role": "user", "content": [{"text": "Say hi"}]}], "inferenceConfig": {"maxTokens": 8}}},
        {"recordId": "C2", "modelInput": {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": "8"}}},
    ])
    arn = _create(ctl, bucket, "conv.jsonl", modelInvocationType="Converse")
    job = _wait(ctl, arn, *FINAL)
    assert job["status"] == "PartiallyCompleted" and job["modelInvocationType"] == "Converse"
    c1, c2 = _read(s3, bucket, f"out/{arn.rsplit('/', 1)[1]}/conv.jsonl.out")
    assert c1["modelOutput"]["output"]["message"]["role"] == "assistant" and c1["modelOutput"]["usage"]["outputTokens"] <= 8
    assert c2["error"]["errorCode"] == 400 and "maxTokens" in c2["error"]["errorMessage"]


def test_stop(ctl: Any, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "long.jsonl", [{"recordId": f"L{i}", "modelInput": LONG} for i in range(8)])
    _put(s3, bucket, "short.jsonl", [{"modelInput": _llama("Hi", 2)}])
    long_arn = _create(ctl, bucket, "long.jsonl")
    _wait(ctl, long_arn, "InProgress")
    # One job runs at a time (bedrock_batch_concurrent_jobs): the next one waits Scheduled.
    short_arn = _create(ctl, bucket, "short.jsonl")
    _wait(ctl, short_arn, "Scheduled")
    ctl.stop_model_invocation_job(jobIdentifier=short_arn.rsplit("/", 1)[1])
    short = ctl.get_model_invocation_job(jobIdentifier=short_arn)
    assert short["status"] == "Stopped" and "endTime" in short
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key=f"out/{short_arn.rsplit('/', 1)[1]}/manifest.json.out")
    assert _code(err) == "NoSuchKey"  # never started: nothing written

    ctl.stop_model_invocation_job(jobIdentifier=long_arn)
    assert ctl.get_model_invocation_job(jobIdentifier=long_arn)["status"] in ("Stopping", "Stopped")
    job = _wait(ctl, long_arn, *FINAL)
    assert job["status"] == "Stopped"
    assert job["processedRecordCount"] < 8 and job["totalRecordCount"] == 8
    manifest = _read(s3, bucket, f"out/{long_arn.rsplit('/', 1)[1]}/manifest.json.out")[0]
    assert manifest["processedRecordCount"] == job["processedRecordCount"]
    with pytest.raises(ClientError) as err:
        ctl.stop_model_invocation_job(jobIdentifier=long_arn)
    assert _code(err) == "ValidationException"


def test_list_filters_and_paging(ctl: Any, s3: Any, bucket: str) -> None:
    tag = uuid.uuid4().hex[:8]
    _put(s3, bucket, "one.jsonl", [{"modelInput": _llama("Hi", 2)}])
    arns = [_create(ctl, bucket, "one.jsonl", name=f"list-{tag}-{i}") for i in range(3)]
    for arn in arns:
        _wait(ctl, arn, *FINAL)

    page = ctl.list_model_invocation_jobs(nameContains=tag, maxResults=2)
    assert [j["jobArn"] for j in page["invocationJobSummaries"]] == arns[::-1][:2]  # the newest first
    rest = ctl.list_model_invocation_jobs(nameContains=tag, maxResults=2, nextToken=page["nextToken"])
    assert [j["jobArn"] for j in rest["invocationJobSummaries"]] == [arns[0]] and "nextToken" not in rest
    summary = rest["invocationJobSummaries"][0]
    assert summary["jobName"] == f"list-{tag}-0" and summary["status"] == "Completed" and summary["totalRecordCount"] == 1
    ascending = ctl.list_model_invocation_jobs(nameContains=tag, sortBy="CreationTime", sortOrder="Ascending")
    assert [j["jobArn"] for j in ascending["invocationJobSummaries"]] == arns
    pages = ctl.get_paginator("list_model_invocation_jobs").paginate(nameContains=tag, PaginationConfig={"PageSize": 1})
    assert [j["jobArn"] for p in pages for j in p["invocationJobSummaries"]] == arns[::-1]

    assert len(ctl.list_model_invocation_jobs(nameContains=tag, statusEquals="Completed")["invocationJobSummaries"]) == 3
    assert ctl.list_model_invocation_jobs(nameContains=tag, statusEquals="Failed")["invocationJobSummaries"] == []
    first = ctl.get_model_invocation_job(jobIdentifier=arns[0])["submitTime"]
    after = ctl.list_model_invocation_jobs(nameContains=tag, submitTimeAfter=first)["invocationJobSummaries"]
    assert arns[0] not in [j["jobArn"] for j in after]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert ctl.list_model_invocation_jobs(nameContains=tag, submitTimeAfter=future)["invocationJobSummaries"] == []
    assert len(ctl.list_model_invocation_jobs(nameContains=tag, submitTimeBefore=future)["invocationJobSummaries"]) == 3
    with pytest.raises(ClientError) as err:
        ctl.list_model_invocation_jobs(nextToken="not-a-token")
    assert _code(err) == "ValidationException"


def test_validation_errors(compute_server: EmulatorServer, ctl: Any, s3: Any, bucket: str) -> None:
    # The server's own checks: boto3's (the same constraints) are off.
    raw = compute_server.client("bedrock", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    _put(s3, bucket, "r.jsonl", [{"modelInput": _llama("Hi", 2)}])
    with pytest.raises(ClientError) as err:
        _create(ctl, bucket, "r.jsonl", modelId="meta.no-such-model-v1:0")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        _create(raw, bucket, "r.jsonl", timeoutDurationInHours=1)  # 24..168
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        raw.create_model_invocation_job(jobName="bad-uri", roleArn=ROLE, modelId=MODEL_ID,
                                        inputDataConfig={"s3InputDataConfig": {"s3Uri": "https://example.com/r.jsonl"}},
                                        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}})
    assert _code(err) == "ValidationException"
    for ident, code in (("abcdefabcdef", "ResourceNotFoundException"), ("NOT-AN-ID", "ValidationException"),
                        ("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef", "ResourceNotFoundException")):
        with pytest.raises(ClientError) as err:
            raw.get_model_invocation_job(jobIdentifier=ident)
        assert _code(err) == code, ident
    with pytest.raises(ClientError) as err:
        ctl.stop_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        ctl.list_tags_for_resource(resourceARN="arn:aws:bedrock:us-east-1:000000000000:model-invocation-job/abcdefabcdef")
    assert _code(err) == "ResourceNotFoundException"

    # What is only known once the job reads its input fails the job, with a message.
    missing = _create(ctl, "no-such-bucket-" + uuid.uuid4().hex[:8], "r.jsonl")
    job = _wait(ctl, missing, *FINAL)
    assert job["status"] == "Failed" and "does not exist" in job["message"]
    empty = _create(ctl, bucket, "nothing-here/")
    job = _wait(ctl, empty, *FINAL)
    assert job["status"] == "Failed" and "No .jsonl input file" in job["message"]
    _put(s3, bucket, "bad.jsonl", ["{not json", {"recordId": "X"}])
    job = _wait(ctl, _create(ctl, bucket, "bad.jsonl"), *FINAL)
    assert job["status"] == "Failed" and "All 2 records failed" in job["message"] and job["errorRecordCount"] == 2


def test_reset_forgets_the_jobs(compute_server: EmulatorServer, ctl: Any, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "long.jsonl", [{"modelInput": LONG} for _ in range(4)])
    arn = _create(ctl, bucket, "long.jsonl")
    _wait(ctl, arn, "InProgress")
    assert compute_server.reset(services=["bedrock"]) == ["bedrock"]
    with pytest.raises(ClientError) as err:
        ctl.get_model_invocation_job(jobIdentifier=arn)
    assert _code(err) == "ResourceNotFoundException"
    assert ctl.list_model_invocation_jobs()["invocationJobSummaries"] == []
    # The runner is gone: a new job runs at once.
    _put(s3, bucket, "one.jsonl", [{"modelInput": _llama("Hi", 2)}])
    assert _wait(ctl, _create(ctl, bucket, "one.jsonl"), *FINAL)["status"] == "Completed"


def test_minimum_records_and_restart(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text("[emulator]\nbedrock_batch_min_records = 3\n")
    server = server_factory(data_dir=tmp_path / "data", EMULATOR_CONFIG_FILE=str(config))
    ctl, s3 = server.client("bedrock"), server.client("s3")
    s3.create_bucket(Bucket="batch")
    _put(s3, "batch", "two.jsonl", [{"modelInput": _llama("Hi", 2)}] * 2)
    job = _wait(ctl, _create(ctl, "batch", "two.jsonl"), *FINAL)
    assert job["status"] == "Failed" and "at least 3" in job["message"] and job["totalRecordCount"] == 2

    _put(s3, "batch", "long.jsonl", [{"modelInput": LONG}] * 4)
    arn = _create(ctl, "batch", "long.jsonl")
    server.stop()
    server.start()
    job = ctl.get_model_invocation_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "emulator stopped" in job["message"] and "endTime" in job
