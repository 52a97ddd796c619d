"""Bedrock batch inference (model invocation jobs): the job store and the runner; no HTTP here
(the operations are ``emulator.handlers.bedrock_jobs``).

Input and output follow the Bedrock user guide ("Process multiple prompts with batch
inference": "Format and upload your batch inference data", "View the results of a batch
inference job"):

- the input ``s3Uri`` names one ``.jsonl`` object, or a prefix ("folder") whose ``.jsonl``
  objects are all read; each line is a record ``{"recordId": "...", "modelInput": {...}}``,
  ``modelInput`` being the body InvokeModel takes (or a Converse request for the
  ``Converse`` invocation type). A record without ``recordId`` gets one in the output
  ("If you omit the recordId field, Amazon Bedrock adds it in the output").
- each input file gives ``<output s3Uri>/<jobId>/<input file name>.out`` (the name relative
  to the input prefix), one line a record: ``{"recordId", "modelInput", "modelOutput"}``, or
  ``"error": {"errorCode": <HTTP status>, "errorMessage": "..."}`` instead of ``modelOutput``
  for a record that failed; and ``<output s3Uri>/<jobId>/manifest.json.out`` holds the counts
  (MANIFEST_FIELDS, the guide's names).

Statuses (botocore's ModelInvocationJobStatus and its documentation): Submitted ->
Validating (the input is read and its records counted) -> Scheduled (waiting for a free job
slot: ``concurrent_jobs`` run at a time, the local model being the bottleneck) -> InProgress
-> Completed, PartiallyCompleted, Failed; Stop: Stopping -> Stopped; Expired: still waiting
when ``jobExpirationTime`` (submit time + timeoutDurationInHours) came. A job InProgress at
that time ends PartiallyCompleted ("Not all of your records could be processed in time").

Records run one window of ``concurrency`` records at a time, through the caller's invoker
(the InvokeModel or Converse code path of Bedrock Runtime); S3 is moto's (the fallback), read
and written holding its locks (``fallback.change``), as ``emulator.monitoring.logs_exports``.

Jobs are kept in one JSON file (``<data_dir>/compute/invocation-jobs.json``, written whole,
tmp + os.replace). A job found active when the server starts is marked Failed: a runner
does not survive the server, and running it again would need the caller's identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import posixpath
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from emulator.durable import read_json, write_json
from emulator.errors import AwsError

log = logging.getLogger("emulator.compute.invocation_jobs")
T = TypeVar("T")

STATUSES = ("Submitted", "InProgress", "Completed", "Failed", "Stopping", "Stopped", "PartiallyCompleted", "Expired",
            "Validating", "Scheduled")  # botocore's enum, in its order
ACTIVE = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
STOPPABLE = ("Submitted", "Validating", "Scheduled", "InProgress")
DEFAULT_TIMEOUT_HOURS = 24  # ours: the smallest value the API takes (ModelInvocationJobTimeoutDurationInHours, 24..168)
# manifest.json.out: the user guide's field names ("View the results of a batch inference job").
MANIFEST_FIELDS = ("totalRecordCount", "processedRecordCount", "successRecordCount", "errorRecordCount",
                   "inputTokenCount", "outputTokenCount")
MANIFEST_NAME = "manifest.json.out"
# Errors a record waits out and retries (the model loading, the key's token quota): a batch
# job takes longer rather than failing the record. Ours; every other error fails the record.
TRANSIENT = frozenset({"ThrottlingException", "ModelNotReadyException"})
RETRIES = 5

# The messages are ours (AWS's wording for these is not documented).
RESTARTED = "The emulator stopped while the job was active; its runner does not survive a restart. Submit the job again."
PARTIAL_TIME = "Not all of your records could be processed in time (timeoutDurationInHours)."

# (modelInput) -> (modelOutput, input tokens, output tokens); raises AwsError for a failed record.
Invoker = Callable[[Any], Awaitable[tuple[Any, int, int]]]


def new_job_id() -> str:
    """12 characters of [a-z0-9], as botocore's ModelInvocationJobArn pattern has them."""
    return uuid.uuid4().hex[:12]


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> (bucket, "some/key")."""
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    return bucket, key


def now() -> float:
    """The time in seconds, to the millisecond: what the API shows of it (iso8601 with
    milliseconds), so that a time read back filters as it is stored."""
    return time.time_ns() // 1_000_000 / 1000


def millis(ts: float) -> int:
    return round(ts * 1000)


def _stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass
class Job:
    job_id: str
    arn: str
    region: str
    name: str
    role_arn: str
    model_id: str
    input_config: dict[str, Any]
    output_config: dict[str, Any]
    submit_time: float
    timeout_hours: int
    invocation_type: str | None = None
    vpc_config: dict[str, Any] | None = None
    client_token: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "Submitted"
    message: str | None = None
    last_modified: float = 0.0
    end_time: float | None = None
    total: int | None = None
    processed: int = 0
    success: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seq: int = 0  # creation order (submit times may be equal to the millisecond)

    @property
    def expiration(self) -> float:
        return self.submit_time + self.timeout_hours * 3600

    def describe(self) -> dict[str, Any]:
        """GetModelInvocationJob's output (and a ListModelInvocationJobs summary: the same members)."""
        out: dict[str, Any] = {"jobArn": self.arn, "jobName": self.name, "modelId": self.model_id}
        if self.client_token:
            out["clientRequestToken"] = self.client_token
        out.update(roleArn=self.role_arn, status=self.status)
        if self.message:
            out["message"] = self.message
        out.update(submitTime=_stamp(self.submit_time), lastModifiedTime=_stamp(self.last_modified or self.submit_time))
        if self.end_time is not None:
            out["endTime"] = _stamp(self.end_time)
        out.update(inputDataConfig=self.input_config, outputDataConfig=self.output_config)
        if self.vpc_config:
            out["vpcConfig"] = self.vpc_config
        out.update(timeoutDurationInHours=self.timeout_hours, jobExpirationTime=_stamp(self.expiration))
        if self.invocation_type:
            out["modelInvocationType"] = self.invocation_type
        if self.total is not None:  # known once the input is validated
            out.update(totalRecordCount=self.total, processedRecordCount=self.processed,
                       successRecordCount=self.success, errorRecordCount=self.errors)
        return out

    def manifest(self) -> dict[str, int]:
        return dict(zip(MANIFEST_FIELDS, (self.total or 0, self.processed, self.success, self.errors,
                                          self.input_tokens, self.output_tokens), strict=True))


class JobStore:
    """Every job of the server, by id, saved whole to one JSON file on each change."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        if self.path is None:
            return
        for item in read_json(self.path, {}, "invocation jobs").get("jobs", []):
            try:
                job = Job(**item)
            except TypeError:
                continue
            self.jobs[job.job_id] = job

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            write_json(self.path, {"jobs": [asdict(j) for j in self.jobs.values()]})


class JobFailed(Exception):
    """The job cannot run (its input or output location); the message is the job's."""


@dataclass
class Record:
    record_id: str
    model_input: Any = None
    error: tuple[int, str] | None = None  # a line that is not a record: (errorCode, errorMessage)
    has_input: bool = True

    def line(self, output: Any = None, error: tuple[int, str] | None = None) -> bytes:
        doc: dict[str, Any] = {"recordId": self.record_id}
        if self.has_input:
            doc["modelInput"] = self.model_input
        err = error or self.error
        if err is not None:
            doc["error"] = {"errorCode": err[0], "errorMessage": err[1]}
        else:
            doc["modelOutput"] = output
        return json.dumps(doc, ensure_ascii=False).encode() + b"\n"


def _record_id(key: str, n: int) -> str:
    """The id given to a record without one: 11 characters, as the guide's examples have them
    ("11 character alphanumeric string"); from the file and the line, so stable. Ours."""
    digits = ""
    for _ in range(6):
        n, d = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
    return f"{zlib.crc32(key.encode()):08X}"[:5] + digits


def parse_record(line: str, key: str, n: int) -> Record:
    """Line ``n`` (from 1) of input ``key``. A line that is not a JSON object with a
    ``modelInput`` is a failed record (errorCode 400), not a failed job. Messages ours."""
    try:
        doc = json.loads(line)
    except ValueError:
        return Record(_record_id(key, n), error=(400, f"Line {n} is not valid JSON."), has_input=False)
    if not isinstance(doc, dict):
        return Record(_record_id(key, n), error=(400, f"Line {n} is not a JSON object."), has_input=False)
    rid = doc.get("recordId")
    rid = rid if isinstance(rid, str) and rid else _record_id(key, n)
    if "modelInput" not in doc:
        return Record(rid, error=(400, f"Line {n} has no modelInput."), has_input=False)
    if not isinstance(doc["modelInput"], dict):
        return Record(rid, doc["modelInput"], error=(400, "modelInput must be a JSON object."))
    return Record(rid, doc["modelInput"])


@dataclass
class InputFile:
    key: str
    name: str  # relative to the input prefix: the output object is <name>.out
    records: list[Record]


class S3Objects:
    """moto's S3 (the fallback): read and written holding its locks (``fallback.change``)."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    async def _locked(self, fn: Callable[[], T], write: bool) -> T:
        if self.fallback is None or not self.fallback.supports("s3"):
            raise JobFailed("S3 is not served by this emulator (its fallback is off).")  # ours
        out: T = await self.fallback.change("s3", fn, write=write)
        return out

    def _bucket(self, name: str) -> Any:
        found = self.fallback.backend("s3", "global").buckets.get(name)
        if found is None:
            raise JobFailed(f"The S3 bucket {name} does not exist.")  # ours
        return found

    def _input_objects(self, uri: str) -> list[tuple[str, str, bytes]]:
        """(key, name relative to the prefix, body) of each input object."""
        from moto.s3.models import FakeKey

        bucket_name, key = parse_s3_uri(uri)
        bucket = self._bucket(bucket_name)
        if key and not key.endswith("/") and isinstance(bucket.keys.get(key), FakeKey):
            return [(key, posixpath.basename(key), bytes(bucket.keys.get(key).value))]
        prefix = key if not key or key.endswith("/") else key + "/"
        found = []
        for name in sorted(bucket.keys):
            obj = bucket.keys.get(name)
            if name.startswith(prefix) and name.endswith(".jsonl") and isinstance(obj, FakeKey):
                found.append((name, name[len(prefix):], bytes(obj.value)))
        return found

    async def read_inputs(self, uri: str) -> list[InputFile]:
        """The input files' records: one object, or every ``.jsonl`` object under the prefix."""
        found = await self._locked(lambda: self._input_objects(uri), write=False)
        if not found:
            raise JobFailed(f"No .jsonl input file was found at {uri}.")  # ours
        files = []
        for key, name, body in found:
            # Lines end at \n only: a JSON string may hold U+2028, which str.splitlines() splits at.
            lines = [ln for ln in body.decode("utf-8", errors="replace").split("\n") if ln.strip()]
            files.append(InputFile(key, name, [parse_record(ln, key, n) for n, ln in enumerate(lines, 1)]))
        return files

    async def check_bucket(self, uri: str) -> None:
        bucket = parse_s3_uri(uri)[0]
        await self._locked(lambda: self._bucket(bucket), write=False)

    async def write(self, uri: str, body: bytes, kms_key: str | None = None) -> None:
        bucket, key = parse_s3_uri(uri)

        def put() -> None:
            self._bucket(bucket)
            self.fallback.backend("s3", "global").put_object(bucket, key, body, encryption="aws:kms" if kms_key else None,
                                                             kms_key_id=kms_key)

        await self._locked(put, write=True)


async def cancel_tasks(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the runners and wait until each has ended (what it raised is its own affair)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def output_uri(job: Job, name: str) -> str:
    base = job.output_config["s3OutputDataConfig"]["s3Uri"].rstrip("/")
    return f"{base}/{job.job_id}/{name}"


class InvocationJobs:
    """The jobs of one server and their runners (asyncio tasks of the server's loop)."""

    def __init__(self, path: Path | None, fallback: Any, *, min_records: int = 1, concurrency: int = 2,
                 concurrent_jobs: int = 1) -> None:
        self.store = JobStore(path)
        self.s3 = S3Objects(fallback)
        self.min_records = max(0, int(min_records))
        self.concurrency = max(1, int(concurrency))
        self._slots = asyncio.Semaphore(max(1, int(concurrent_jobs)))
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._inflight: dict[str, list[asyncio.Task[tuple[Any, int, int]]]] = {}

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load the jobs; one still active was cut off by the server's stop: Failed (Stopped
        if it was being stopped; its output is what the runner had written)."""
        self.store.load()
        stale = [j for j in self.store.jobs.values() if j.status in ACTIVE]
        for job in stale:
            log.info("invocation job %s was %s when the server stopped", job.job_id, job.status)
            if job.status == "Stopping":
                self._end(job, "Stopped", None, save=False)
            else:
                self._end(job, "Failed", RESTARTED, save=False)
        if stale:
            self.store.save()

    async def shutdown(self) -> None:
        """Server shutdown: the runners stop where they are (the jobs fail on the next start)."""
        await self._cancel_all()

    async def reset(self) -> None:
        """Forget every job, cancelling the runners (objects already written stay in S3)."""
        await self._cancel_all()
        self.store.jobs.clear()
        self.store.save()

    async def _cancel_all(self) -> None:
        await cancel_tasks(list(self._runners.values()))
        self._runners.clear()
        self._inflight.clear()

    # ------------------------------------------------------------ the API's needs
    def add(self, job: Job, invoke: Invoker) -> None:
        job.last_modified = job.submit_time
        job.seq = max((j.seq for j in self.store.jobs.values()), default=0) + 1
        self.store.jobs[job.job_id] = job
        try:
            self.store.save()
        except BaseException:  # not saved: not created (the request fails)
            self.store.jobs.pop(job.job_id, None)
            raise
        task = asyncio.get_running_loop().create_task(self._run(job, invoke), name=f"invocation-job-{job.job_id}")
        self._runners[job.job_id] = task
        task.add_done_callback(lambda t: self._runners.pop(job.job_id, None) if self._runners.get(job.job_id) is t else None)

    def by_token(self, region: str, token: str) -> Job | None:
        return next((j for j in self.store.jobs.values() if j.region == region and j.client_token == token), None)

    def stop(self, job: Job) -> None:
        """Stop an active job: one InProgress becomes Stopping, its records in flight are
        cancelled and the runner writes what was done, then Stopped; one not started yet has
        written nothing and is Stopped at once."""
        if job.status == "InProgress":
            self._set(job, "Stopping")
            for task in self._inflight.get(job.job_id, []):
                task.cancel()
            return
        runner = self._runners.pop(job.job_id, None)
        if runner is not None:
            runner.cancel()
        self._end(job, "Stopped", None)

    # ------------------------------------------------------------ state
    def _set(self, job: Job, status: str) -> None:
        job.status = status
        job.last_modified = now()
        self.store.save()

    def _end(self, job: Job, status: str, message: str | None, save: bool = True) -> None:
        job.status = status
        job.message = message
        job.end_time = job.last_modified = now()
        if save:
            self.store.save()

    # ------------------------------------------------------------ the runner
    async def _run(self, job: Job, invoke: Invoker) -> None:
        try:
            self._set(job, "Validating")
            files = await self._validate(job)
            if files is None:
                return
            self._set(job, "Scheduled")
            if not await self._wait_slot(job):
                return
            try:
                if job.status != "Scheduled":  # stopped as the slot came
                    return
                self._set(job, "InProgress")
                await self._process(job, files, invoke)
            finally:
                self._slots.release()
        except asyncio.CancelledError:
            raise  # Stop before the job started, reset, shutdown
        except Exception as exc:  # noqa: BLE001 - the output bucket deleted meanwhile, the disk full
            log.warning("invocation job %s failed: %s", job.job_id, exc)
            self._end(job, "Failed", str(exc) or type(exc).__name__)
        finally:
            self._inflight.pop(job.job_id, None)

    async def _validate(self, job: Job) -> list[InputFile] | None:
        """Read the input (Validating): its files and records, the output bucket, the quota."""
        account = job.arn.split(":")[4]
        try:
            for config in (job.input_config.get("s3InputDataConfig") or {}, job.output_config.get("s3OutputDataConfig") or {}):
                owner = config.get("s3BucketOwner")
                if owner and owner != account:  # ours: the bucket would be another account's, which this endpoint has not
                    raise JobFailed(f"The S3 bucket of {config['s3Uri']} is not owned by account {owner}.")
            files = await self.s3.read_inputs(job.input_config["s3InputDataConfig"]["s3Uri"])
            await self.s3.check_bucket(job.output_config["s3OutputDataConfig"]["s3Uri"])
        except JobFailed as exc:
            self._end(job, "Failed", str(exc))
            return None
        job.total = sum(len(f.records) for f in files)
        if job.total < self.min_records:
            # Ours: AWS's quota "Minimum number of records per batch inference job" (Service Quotas).
            self._end(job, "Failed", f"The input has {job.total} records; a batch inference job needs at least {self.min_records} "
                                     "(the quota 'Minimum number of records per batch inference job').")
            return None
        return files

    async def _wait_slot(self, job: Job) -> bool:
        """Scheduled until a job slot is free; Expired when the job's timeout comes first."""
        remaining = job.expiration - now()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                await self._slots.acquire()
        except TimeoutError:
            self._end(job, "Expired", None)
            return False
        return True

    async def _process(self, job: Job, files: list[InputFile], invoke: Invoker) -> None:
        kms = job.output_config["s3OutputDataConfig"].get("s3EncryptionKeyId")
        for f in files:
            lines: list[bytes] = []
            cut = await self._process_file(job, f, invoke, lines)
            if lines or not cut:
                await self.s3.write(output_uri(job, f.name + ".out"), b"".join(lines), kms)
            if cut:
                break
        await self.s3.write(output_uri(job, MANIFEST_NAME), json.dumps(job.manifest()).encode() + b"\n", kms)
        if job.status == "Stopping":
            self._end(job, "Stopped", None)
        elif job.processed < (job.total or 0):
            self._end(job, "PartiallyCompleted", PARTIAL_TIME)
        elif job.errors == 0:
            self._end(job, "Completed", None)
        elif job.success == 0:  # ours
            self._end(job, "Failed", f"All {job.errors} records failed: each record's error is in the output files.")
        else:  # ours
            self._end(job, "PartiallyCompleted", f"{job.errors} of {job.total} records failed: each record's error is in the output files.")

    async def _process_file(self, job: Job, f: InputFile, invoke: Invoker, lines: list[bytes]) -> bool:
        """Run the file's records a window at a time; True when cut short (Stop, timeout)."""
        i = 0
        while i < len(f.records):
            if job.status == "Stopping" or now() >= job.expiration:
                return True
            window = f.records[i:i + self.concurrency]
            for record, outcome in zip(window, await self._window(job, window, invoke), strict=True):
                if outcome is None:
                    continue  # cancelled by Stop: not processed
                if isinstance(outcome, tuple) and len(outcome) == 2:
                    lines.append(record.line(error=outcome))
                    job.errors += 1
                else:
                    output, tokens_in, tokens_out = outcome
                    lines.append(record.line(output))
                    job.success += 1
                    job.input_tokens += tokens_in
                    job.output_tokens += tokens_out
                job.processed += 1
            i += len(window)
            job.last_modified = now()
            self.store.save()
        return False

    async def _window(self, job: Job, window: list[Record], invoke: Invoker) -> list[Any]:
        """Each record's outcome: (output, tokens in, tokens out), (errorCode, errorMessage), or
        None when Stop cancelled it."""
        tasks = {i: asyncio.get_running_loop().create_task(self._invoke(invoke, r.model_input))
                 for i, r in enumerate(window) if r.error is None}
        self._inflight[job.job_id] = list(tasks.values())
        try:
            done = await asyncio.gather(*tasks.values(), return_exceptions=True)
        finally:
            self._inflight.pop(job.job_id, None)
        results = dict(zip(tasks, done, strict=True))
        out: list[Any] = []
        for i, record in enumerate(window):
            res = results.get(i)
            if record.error is not None:
                out.append(record.error)
            elif isinstance(res, asyncio.CancelledError):
                out.append(None)
            elif isinstance(res, AwsError):
                out.append((res.status, res.message))
            elif isinstance(res, BaseException):
                log.warning("invocation job %s: record %s failed: %r", job.job_id, record.record_id, res)
                out.append((500, "Internal server error."))  # ours
            else:
                out.append(res)
        return out

    async def _invoke(self, invoke: Invoker, model_input: Any) -> tuple[Any, int, int]:
        delay = 1.0
        for attempt in range(RETRIES + 1):
            try:
                return await invoke(model_input)
            except AwsError as exc:
                if exc.code not in TRANSIENT or attempt == RETRIES:
                    raise
                wait = float(exc.headers.get("retry-after") or delay)
                await asyncio.sleep(min(wait, 30.0))
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")
