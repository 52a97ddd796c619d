"""Job UserData parsing."""

from __future__ import annotations

import json

import pytest

from emulator.compute.jobs import JobError, job_of, params_of, parse_job


def test_single_prompt_and_params() -> None:
    job = parse_job(json.dumps({"prompt": "hi", "max_tokens": 4, "temperature": 0}).encode())
    assert job["requests"] == [{"prompt": "hi", "max_tokens": 4, "temperature": 0}]
    assert job["params"] == {"max_tokens": 4, "temperature": 0}


def test_prompts_messages_requests_and_jsonl() -> None:
    assert len(parse_job(b'{"prompts": ["a", "b", "c"]}')["requests"]) == 3
    assert parse_job(b'{"messages": [{"role": "user", "content": "x"}]}')["requests"][0]["messages"][0]["content"] == "x"
    assert len(parse_job(b'[{"prompt": "a"}, {"messages": [{"role": "user", "content": "b"}]}]')["requests"]) == 2
    jsonl = b'{"prompt": "a"}\n\n{"prompt": "b", "max_tokens": 3}\n'
    job = parse_job(jsonl)
    assert [r["prompt"] for r in job["requests"]] == ["a", "b"]


def test_dynamodb_output() -> None:
    job = parse_job(b'{"prompt": "a", "dynamodb": "results"}')
    assert job["dynamodb"] == {"table": "results", "key": "id", "region": None}
    job = parse_job(b'{"prompt": "a", "output": {"dynamodb": {"table": "t", "key": "pk"}}}')
    assert job["dynamodb"]["key"] == "pk"


@pytest.mark.parametrize("raw", [b"", b"#!/bin/bash\necho hi", b'{"nothing": 1}', b'{"prompts": []}', b'{"prompt": 5}',
                                 b'{"prompt": "a", "max_tokens": 0}', b'{"prompt": "a", "temperature": "hot"}',
                                 b'{"messages": [{"content": "no role"}]}', b"\xff\xfe", b'"just a string"'])
def test_invalid_user_data(raw: bytes) -> None:
    with pytest.raises(JobError):
        parse_job(raw)


def test_params_of() -> None:
    p = params_of({"max_tokens": 3, "stop": "x", "seed": 7, "top_p": 0.5})
    assert (p.max_tokens, p.stop, p.seed, p.top_p) == (3, ["x"], 7, 0.5)


@pytest.mark.parametrize("raw", [b"#!/bin/bash\necho hi", b"#cloud-config\npackages: [nginx]\n", b'"just a string"', b"\x1f\x8b\x08\x00gzip",
                                 b'Content-Type: multipart/mixed; boundary="//"\nMIME-Version: 1.0\n\n--//\n'])
def test_plain_user_data_is_not_a_job(raw: bytes) -> None:
    assert job_of(raw) is None


@pytest.mark.parametrize("raw", [b'  {"prompt": "a"}', b'\n["a", "b"]', b'{"prompt": "a"}\n{"prompt": "b"}'])
def test_json_and_jsonl_user_data_is_a_job(raw: bytes) -> None:
    job = job_of(raw)
    assert job is not None and job["requests"]


@pytest.mark.parametrize("raw", [b'{"prompt": "unterminated', b"[1, 2", b'{"nothing": 1}'])
def test_user_data_that_looks_like_a_job_must_be_one(raw: bytes) -> None:
    with pytest.raises(JobError):
        job_of(raw)
