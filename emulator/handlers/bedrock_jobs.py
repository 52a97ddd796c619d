"""Bedrock batch inference: model invocation jobs (CreateModelInvocationJob,
GetModelInvocationJob, ListModelInvocationJobs, StopModelInvocationJob; a job's tags are kept
here too, for BedrockHandler's TagResource, UntagResource and ListTagsForResource).

The jobs and their runners are ``emulator.compute.invocation_jobs`` (statuses, input and
output formats there). Each record's ``modelInput`` goes through Bedrock Runtime's own code
path: InvokeModel's (``BedrockRuntimeHandler.invoke_body``) or, for the ``Converse``
invocation type, Converse's (the record checked against Converse's input shape first). The
records run as the caller who created the job (their key's token quotas), not as the job's
``roleArn``: the emulator does not assume the service role.

Settings (``[emulator]`` in the config file): ``bedrock_batch_min_records`` (default 1),
``bedrock_batch_concurrency`` (records in flight per job, default 2),
``bedrock_batch_concurrent_jobs`` (jobs InProgress at once, default 1; the others wait
Scheduled).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.compute.embeddings import is_embedding_model_id
from emulator.compute.inference import (
    Scope,
    UnknownModel,
    scoped_model_id,
    strip_profile,
)
from emulator.compute.invocation_jobs import (
    DEFAULT_TIMEOUT_HOURS,
    STOPPABLE,
    InvocationJobs,
    Invoker,
    Job,
    millis,
    new_job_id,
    now,
)
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.protocols.base import Request

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.handlers.bedrock_runtime import BedrockRuntimeHandler
    from emulator.runtime import Runtime

MAX_RESULTS = 1000  # ours when maxResults is omitted: the most the API takes (MaxResults, 1..1000)


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise _validation("The provided pagination token is invalid.") from None  # ours
    if not isinstance(offset, int) or offset < 0:
        raise _validation("The provided pagination token is invalid.")
    return offset


class InvocationJobOperations:
    compute: ComputeService
    runtime: Runtime
    _invocation_jobs: InvocationJobs | None = None
    _runtime_handler: BedrockRuntimeHandler | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def invocation_jobs(self) -> InvocationJobs:
        if self._invocation_jobs is None:
            settings = self.runtime.settings
            extra = settings.extra
            # AWS's quota "Minimum number of records per batch inference job" is 100 (adjustable);
            # here 1 by default: local development runs jobs of a few records.
            self._invocation_jobs = InvocationJobs(
                settings.data_dir / "compute" / "invocation-jobs.json", self.runtime.fallback,
                min_records=int(extra.get("bedrock_batch_min_records", 1)),
                concurrency=int(extra.get("bedrock_batch_concurrency", 2)),
                concurrent_jobs=int(extra.get("bedrock_batch_concurrent_jobs", 1)),
            )
        return self._invocation_jobs

    async def start_jobs(self) -> None:
        """Called when the server starts."""
        self.invocation_jobs.start()

    async def stop_jobs(self) -> None:
        """Called on shutdown."""
        if self._invocation_jobs is not None:
            await self._invocation_jobs.shutdown()

    async def reset_jobs(self) -> None:
        """Forget every job (POST /_emulator/reset)."""
        if self._invocation_jobs is not None:
            await self._invocation_jobs.reset()

    # ------------------------------------------------------------ records
    def _bedrock_runtime(self) -> BedrockRuntimeHandler:
        """The server's Bedrock Runtime handler, or one of our own when that service is off."""
        from emulator.handlers.bedrock_runtime import BedrockRuntimeHandler

        found = self.runtime.handlers.get("bedrock-runtime")
        if isinstance(found, BedrockRuntimeHandler):
            return found
        if self._runtime_handler is None:
            self._runtime_handler = BedrockRuntimeHandler(self.runtime)
        return self._runtime_handler

    def _invoker(self, ctx: RequestContext, model_id: str, kind: str) -> Invoker:
        principal, region, account = ctx.principal, ctx.region, ctx.account_id

        async def invoke(model_input: Any) -> tuple[Any, int, int]:
            rctx = _record_context(principal, region, account)
            handler = self._bedrock_runtime()
            if kind == "Converse":
                from emulator import services
                from emulator.gateway.validation import validate

                params = {**model_input, "modelId": model_id}
                op_model = services.operation_model("bedrock-runtime", "Converse")
                if op_model is not None:
                    validate(op_model, params, "rest-json")
                output: Any = await handler.converse(rctx, params)
            else:
                output = json.loads(await handler.invoke_body(rctx, model_id, json.dumps(model_input).encode()))
            return output, int(rctx.telemetry.get("input_tokens") or 0), int(rctx.telemetry.get("output_tokens") or 0)

        return invoke

    def _check_model(self, ctx: RequestContext, model_id: str) -> None:
        """A model the runtime can serve (a local model by name, image or Bedrock-style id, an
        instance, a Bedrock embedding id, through a profile of the request's Region: an
        application profile's ARN too, as botocore's ModelId pattern allows), else the runtime's
        error for an unknown model."""
        store = self.compute.store
        try:
            ident = scoped_model_id(self.compute, model_id, Scope(ctx.region, ctx.account_id))
        except UnknownModel:
            known = False
        else:
            if ident.startswith("i-"):
                known = self.compute.manager.get(ident) is not None
            else:
                known = store.get(ident) is not None or store.get(strip_profile(ident)) is not None or is_embedding_model_id(ident)
        if not known:
            from emulator.handlers.bedrock_runtime import map_error

            raise map_error(UnknownModel(model_id), model_id)

    def _find(self, ctx: RequestContext, ident: str) -> Job:
        job_id = ident.rsplit("/", 1)[-1]
        job = self.invocation_jobs.store.jobs.get(job_id)
        if job is None or job.region != ctx.region or (ident.startswith("arn:") and ident != job.arn):
            # ours: AWS's wording is not documented
            raise AwsError("ResourceNotFoundException", f"The model invocation job {ident} was not found.", 404)
        return job

    # ------------------------------------------------------------ operations
    @operation("CreateModelInvocationJob")
    async def create_model_invocation_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        jobs = self.invocation_jobs
        token = params.get("clientRequestToken")
        if token:
            # "If this token matches a previous request, Amazon Bedrock ignores the request, but
            # does not return an error" (botocore's documentation of clientRequestToken).
            previous = jobs.by_token(ctx.region, token)
            if previous is not None:
                return {"jobArn": previous.arn}
        input_config, output_config = params["inputDataConfig"], params["outputDataConfig"]
        if not input_config.get("s3InputDataConfig"):
            raise _validation("inputDataConfig must specify s3InputDataConfig.")  # ours: the union's only member
        if not output_config.get("s3OutputDataConfig"):
            raise _validation("outputDataConfig must specify s3OutputDataConfig.")  # ours
        model_id = params["modelId"]
        self._check_model(ctx, model_id)
        job_id = new_job_id()
        job = Job(
            job_id=job_id, arn=f"arn:aws:bedrock:{ctx.region}:{ctx.account_id}:model-invocation-job/{job_id}",
            region=ctx.region, name=params["jobName"], role_arn=params["roleArn"], model_id=model_id,
            input_config=input_config, output_config=output_config, submit_time=now(),
            timeout_hours=int(params.get("timeoutDurationInHours") or DEFAULT_TIMEOUT_HOURS),
            invocation_type=params.get("modelInvocationType"), vpc_config=params.get("vpcConfig"),
            client_token=token, tags=list(params.get("tags") or []),
        )
        jobs.add(job, self._invoker(ctx, model_id, params.get("modelInvocationType") or "InvokeModel"))
        return {"jobArn": job.arn}

    @operation("GetModelInvocationJob")
    async def get_model_invocation_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._find(ctx, params["jobIdentifier"]).describe()

    @operation("ListModelInvocationJobs")
    async def list_model_invocation_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # Compared to the millisecond, as the times are shown.
        after = millis(_epoch(params["submitTimeAfter"])) if params.get("submitTimeAfter") is not None else None
        before = millis(_epoch(params["submitTimeBefore"])) if params.get("submitTimeBefore") is not None else None
        status, name = params.get("statusEquals"), params.get("nameContains")
        found = [j for j in self.invocation_jobs.store.jobs.values()
                 if j.region == ctx.region and (after is None or millis(j.submit_time) > after)
                 and (before is None or millis(j.submit_time) < before)
                 and (status is None or j.status == status) and (name is None or name in j.name)]
        # sortBy has one value, CreationTime; sortOrder defaults to Descending (ours: the newest first).
        found.sort(key=lambda j: (j.submit_time, j.seq), reverse=params.get("sortOrder", "Descending") == "Descending")
        offset = _decode_token(params["nextToken"]) if params.get("nextToken") else 0
        limit = int(params.get("maxResults") or MAX_RESULTS)
        out: dict[str, Any] = {"invocationJobSummaries": [j.describe() for j in found[offset:offset + limit]]}
        if offset + limit < len(found):
            out["nextToken"] = _encode_token(offset + limit)
        return out

    @operation("StopModelInvocationJob")
    async def stop_model_invocation_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        job = self._find(ctx, params["jobIdentifier"])
        if job.status not in STOPPABLE:
            # ValidationException (one of the operation's documented errors; which one AWS gives
            # for a job that has ended is not documented) and the wording are ours.
            raise _validation(f"The model invocation job {job.job_id} is {job.status}: only a Submitted, Validating, "
                              "Scheduled or InProgress job can be stopped.")
        self.invocation_jobs.stop(job)
        return {}

    # ------------------------------------------------------------ a job's tags
    def job_tags(self, ctx: RequestContext, arn: str) -> tuple[list[dict[str, str]], Callable[[list[dict[str, str]]], None]] | None:
        """(the tags, a function that stores new ones) of the job an ARN names; None for an
        ARN of another kind of resource (BedrockHandler's tag operations)."""
        if ":model-invocation-job/" not in arn:
            return None
        job = self.invocation_jobs.store.jobs.get(arn.rsplit("/", 1)[-1])
        if job is None or job.arn != arn or job.region != ctx.region:
            raise AwsError("ResourceNotFoundException", f"Resource {arn} not found", 404)  # ours

        def store(tags: list[dict[str, str]]) -> None:
            job.tags = tags
            self.invocation_jobs.store.save()

        return list(job.tags), store


def _record_context(principal: Principal | None, region: str, account: str) -> RequestContext:
    """The context a record runs in: an in-process InvokeModel (or Converse) of the job's creator."""
    ctx = RequestContext(request_id=str(uuid.uuid4()), request=Request("POST", "/", "/", "", {}, b"", "127.0.0.1"))
    ctx.service_name, ctx.protocol = "bedrock-runtime", "internal"
    ctx.region, ctx.account_id, ctx.principal = region, account, principal
    return ctx
