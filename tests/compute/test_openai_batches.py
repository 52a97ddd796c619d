"""OpenAI's Files and Batch APIs with the official openai client, the SmolLM2 model answering:
uploads, batches through to their output and error files, cancel, validation, restart, reset."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import openai
import pytest

from emulator.cluster.forward import ROUTE_ROLE
from emulator.compute.openai_params import OPENAI_PREFIXES, iam_requirement
from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID

CHAT: Final = "/v1/chat/completions"
DONE = ("completed", "failed", "expired", "cancelled")


def make_client(server: EmulatorServer, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.endpoint + "/v1", api_key=key or f"{server.access_key}:{server.secret_key}", max_retries=0)


@pytest.fixture(scope="module")
def client(compute_server: EmulatorServer) -> openai.OpenAI:
    return make_client(compute_server)


def chat_line(custom_id: str, text: str, max_tokens: int = 4, **extra: Any) -> dict[str, Any]:
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0, **extra}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}


def upload(client: openai.OpenAI, lines: list[Any], name: str = "input.jsonl") -> str:
    data = b"".join((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in lines)
    return client.files.create(file=(name, data), purpose="batch").id


def wait_batch(client: openai.OpenAI, batch_id: str, *statuses: str, timeout: float = 180.0) -> Any:
    wanted = statuses or DONE
    return wait_for(lambda: (b := client.batches.retrieve(batch_id)).status in wanted and b, timeout, interval=0.2)


def read_jsonl(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line.strip()]


def run_batch(client: openai.OpenAI, lines: list[Any], endpoint: str = CHAT, **kwargs: Any) -> Any:
    batch = client.batches.create(input_file_id=upload(client, lines), endpoint=endpoint, completion_window="24h", **kwargs)  # type: ignore[arg-type]
    return wait_batch(client, batch.id)


# ------------------------------------------------------------------ files
def test_files_upload_list_retrieve_content_delete(client: openai.OpenAI) -> None:
    data = b'{"hello": "world"}\n'
    notes = client.files.create(file=("notes.txt", data), purpose="user_data")
    assert notes.id.startswith("file-") and notes.object == "file" and notes.bytes == len(data)
    assert notes.filename == "notes.txt" and notes.purpose == "user_data" and notes.status == "processed" and notes.expires_at is None
    batch_in = client.files.create(file=("in.jsonl", data), purpose="batch")
    assert batch_in.expires_at is not None and batch_in.expires_at - batch_in.created_at == 30 * 24 * 3600  # OpenAI's default for batch files
    assert client.files.retrieve(notes.id).model_dump() == notes.model_dump()
    assert client.files.content(notes.id).content == data
    ids = [f.id for f in client.files.list()]
    assert ids.index(batch_in.id) < ids.index(notes.id)  # newest first
    user_data = list(client.files.list(purpose="user_data"))
    assert notes.id in [f.id for f in user_data] and {f.purpose for f in user_data} == {"user_data"}
    first = client.files.list(limit=1, order="asc")
    assert len(first.data) == 1 and first.has_more
    assert [f.id for f in client.files.list(order="asc")] == list(reversed(ids))
    assert [f.id for f in client.files.list(limit=1)] == ids  # the client follows has_more / after
    deleted = client.files.delete(notes.id)
    assert deleted.id == notes.id and deleted.deleted
    with pytest.raises(openai.NotFoundError) as err:
        client.files.retrieve(notes.id)
    assert err.value.message.endswith(f"No such File object: {notes.id}") and err.value.param == "id"
    with pytest.raises(openai.NotFoundError):
        client.files.content(notes.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(notes.id)
    client.files.delete(batch_in.id)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"file": ("in.txt", b"{}\n"), "purpose": "batch"}, "Invalid file format for Batch API. Must be .jsonl"),
    ({"file": ("in.jsonl", b"{}\n"), "purpose": "nothing"}, "Invalid value: 'nothing'."),
    ({"file": ("in.jsonl", b"{}\n"), "purpose": "batch", "expires_after": {"anchor": "created_at", "seconds": 10}},
     "Invalid 'expires_after.seconds': expected a value between 3600 and 2592000"),
])
def test_file_upload_is_validated(client: openai.OpenAI, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(**kwargs)
    assert message in err.value.message


# ------------------------------------------------------------------ batches
def test_chat_batch_completes_with_output_and_error_files(client: openai.OpenAI) -> None:
    questions = ["Say hi", "Count to three", "Name a color"]
    lines = [chat_line(f"q{i}", q) for i, q in enumerate(questions)]
    lines.append(chat_line("bad-temperature", "hi", temperature=5))
    lines.append(chat_line("streamed", "hi", stream=True))
    batch = run_batch(client, lines, metadata={"job": "nightly"})
    assert batch.status == "completed" and batch.id.startswith("batch_") and batch.endpoint == CHAT and batch.model == MODEL_ID
    assert batch.metadata == {"job": "nightly"} and batch.completion_window == "24h" and batch.errors is None
    assert batch.request_counts is not None and batch.request_counts.model_dump() == {"total": 5, "completed": 3, "failed": 2}
    assert batch.created_at <= batch.in_progress_at <= batch.finalizing_at <= batch.completed_at  # type: ignore[operator]
    assert batch.expires_at == batch.created_at + 24 * 3600 and batch.failed_at is None and batch.cancelled_at is None
    output = read_jsonl(client, batch.output_file_id)
    assert [o["custom_id"] for o in output] == ["q0", "q1", "q2"]
    assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"  # type: ignore[arg-type]
    for line, question in zip(output, questions, strict=True):
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        body = line["response"]["body"]
        assert body["object"] == "chat.completion" and 0 < body["usage"]["completion_tokens"] <= 4
        # The live endpoint's answer to the same request (temperature 0): the same code path.
        live = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": question}], max_tokens=4, temperature=0)
        assert body["choices"][0]["message"]["content"] == live.choices[0].message.content
    assert batch.usage is not None and batch.usage.output_tokens == sum(o["response"]["body"]["usage"]["completion_tokens"] for o in output)
    assert batch.usage.total_tokens == batch.usage.input_tokens + batch.usage.output_tokens
    errors = {e["custom_id"]: e for e in read_jsonl(client, batch.error_file_id)}
    assert set(errors) == {"bad-temperature", "streamed"}
    bad = errors["bad-temperature"]["response"]
    assert bad["status_code"] == 400 and bad["body"]["error"]["param"] == "temperature" and errors["bad-temperature"]["error"] is None
    assert errors["streamed"]["response"]["status_code"] == 400 and errors["streamed"]["response"]["body"]["error"]["param"] == "stream"


def test_completions_responses_and_embeddings_batches(client: openai.OpenAI) -> None:
    prompts = [{"custom_id": f"p{i}", "method": "POST", "url": "/v1/completions",
                "body": {"model": MODEL_ID, "prompt": p, "max_tokens": 3, "temperature": 0}} for i, p in enumerate(["1, 2, 3,", "The sky is"])]
    done = run_batch(client, prompts, endpoint="/v1/completions")
    assert done.status == "completed" and done.request_counts.completed == 2 and done.error_file_id is None
    assert all(o["response"]["body"]["object"] == "text_completion" for o in read_jsonl(client, done.output_file_id))
    resp = run_batch(client, [{"custom_id": "r", "method": "POST", "url": "/v1/responses",
                               "body": {"model": MODEL_ID, "input": "Say hi", "max_output_tokens": 4, "temperature": 0}}], endpoint="/v1/responses")
    [out] = read_jsonl(client, resp.output_file_id)
    assert out["response"]["body"]["object"] == "response" and out["response"]["body"]["usage"]["output_tokens"] == 4
    assert resp.usage is not None and resp.usage.output_tokens == 4
    # Embeddings: the same vectors as the live endpoint's.
    live = client.embeddings.create(model=MODEL_ID, input="hello", encoding_format="float").data[0].embedding
    emb = run_batch(client, [{"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings", "body": {"model": MODEL_ID, "input": t}}
                             for i, t in enumerate(["hello", "world"])], endpoint="/v1/embeddings")
    assert emb.status == "completed" and emb.error_file_id is None and emb.request_counts.model_dump() == {"total": 2, "completed": 2, "failed": 0}
    lines = {line["custom_id"]: line for line in read_jsonl(client, emb.output_file_id)}
    assert all(line["response"]["status_code"] == 200 for line in lines.values())
    assert lines["e0"]["response"]["body"]["data"][0]["embedding"] == pytest.approx(live, abs=1e-5)


def test_cancel_keeps_the_results_so_far(client: openai.OpenAI) -> None:
    lines = [chat_line(f"c{i}", "Tell me a long story about the sea", max_tokens=48) for i in range(12)]
    batch = client.batches.create(input_file_id=upload(client, lines), endpoint=CHAT, completion_window="24h")
    assert batch.status == "validating" and batch.request_counts is not None and batch.request_counts.total == 0
    wait_batch(client, batch.id, "in_progress")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at is not None
    done = wait_batch(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at is not None and done.completed_at is None
    counts = done.request_counts
    assert counts.total == 12 and counts.completed + counts.failed < 12
    if counts.completed:
        assert len(read_jsonl(client, done.output_file_id)) == counts.completed
    assert client.batches.cancel(batch.id).status == "cancelled"  # again: as it is
    finished = run_batch(client, [chat_line("one", "hi", max_tokens=1)])
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(finished.id)


def test_retrieve_and_list_batches(client: openai.OpenAI) -> None:
    a = run_batch(client, [chat_line("a", "hi", max_tokens=1)])
    b = run_batch(client, [chat_line("b", "hi", max_tokens=1)])
    listed = [x.id for x in client.batches.list()]
    assert listed.index(b.id) < listed.index(a.id)  # newest first
    page = client.batches.list(limit=1)
    assert [x.id for x in page.data] == [listed[0]] and page.has_more
    assert [x.id for x in client.batches.list(limit=1, after=b.id).data] == [listed[listed.index(b.id) + 1]]
    assert client.batches.retrieve(a.id).model_dump() == a.model_dump()
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nothing")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"endpoint": "/v1/moderations"}, "Invalid value: '/v1/moderations'."),
    ({"completion_window": "48h"}, "Invalid value: '48h'. Supported values are: '24h'."),
    ({"input_file_id": "file-nothing"}, "No such File object: file-nothing"),
    ({"metadata": {str(i): "x" for i in range(17)}}, "Invalid 'metadata': too many properties."),
    ({"metadata": {"k": "x" * 513}}, "Invalid 'metadata.k': string too long."),
])
def test_batch_create_is_validated(client: openai.OpenAI, kwargs: dict[str, Any], message: str) -> None:
    call: dict[str, Any] = {"input_file_id": upload(client, [chat_line("x", "hi")]), "endpoint": CHAT, "completion_window": "24h", **kwargs}
    with pytest.raises((openai.BadRequestError, openai.NotFoundError)) as err:
        client.batches.create(**call)
    assert message in err.value.message


def test_batch_input_needs_purpose_batch(client: openai.OpenAI) -> None:
    other = client.files.create(file=("in.jsonl", json.dumps(chat_line("x", "hi")).encode()), purpose="user_data")
    with pytest.raises(openai.BadRequestError) as err:
        client.batches.create(input_file_id=other.id, endpoint=CHAT, completion_window="24h")
    assert "needs purpose 'batch'" in err.value.message


def test_invalid_input_fails_the_batch_naming_each_line(client: openai.OpenAI) -> None:
    lines: list[Any] = [
        chat_line("ok", "hi"),
        "{not json",
        chat_line("ok", "again"),
        {**chat_line("u", "hi"), "url": "/v1/completions"},
        {**chat_line("m", "hi"), "method": "GET"},
        {"custom_id": "nobody", "method": "POST", "url": CHAT},
        {"custom_id": "nomodel", "method": "POST", "url": CHAT, "body": {"messages": []}},
        {"custom_id": "other", "method": "POST", "url": CHAT, "body": {"model": "another-model", "messages": []}},
    ]
    batch = run_batch(client, lines)
    assert batch.status == "failed" and batch.failed_at is not None and batch.in_progress_at is None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.object == "list"
    found = [(e.line, e.code, e.param) for e in batch.errors.data or []]
    assert found == [
        (2, "invalid_json_line", None), (3, "duplicate_custom_id", "custom_id"), (4, "invalid_url", "url"), (5, "invalid_value", "method"),
        (6, "missing_required_parameter", "body"), (7, "missing_required_parameter", "body.model"), (8, "mismatched_model", "body.model"),
    ]
    empty = client.batches.create(input_file_id=client.files.create(file=("e.jsonl", b"\n"), purpose="batch").id, endpoint=CHAT, completion_window="24h")
    failed = wait_batch(client, empty.id)
    assert failed.status == "failed" and [e.code for e in failed.errors.data] == ["empty_file"]  # type: ignore[union-attr]


def test_requests_run_as_the_creators_key(compute_server: EmulatorServer) -> None:
    """Each request is authorized as the live endpoint authorizes it, with the creator's policies:
    batch actions allowed but bedrock:InvokeModel denied -> every request fails with 403."""
    iam = compute_server.client("iam")
    name = "batcher-" + uuid.uuid4().hex[:8]
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["bedrock:*ModelInvocationJob*"], "Resource": "*"},
    ]}
    iam.put_user_policy(UserName=name, PolicyName="batches", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = make_client(compute_server, f"{key['AccessKeyId']}:{key['SecretAccessKey']}")
    batch = run_batch(user, [chat_line("x", "hi")])
    assert batch.status == "completed" and batch.request_counts.failed == 1
    [line] = read_jsonl(user, batch.error_file_id)
    assert line["response"]["status_code"] == 403 and "bedrock:InvokeModel" in line["response"]["body"]["error"]["message"]
    iam.put_user_policy(UserName=name, PolicyName="batches", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]}))
    with pytest.raises(openai.PermissionDeniedError):
        user.batches.list()
    with pytest.raises(openai.PermissionDeniedError):
        user.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")


def test_iam_actions_of_files_and_batches() -> None:
    """Bedrock's batch inference actions (the gateway of a cluster authorizes with the same mapping)."""
    expected = {
        ("POST", "/v1/files"): "bedrock:CreateModelInvocationJob", ("GET", "/v1/files"): "bedrock:ListModelInvocationJobs",
        ("GET", "/v1/files/file-1"): "bedrock:GetModelInvocationJob", ("GET", "/v1/files/file-1/content"): "bedrock:GetModelInvocationJob",
        ("DELETE", "/v1/files/file-1"): "bedrock:CreateModelInvocationJob", ("POST", "/v1/batches"): "bedrock:CreateModelInvocationJob",
        ("GET", "/v1/batches"): "bedrock:ListModelInvocationJobs", ("GET", "/v1/batches/batch_1"): "bedrock:GetModelInvocationJob",
        ("POST", "/v1/batches/batch_1/cancel"): "bedrock:StopModelInvocationJob",
    }
    assert {call: iam_requirement(*call, None, "us-east-1") for call in expected} == {call: (action, "*") for call, action in expected.items()}
    assert set(OPENAI_PREFIXES) >= {"/v1/files", "/v1/batches"} and ROUTE_ROLE["/v1/files"] == ROUTE_ROLE["/v1/batches"] == "compute"


# ------------------------------------------------------------------ restart, reset, expiry, limits
def long_batch(client: openai.OpenAI) -> str:
    """A batch still running for a while (cut off by the test long before its end)."""
    lines = [chat_line(f"r{i}", "Tell a long story", max_tokens=96) for i in range(24)]
    batch = client.batches.create(input_file_id=upload(client, lines), endpoint=CHAT, completion_window="24h")
    wait_batch(client, batch.id, "in_progress")
    return batch.id


def test_restart_keeps_files_and_batches(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    """Files and batches survive a restart; a batch cut off by it is failed (its runner is gone)."""
    config = tmp_path / "emulator.toml"
    config.write_text("[emulator]\nopenai_file_max_bytes = 16384\n", encoding="utf-8")
    server = server_factory(data_dir=tmp_path / "data", EMULATOR_CONFIG_FILE=str(config))
    client = make_client(server)
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("big.jsonl", b"x" * 16385), purpose="batch")
    assert "File is too large" in err.value.message
    done = run_batch(client, [chat_line("a", "hi", max_tokens=2)])
    running = long_batch(client)
    files_before = {f.id: f.model_dump() for f in client.files.list()}
    output_before = client.files.content(done.output_file_id).content  # type: ignore[arg-type]
    server.stop()
    server.start()
    assert {f.id: f.model_dump() for f in client.files.list()} == files_before
    assert client.files.content(done.output_file_id).content == output_before  # type: ignore[arg-type]
    assert client.batches.retrieve(done.id).model_dump() == done.model_dump()
    cut = client.batches.retrieve(running)
    assert cut.status == "failed" and cut.failed_at is not None and [e.code for e in cut.errors.data] == ["server_restarted"]  # type: ignore[union-attr]
    assert {p.name for p in (server.data_dir / "openai").iterdir()} == {"batches.json", "files"}
    assert {p.name for p in (server.data_dir / "openai" / "files").iterdir()} == {"index.json", *files_before}


def test_reset_forgets_files_and_batches(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    """The OpenAI API's state is Bedrock Runtime's in a reset (as the Responses API's stored responses)."""
    server = server_factory(data_dir=tmp_path / "data")
    client = make_client(server)
    run_batch(client, [chat_line("a", "hi", max_tokens=2)])
    long_batch(client)
    assert len(client.files.list().data) == 3 and len(client.batches.list().data) == 2
    server.reset(services=["bedrock-runtime"])
    assert client.files.list().data == [] and client.batches.list().data == []
    assert [p.name for p in (server.data_dir / "openai" / "files").iterdir()] == ["index.json"]
    server.stop()
    server.start()
    assert client.files.list().data == [] and client.batches.list().data == []


def test_batch_past_its_window_expires(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    config = tmp_path / "emulator.toml"
    config.write_text("[emulator]\nopenai_batch_window_seconds = 0\n", encoding="utf-8")  # ours: the window, shortened for tests
    client = make_client(server_factory(EMULATOR_CONFIG_FILE=str(config)))
    batch = run_batch(client, [chat_line("a", "hi"), chat_line("b", "hi")])
    assert batch.status == "expired" and batch.expired_at is not None and batch.output_file_id is None
    assert batch.request_counts.model_dump() == {"total": 2, "completed": 0, "failed": 2}
    lines = read_jsonl(client, batch.error_file_id)
    assert [line["custom_id"] for line in lines] == ["a", "b"]
    assert all(line["response"] is None and line["error"] == {"code": "batch_expired",
               "message": "This request could not be executed before the completion window expired."} for line in lines)
