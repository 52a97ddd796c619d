"""OpenAI's Batch API (``/v1/batches``), the one ``client.batches`` calls: create, retrieve,
list, cancel, and the runner that works a batch's requests through.

As OpenAI's API reference ("Batch": the Batch object, "The request input object", "The request
output object") and Batch guide describe it:

- the input file (``/v1/files``, purpose ``batch``) has one request a line:
  ``{"custom_id", "method": "POST", "url": <the batch's endpoint>, "body": {...}}``; every
  request names the same model ("Each input file can only include requests to a single model")
  and ``custom_id`` is unique. A file that breaks these fails the batch (``failed``, the
  ``errors`` list naming each line) before any request runs;
- statuses: ``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed``; ``failed``
  (the input did not validate); ``cancelling`` -> ``cancelled`` (the requests started finish,
  no new one starts; the output file has the results so far); ``expired`` when the completion
  window (``24h``) ends first: each request not run is written to the error file with
  ``{"code": "batch_expired", "message": "This request could not be executed before the
  completion window expired."}``;
- the output file (purpose ``batch_output``) has a line per request answered with a 2xx:
  ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``;
  the error file has the other requests' lines (``response`` with the error body, or
  ``response: null`` and ``error``). ``request_counts`` counts them (completed, failed).

Each request runs as the live endpoint runs it (``OpenAIApi.generation``: IAM authorization,
token quotas and metering, the model) with the key that created the batch, ``concurrency``
at a time across all batches. A request refused for a moment (429: request rate, token quota,
a full queue; 503 model_not_ready) waits and is tried again (``RETRIES``), as a batch takes
longer rather than failing; its last answer stands.

Batches are kept in ``<data_dir>/openai/batches.json`` (written whole, tmp + os.replace). A
batch still running when the server stops is marked ``failed`` at the next start (one that
was cancelling: ``cancelled``): its runner does not survive the server, as Bedrock's batch
jobs (``emulator.compute.invocation_jobs``). Settings (``[emulator]`` of the TOML file, ours):
``openai_batch_concurrency`` (2), ``openai_batch_window_seconds`` (86400: the ``24h`` window).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator.compute.invocation_jobs import cancel_tasks
from emulator.compute.openai_files import (
    EXPIRY_RANGE,
    after_cursor,
    list_limit,
    not_found,
    page,
)
from emulator.compute.openai_params import ApiError, _json, json_body
from emulator.compute.openai_params import metadata_param as _metadata
from emulator.context import Principal, RequestContext
from emulator.durable import read_json, write_json
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.compute.openai_files import FilesApi
    from emulator.compute.openai_routes import OpenAIApi

log = logging.getLogger("emulator.compute.openai_batches")

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")
ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
MAX_REQUESTS = 50_000  # "The file can contain up to 50,000 requests"
MAX_INPUT_BYTES = 200 * 1024 * 1024  # "and can be up to 200 MB in size"
MAX_EMBEDDING_INPUTS = 50_000  # "/v1/embeddings batches are also restricted to a maximum of 50,000 embedding inputs"
LIST_LIMIT = (1, 100)
LIST_DEFAULT = 20
RETRIES = 5  # ours: a request refused for a moment is tried again this many times
MAX_ERRORS = 100  # ours: validation errors listed at most
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
RESTARTED = "The server stopped while the batch was running; its runner does not survive a restart. Create the batch again."  # ours


@dataclass
class Batch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    created_at: int
    expires_at: int
    owner: str  # the access key id of the creator
    metadata: dict[str, str] | None = None
    output_expires_seconds: int | None = None
    status: str = "validating"
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seq: int = 0

    def doc(self) -> dict[str, Any]:
        stamps = ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at")
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint, "model": self.model,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id, "completion_window": self.completion_window, "status": self.status,
            "output_file_id": self.output_file_id, "error_file_id": self.error_file_id, "created_at": self.created_at,
            **{name: getattr(self, name) for name in stamps}, "expires_at": self.expires_at,
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
            "usage": {"input_tokens": self.input_tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": self.output_tokens,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": self.input_tokens + self.output_tokens},
            "metadata": self.metadata,
        }


@dataclass
class Line:
    n: int  # the line number in the input file, from 1
    custom_id: str
    body: dict[str, Any]


@dataclass
class Outcome:
    ok: bool
    doc: dict[str, Any] = field(default_factory=dict)


def _line_error(n: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": n}


def _check_line(n: int, text: str, endpoint: str) -> Line | dict[str, Any]:
    """One input line as a request, or the error that names it. Codes and wording: OpenAI's
    where its guide shows them (invalid_json_line, duplicate_custom_id), else ours."""
    try:
        doc = json.loads(text)
    except ValueError:
        return _line_error(n, "invalid_json_line", "This line is not parseable as valid JSON.")
    if not isinstance(doc, dict):
        return _line_error(n, "invalid_json_line", "This line is not a JSON object.")
    for name in ("custom_id", "method", "url", "body"):
        if name not in doc:
            return _line_error(n, "missing_required_parameter", f"Missing required parameter: '{name}'.", name)
    if not isinstance(doc["custom_id"], str):
        return _line_error(n, "invalid_type", "Invalid type for 'custom_id': expected a string.", "custom_id")
    if doc["method"] != "POST":
        return _line_error(n, "invalid_value", f"Invalid value: '{doc['method']}'. Supported values are: 'POST'.", "method")
    if doc["url"] != endpoint:
        return _line_error(n, "invalid_url", f"The URL provided for this request does not match the batch endpoint '{endpoint}'.", "url")
    body = doc["body"]
    if not isinstance(body, dict):
        return _line_error(n, "invalid_type", "Invalid type for 'body': expected an object.", "body")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _line_error(n, "missing_required_parameter", "Missing required parameter: 'body.model'.", "body.model")
    return Line(n, doc["custom_id"], body)


def parse_input(data: bytes, endpoint: str) -> tuple[list[Line], list[dict[str, Any]]]:
    """The input file's requests and the errors that fail the batch (none: it may run)."""
    lines: list[Line] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: str | None = None
    # Lines end at \n only: a JSON string may hold U+2028, which str.splitlines() splits at.
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append(_line_error(n, "invalid_json_line", "This line is not valid UTF-8."))
            continue
        found = _check_line(n, text, endpoint)
        if isinstance(found, dict):
            errors.append(found)
            continue
        if found.custom_id in seen:
            errors.append(_line_error(n, "duplicate_custom_id", "The custom_id for this request is a duplicate of another request. "
                                      "The custom_id parameter must be unique for each individual request in a batch.", "custom_id"))
            continue
        seen.add(found.custom_id)
        model = model or found.body["model"]
        if found.body["model"] != model:
            errors.append(_line_error(n, "mismatched_model", f"The model '{found.body['model']}' does not match the model '{model}' of the "
                                      "other requests in this batch: each input file can only include requests to a single model.", "body.model"))
            continue
        lines.append(found)
    if not lines and not errors:
        errors.append(_line_error(1, "empty_file", "The batch input file is empty."))  # ours
    if len(lines) > MAX_REQUESTS:
        errors.append(_line_error(MAX_REQUESTS + 1, "too_many_requests", f"The batch input file has {len(lines)} requests; the limit is {MAX_REQUESTS}."))
    if endpoint == "/v1/embeddings":
        count = sum(len(x) if isinstance(x := line.body.get("input"), list) else 1 for line in lines)
        if count > MAX_EMBEDDING_INPUTS:
            errors.append(_line_error(1, "too_many_inputs", f"The batch has {count} embedding inputs; the limit is {MAX_EMBEDDING_INPUTS}."))
    return lines, errors[:MAX_ERRORS]


class BatchStore:
    """Every batch of the server, saved whole to one JSON file on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches: dict[str, Batch] = {}

    def load(self) -> None:
        for item in read_json(self.path, {}, "OpenAI batches").get("batches", []):
            with contextlib.suppress(TypeError):
                batch = Batch(**item)
                self.batches[batch.id] = batch

    def save(self) -> None:
        write_json(self.path, {"batches": [asdict(b) for b in self.batches.values()]})


def _transient(response: Response) -> bool:
    """Refused for a moment: a 429 that says when to come back (request rate, token quota, a full
    queue; not a request larger than the quota), or the model still loading."""
    if response.status == 429:
        return "retry-after" in response.headers
    if response.status == 503:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            return bool(orjson.loads(response.body)["error"]["code"] == "model_not_ready")
    return False


def _usage(body: Any) -> tuple[int, int]:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    tokens_in = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    tokens_out = usage.get("completion_tokens", usage.get("output_tokens", 0))
    return int(tokens_in or 0), int(tokens_out or 0)


class BatchesApi:
    """The ``/v1/batches`` routes, the batch store and the runners (asyncio tasks of the server's loop)."""

    def __init__(self, api: OpenAIApi, files: FilesApi) -> None:
        self.api = api
        self.files = files
        settings = api.runtime.settings
        self.store = BatchStore(Path(settings.data_dir) / "openai" / "batches.json")
        self.concurrency = max(1, int(settings.extra.get("openai_batch_concurrency", 2)))
        self.window_seconds = int(settings.extra.get("openai_batch_window_seconds", 24 * 3600))
        self._gate = asyncio.Semaphore(self.concurrency)
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._load()

    def _load(self) -> None:
        """The batches; one still active was cut off by the server's stop (module docstring)."""
        self.store.load()
        stale = [b for b in self.store.batches.values() if b.status in ACTIVE]
        now = int(time.time())
        for batch in stale:
            log.info("OpenAI batch %s was %s when the server stopped", batch.id, batch.status)
            if batch.status == "cancelling":
                batch.status, batch.cancelled_at = "cancelled", now
            else:
                batch.status, batch.failed_at = "failed", now
                batch.errors = [{"code": "server_restarted", "message": RESTARTED, "param": None, "line": None}]
        if stale:
            self.store.save()

    async def reset(self) -> None:
        """Forget every batch, stopping the runners."""
        await cancel_tasks(list(self._runners.values()))
        self._runners.clear()
        self.store.batches.clear()
        self.store.save()

    # ------------------------------------------------------------ routes
    async def handle(self, request: Request, path: str, ctx: RequestContext) -> Response:
        parts = path.split("/")[3:]  # after "", "v1", "batches"
        method = request.method
        if not parts and method == "POST":
            return await self.create(request, ctx)
        if not parts and method == "GET":
            return self.list_all(request)
        if len(parts) == 1 and method == "GET":
            return _json(200, self.stored(parts[0]).doc())
        if len(parts) == 2 and parts[1] == "cancel" and method == "POST":
            return self.cancel(self.stored(parts[0]))
        raise ApiError(404, f"Invalid URL ({method} {request.path})")

    def stored(self, batch_id: str) -> Batch:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")  # ours
        return batch

    def list_all(self, request: Request) -> Response:
        limit = list_limit(request, *LIST_LIMIT, LIST_DEFAULT)
        docs = [b.doc() for b in sorted(self.store.batches.values(), key=lambda b: b.seq, reverse=True)]
        return _json(200, page(after_cursor(docs, request.query_one("after"), "batch"), limit))

    async def create(self, request: Request, ctx: RequestContext) -> Response:
        body = self._create_body(request)
        input_file = self.files.store.get(body["input_file_id"])
        if input_file is None:
            raise not_found(body["input_file_id"], "input_file_id")
        if input_file.purpose != "batch":
            raise ApiError(400, f"The input file {input_file.id} has purpose '{input_file.purpose}'; a batch's input file needs purpose 'batch'.",
                           param="input_file_id", code="invalid_value")  # ours
        if input_file.bytes > MAX_INPUT_BYTES:
            raise ApiError(400, f"The input file is {input_file.bytes} bytes; a batch's input file can be up to {MAX_INPUT_BYTES} bytes.",
                           param="input_file_id", code="invalid_value")  # ours
        now = int(time.time())
        principal = ctx.principal
        assert principal is not None  # authenticated (OpenAIApi.handle)
        batch = Batch(
            id="batch_" + uuid.uuid4().hex, endpoint=body["endpoint"], input_file_id=input_file.id, completion_window="24h",
            created_at=now, expires_at=now + self.window_seconds, owner=principal.access_key_id, metadata=body.get("metadata"),
            output_expires_seconds=body.get("output_expires_seconds"),
            seq=max((b.seq for b in self.store.batches.values()), default=0) + 1,
        )
        self.store.batches[batch.id] = batch
        try:
            self.store.save()
        except BaseException:  # not saved: not created (the request fails)
            self.store.batches.pop(batch.id, None)
            raise
        task = asyncio.get_running_loop().create_task(self._run(batch, principal), name=f"openai-batch-{batch.id}")
        self._runners[batch.id] = task
        task.add_done_callback(lambda t: self._runners.pop(batch.id, None) if self._runners.get(batch.id) is t else None)
        return _json(200, batch.doc())

    def _create_body(self, request: Request) -> dict[str, Any]:
        body = json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "The JSON body of your request must be an object.", code="invalid_json")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise ApiError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
        if body["endpoint"] not in ENDPOINTS:
            shown = ", ".join(f"'{e}'" for e in ENDPOINTS)
            raise ApiError(400, f"Invalid value: '{body['endpoint']}'. Supported values are: {shown}.", param="endpoint", code="invalid_value")
        if body["completion_window"] != "24h":
            raise ApiError(400, f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.", param="completion_window",
                           code="invalid_value")
        body["metadata"] = _metadata(body.get("metadata"))
        body["output_expires_seconds"] = _output_expiry(body.get("output_expires_after"))
        return body

    def cancel(self, batch: Batch) -> Response:
        if batch.status in ("cancelling", "cancelled"):
            return _json(200, batch.doc())
        if batch.status not in ("validating", "in_progress"):
            raise ApiError(409, f"Cannot cancel a batch with status '{batch.status}'.", code="batch_not_cancellable")  # ours
        batch.status, batch.cancelling_at = "cancelling", int(time.time())
        if batch.id not in self._runners:  # nothing runs it: nothing to wait for
            batch.status, batch.cancelled_at = "cancelled", int(time.time())
        self.store.save()
        return _json(200, batch.doc())

    # ------------------------------------------------------------ the runner
    async def _run(self, batch: Batch, principal: Principal) -> None:
        try:
            lines = await self._validate(batch)
            if lines is None:
                return
            if batch.status == "validating":
                batch.status, batch.in_progress_at = "in_progress", int(time.time())
                self.store.save()
            outcomes = await self._process(batch, lines, principal)
            await self._finish(batch, lines, outcomes)
        except asyncio.CancelledError:
            raise  # reset, shutdown
        except Exception as exc:  # noqa: BLE001 - the disk full, a file removed under it
            log.warning("OpenAI batch %s failed: %r", batch.id, exc)
            self._fail(batch, [{"code": "server_error", "message": f"The batch could not be processed: {exc}", "param": None, "line": None}])

    def _fail(self, batch: Batch, errors: list[dict[str, Any]]) -> None:
        batch.status, batch.failed_at, batch.errors = "failed", int(time.time()), errors
        self.store.save()

    async def _validate(self, batch: Batch) -> list[Line] | None:
        f = self.files.store.get(batch.input_file_id)
        if f is None:
            self._fail(batch, [{"code": "file_not_found", "message": f"No such File object: {batch.input_file_id}", "param": "input_file_id", "line": None}])
            return None
        lines, errors = parse_input(await self.files.store.read(f), batch.endpoint)
        if errors:
            self._fail(batch, errors)
            return None
        batch.total = len(lines)
        batch.model = lines[0].body["model"]
        return lines

    async def _process(self, batch: Batch, lines: list[Line], principal: Principal) -> dict[int, Outcome]:
        """Run the requests, ``concurrency`` at a time across batches, until done, cancelled or expired."""
        outcomes: dict[int, Outcome] = {}
        pending = iter(range(len(lines)))

        async def worker() -> None:
            for i in pending:
                if batch.status != "in_progress" or time.time() >= batch.expires_at:
                    return
                async with self._gate:
                    outcome = await self._request(batch, lines[i], principal)
                if outcome is None:
                    return  # cancelled or expired while it waited to be tried again: not run
                outcomes[i] = outcome
                if outcome.ok:
                    batch.completed += 1
                else:
                    batch.failed += 1

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(lines)))))
        return outcomes

    async def _request(self, batch: Batch, line: Line, principal: Principal) -> Outcome | None:
        """One request through the live endpoint's code, as the creator's key; its output line
        (None: the batch was cancelled or expired while the request waited to be tried again)."""
        request_id = "req_" + uuid.uuid4().hex
        path = batch.endpoint
        delay = 1.0
        response = Response()
        for attempt in range(RETRIES + 1):
            ctx = RequestContext(request_id=request_id, request=Request("POST", path, path, "", {}, b""), principal=principal,
                                 region=self.api.runtime.settings.region, account_id=principal.account_id)
            ctx.service_name = "openai"
            response = await self._call(path, line.body, ctx)
            if not _transient(response) or attempt == RETRIES:
                break
            await asyncio.sleep(min(float(response.headers.get("retry-after") or delay), 30.0))
            delay = min(delay * 2, 30.0)
            if batch.status != "in_progress" or time.time() >= batch.expires_at:
                return None
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            body = {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}}
        ok = 200 <= response.status < 300
        if ok:
            tokens_in, tokens_out = _usage(body)
            batch.input_tokens += tokens_in
            batch.output_tokens += tokens_out
        return Outcome(ok, {"id": "batch_req_" + uuid.uuid4().hex, "custom_id": line.custom_id,
                            "response": {"status_code": response.status, "request_id": request_id, "body": body}, "error": None})

    async def _call(self, path: str, body: dict[str, Any], ctx: RequestContext) -> Response:
        try:
            if body.get("stream"):
                raise ApiError(400, "Streaming is not supported in a batch: leave 'stream' out of the request body.", param="stream",
                               code="unsupported_parameter")  # ours
            return await self.api.generation(path, self.api.checked_body(dict(body)), ctx)
        except ApiError as err:
            return err.response()
        except Exception as exc:  # noqa: BLE001 - one request's failure is its line's, not the batch's
            log.warning("OpenAI batch request failed: %r", exc)
            return ApiError(500, "The server had an error while processing your request.", type_="server_error").response()

    async def _finish(self, batch: Batch, lines: list[Line], outcomes: dict[int, Outcome]) -> None:
        """Write the output and error files; the batch ends completed, cancelled or expired."""
        now = int(time.time())
        if batch.status == "cancelling":
            end = "cancelled"
        elif len(outcomes) < len(lines):
            end = "expired"
            for i, line in enumerate(lines):
                if i not in outcomes:
                    outcomes[i] = Outcome(False, {"id": "batch_req_" + uuid.uuid4().hex, "custom_id": line.custom_id, "response": None,
                                                  "error": {"code": "batch_expired", "message": EXPIRED_MESSAGE}})
                    batch.failed += 1
        else:
            end = "completed"
            batch.status, batch.finalizing_at = "finalizing", now
            self.store.save()
        ordered = [outcomes[i] for i in sorted(outcomes)]
        expires = None if batch.output_expires_seconds is None else now + batch.output_expires_seconds
        ok = [o.doc for o in ordered if o.ok]
        failed = [o.doc for o in ordered if not o.ok]
        if ok:
            batch.output_file_id = (await self.files.add_output(_jsonl(ok), f"{batch.id}_output.jsonl", expires)).id
        if failed:
            batch.error_file_id = (await self.files.add_output(_jsonl(failed), f"{batch.id}_error.jsonl", expires)).id
        batch.status = end
        setattr(batch, f"{end}_at", int(time.time()))
        self.store.save()


def _jsonl(docs: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def _output_expiry(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("anchor") != "created_at":
        raise ApiError(400, "Invalid 'output_expires_after': expected {'anchor': 'created_at', 'seconds': <int>}.", param="output_expires_after",
                       code="invalid_value")
    seconds = value.get("seconds")
    lo, hi = EXPIRY_RANGE
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not lo <= seconds <= hi:
        raise ApiError(400, f"Invalid 'output_expires_after.seconds': expected an integer between {lo} and {hi}.", param="output_expires_after.seconds",
                       code="invalid_value")
    return seconds
