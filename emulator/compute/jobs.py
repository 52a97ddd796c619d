"""Job instances: the batch a RunInstances UserData describes, and how it runs.

UserData (boto3 base64-encodes it) is JSON or JSONL:

    {"prompt": "Once upon a time"}                          one completion
    {"prompts": ["a", "b"]}                                 several completions
    {"messages": [{"role": "user", "content": "Hi"}]}       one chat request
    {"requests": [{"messages": [...]}, {"prompt": "..."}]}  a list of requests
    {"prompt": "a"}\\n{"messages": [...]}                   JSONL: one request a line

Generation parameters (``max_tokens``, ``temperature``, ``top_p``, ``stop``,
``seed``) apply job-wide and may be overridden per request. ``"dynamodb":
{"table": "T", "key": "id", "region": "us-east-1"}`` writes one item per
result (key = "<instance id>-<index>"). Results go to the console output as
JSON lines prefixed ``RESULT``.

Only user data that starts with ``{`` or ``[`` (after whitespace) is a job (``job_of``); any
other (a shell script, ``#cloud-config``, MIME multipart, binary) is plain user data: EC2
keeps it and the instance serves as one launched without user data.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from emulator.compute.engines.base import EngineError, GenParams

if TYPE_CHECKING:
    from emulator.compute.instances import Instance
    from emulator.compute.scheduler import Scheduler

_PARAMS = ("max_tokens", "temperature", "top_p", "top_k", "stop", "seed")
MAX_REQUESTS = 10_000


class JobError(ValueError):
    pass


def _check_request(item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, str):
        return {"prompt": item}
    if not isinstance(item, dict):
        raise JobError(f"request {index} must be an object with 'prompt' or 'messages'")
    if "messages" in item:
        msgs = item["messages"]
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) and "role" in m for m in msgs):
            raise JobError(f"request {index}: 'messages' must be a non-empty list of {{role, content}} objects")
    elif not isinstance(item.get("prompt"), str):
        raise JobError(f"request {index} has neither 'prompt' (a string) nor 'messages'")
    return item


def is_job(raw: bytes) -> bool:
    """Whether user data is meant as a job: JSON or JSONL, so it starts with ``{`` or ``[``."""
    return raw.lstrip()[:1] in (b"{", b"[")


def job_of(raw: bytes) -> dict[str, Any] | None:
    """The job user data holds, None for plain user data (not JSON/JSONL); JobError for text
    that looks like a job (starts with ``{`` or ``[``) but is not a valid one."""
    return parse_job(raw) if is_job(raw) else None


def parse_job(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise JobError("UserData is not UTF-8 text") from None
    if not text:
        raise JobError("UserData is empty")
    try:
        doc: Any = json.loads(text)
        docs = [doc]
    except json.JSONDecodeError:
        # JSONL: one request per non-empty line.
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise JobError(f"UserData is neither JSON nor JSONL (line {n}: {exc.msg})") from None
        if len(docs) == 1:
            doc = docs[0]
        else:
            doc = {"requests": docs}
    if isinstance(doc, list):
        doc = {"requests": doc}
    if not isinstance(doc, dict):
        raise JobError("UserData must be a JSON object, a JSON list of requests, or JSONL")
    if "requests" in doc:
        if not isinstance(doc["requests"], list) or not doc["requests"]:
            raise JobError("'requests' must be a non-empty list")
        requests = [_check_request(r, i) for i, r in enumerate(doc["requests"])]
    elif "prompts" in doc:
        if not isinstance(doc["prompts"], list) or not doc["prompts"] or not all(isinstance(p, str) for p in doc["prompts"]):
            raise JobError("'prompts' must be a non-empty list of strings")
        requests = [{"prompt": p} for p in doc["prompts"]]
    elif "prompt" in doc or "messages" in doc:
        requests = [_check_request({k: v for k, v in doc.items() if k in ("prompt", "messages", *_PARAMS)}, 0)]
    else:
        raise JobError("UserData job needs 'prompt', 'prompts', 'messages' or 'requests'")
    if len(requests) > MAX_REQUESTS:
        raise JobError(f"a job holds at most {MAX_REQUESTS} requests")
    params = {k: doc[k] for k in _PARAMS if k in doc}
    params_of(params)  # validate
    for r in requests:
        params_of({**params, **{k: r[k] for k in _PARAMS if k in r}})
    job: dict[str, Any] = {"requests": requests, "params": params}
    ddb = doc.get("dynamodb") or (doc["output"].get("dynamodb") if isinstance(doc.get("output"), dict) else None)
    if ddb is not None:
        if isinstance(ddb, str):
            ddb = {"table": ddb}
        if not isinstance(ddb, dict) or not isinstance(ddb.get("table"), str) or not ddb["table"]:
            raise JobError("'dynamodb' must be a table name or {\"table\": name, \"key\": attribute}")
        job["dynamodb"] = {"table": ddb["table"], "key": str(ddb.get("key", "id")), "region": ddb.get("region")}
    return job


def params_of(values: dict[str, Any]) -> GenParams:
    p = GenParams()
    try:
        if "max_tokens" in values:
            p.max_tokens = int(values["max_tokens"])
            if p.max_tokens < 1:
                raise JobError("max_tokens must be at least 1")
        if "temperature" in values:
            p.temperature = float(values["temperature"])
        if "top_p" in values:
            p.top_p = float(values["top_p"])
        if "top_k" in values:
            p.top_k = int(values["top_k"])
        if "seed" in values and values["seed"] is not None:
            p.seed = int(values["seed"])
        if "stop" in values:
            stop = values["stop"]
            p.stop = [stop] if isinstance(stop, str) else [str(s) for s in stop]
    except (TypeError, ValueError) as exc:
        if isinstance(exc, JobError):
            raise
        raise JobError(f"invalid generation parameter: {exc}") from None
    return p


async def run_job(inst: Instance, sched: Scheduler, job: dict[str, Any], dynamodb: Callable[[str | None], Any],
                  cancel: threading.Event) -> str:
    """Run every request through the instance's scheduler; return a one-line summary."""
    requests = job["requests"]
    base = job.get("params", {})
    ddb = job.get("dynamodb")
    client = None
    if ddb is not None:
        client = await asyncio.get_running_loop().run_in_executor(None, dynamodb, ddb.get("region"))
    tokens_in = tokens_out = 0
    inst.log(f"job: {len(requests)} request(s)")
    for index, req in enumerate(requests):
        if cancel.is_set():
            break
        params = params_of({**base, **{k: req[k] for k in _PARAMS if k in req}})
        try:
            text, final = await sched.generate(req.get("prompt") if "messages" not in req else None, req.get("messages"), params)
        except EngineError as exc:
            raise JobError(f"request {index}: {exc}") from None
        tokens_in += final.prompt_tokens
        tokens_out += final.completion_tokens
        result = {"index": index, "output": text, "finish_reason": final.finish_reason, "input_tokens": final.prompt_tokens,
                  "output_tokens": final.completion_tokens}
        inst.log("RESULT " + json.dumps(result, ensure_ascii=False))
        if client is not None and ddb is not None:
            item = {
                ddb["key"]: {"S": f"{inst.instance_id}-{index}"},
                "instance_id": {"S": inst.instance_id},
                "index": {"N": str(index)},
                "request": {"S": json.dumps({k: v for k, v in req.items() if k in ("prompt", "messages")}, ensure_ascii=False)},
                "output": {"S": text},
                "finish_reason": {"S": str(final.finish_reason)},
                "input_tokens": {"N": str(final.prompt_tokens)},
                "output_tokens": {"N": str(final.completion_tokens)},
            }
            try:
                await asyncio.get_running_loop().run_in_executor(None, functools.partial(client.put_item, TableName=ddb["table"], Item=item))
            except (BotoCoreError, ClientError) as exc:
                raise JobError(f"writing result {index} to DynamoDB table {ddb['table']} failed: {exc}") from None
    return f"{len(requests)} request(s), {tokens_in} input tokens, {tokens_out} output tokens"
