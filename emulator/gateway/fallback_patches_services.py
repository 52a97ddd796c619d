"""moto's answers made AWS's where an SDK sees the difference (installed by
fallback_patches.install, after the other patches).

- EventBridge (``_events_target_input``, ``_events_bus_entries``): a target's ``Input`` (a
  constant) and ``InputPath`` (a part of the event) are what the target receives, and an event
  carries its ``account``; moto delivered the whole event, without ``account``, whatever the
  target said. A PutEvents entry naming an event bus that does not exist fails alone
  (FailedEntryCount, the entry's ErrorCode and ErrorMessage); moto failed the whole call after
  it had delivered the entries before it.
- Lambda (``_lambda_invoke``): a function that cannot run because Docker is missing answers as
  Lambda answers a function that fails to start, an unhandled function error whose payload is
  the JSON error; ``Event`` invocations answer 202 with no body and ``DryRun`` ones 204 without
  running the function.
- KMS (``_kms``): Decrypt with a KeyId that is not the ciphertext's key is
  ``IncorrectKeyException``; Encrypt, Decrypt and ReEncrypt answer their EncryptionAlgorithm;
  ScheduleKeyDeletion and CancelKeyDeletion name the key by its ARN, and ScheduleKeyDeletion
  answers KeyState and PendingWindowInDays.
- Secrets Manager (``_secretsmanager_messages``): error messages are Secrets Manager's, without
  the "An error occurred (...) when calling the ... operation:" of a botocore ClientError that
  moto copied into some of them, nor their runs of spaces.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from typing import Any

from emulator.errors import AwsError


def install() -> None:
    _events_target_input()
    _events_bus_entries()
    _lambda_invoke()
    _kms()
    _secretsmanager_messages()


# ------------------------------------------------------------------ EventBridge
# The event as EventBridge delivers it, its fields in EventBridge's order (the user guide's
# "Amazon EventBridge events": version, id, detail-type, source, account, time, region,
# resources, detail). moto's template had no "account".
_EVENT_TEMPLATE = ('{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", "account": "<account>", '
                   '"time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}')


def _events_target_input() -> None:
    """PutTargets' ``Input``: "Valid JSON text passed to the target. In this case, nothing from
    the event itself is passed to the target"; ``InputPath``: "The value of the JSONPath that is
    used for extracting part of the matched event when passing it to the target". moto ignored
    both and sent the whole event. Here the queues and log groups that moto delivers to receive
    the constant or the part (as JSON text); other targets are left to moto."""
    from jsonpath_ng.ext import parse as json_path
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events import utils
    from moto.events.models import Rule

    utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _EVENT_TEMPLATE

    original = Rule.send_to_targets

    def delivered(event: dict[str, Any]) -> dict[str, Any]:
        """The event as the target sees it (moto's own fields, as ingestion-time, left out)."""
        shown = _plain(event)
        if isinstance(shown.get("time"), int | float):
            shown["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(int(shown["time"])))
        return shown

    @functools.wraps(original)
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not transform_input or not any(_own_input(t) for t in self.targets):
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        for target in self.targets:
            if not _own_input(target):
                single = copy.copy(self)
                single.targets = [target]
                original(single, original_event, transform_input)
                continue
            if "Input" in target and target["Input"] is not None:
                text = str(target["Input"])
            else:
                found = json_path(target["InputPath"]).find(delivered(original_event))
                # A path that selects nothing: EventBridge passes nothing of the event (unsure
                # of its exact answer there; null is sent).
                text = json.dumps(found[0].value if found else None)
            service, resource = _arn_parts(target["Arn"])
            if service == "sqs":
                group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
                self._send_to_sqs_queue(resource, text, group_id)
            else:
                self._send_to_cw_log_group(resource, text)
        return None

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    order = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
    return {name: event[name] for name in order if name in event}


def _arn_parts(arn: str) -> tuple[str, str]:
    """(service, resource) of a queue's or log group's ARN (arn:aws:sqs:r:a:NAME,
    arn:aws:logs:r:a:log-group:NAME[:*])."""
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    if service == "logs" and len(parts) > 6 and parts[5] == "log-group":
        return service, parts[6]
    return service, parts[5] if len(parts) > 5 else ""


def _own_input(target: Any) -> bool:
    """A target given Input or InputPath that moto delivers to as text (a queue, a log group)."""
    if not isinstance(target, dict) or target.get("InputTransformer"):
        return False
    if target.get("Input") is None and not target.get("InputPath"):
        return False
    service, _ = _arn_parts(str(target.get("Arn", "")))
    return service == "sqs" or (service == "logs" and ":log-group:" in str(target.get("Arn", "")))


def _events_bus_entries() -> None:
    """PutEvents: each entry succeeds or fails alone; one that names an event bus that does not
    exist gets ``ErrorCode`` ResourceNotFoundException and ``ErrorMessage`` "Event bus <name>
    does not exist." (FailedEntryCount counts it), the others are delivered. moto failed the
    whole call (400) after delivering the entries before that one."""
    from moto.events.exceptions import ResourceNotFoundException
    from moto.events.models import EventsBackend

    original = EventsBackend.put_events

    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10:
            return original(self, events)  # moto's ValidationException
        entries: list[dict[str, Any]] = []
        for event in events:
            if event.get("Source") and event.get("DetailType") and event.get("Detail"):
                try:
                    self.describe_event_bus(self._normalize_event_bus_arn(event.get("EventBusName")))
                except ResourceNotFoundException as exc:
                    entries.append({"ErrorCode": "ResourceNotFoundException", "ErrorMessage": exc.message})
                    continue
            entries.extend(original(self, [event]))
        return entries

    EventsBackend.put_events = put_events  # type: ignore[method-assign]


# ------------------------------------------------------------------ Lambda
_DOCKER_ERROR = "error running docker: "


def _lambda_invoke() -> None:
    """moto runs functions in Docker containers; where Docker is not reachable, it answered
    RequestResponse with FunctionError "Handled" and the text "error running docker: ..." as
    the payload (not JSON: SDKs and clients that parse it fail). A function that cannot start
    (its runtime fails to initialise) is, on Lambda, an unhandled function error: 200,
    ``X-Amz-Function-Error: Unhandled`` and a JSON payload ``{"errorMessage", "errorType"}``
    (as ``Runtime.ExitError``); it is not an API error (a 5xx would be retried by SDKs for a
    condition that lasts). The errorType here is the emulator's, ``Runtime.DockerUnavailable``.

    Invoke's InvocationType ``Event``: Lambda queues the event and answers 202 with no payload
    (moto answered the function's output, here the Docker error, and its FunctionError);
    ``DryRun``: "Validate parameter values and verify that the user or role has permission to
    invoke the function", 204 and nothing run (moto ran the function). The function is looked
    up all the same (ResourceNotFoundException). Callers inside the emulator (log subscriptions)
    still see the function's error on moto's backend."""
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    function_invoke = LambdaFunction.invoke

    @functools.wraps(function_invoke)
    def invoke_function(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        payload = function_invoke(self, body, request_headers, response_headers)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        if response_headers.get("x-amz-function-error") and isinstance(text, str) and text.startswith(_DOCKER_ERROR):
            response_headers["x-amz-function-error"] = "Unhandled"
            error = {"errorMessage": f"Lambda functions cannot run on this emulator without Docker (the function runs in a Docker "
                                     f"container, and Docker is not reachable: {text[len(_DOCKER_ERROR):]})",
                     "errorType": "Runtime.DockerUnavailable"}
            answer = json.dumps(error)
            return answer.encode("utf-8") if isinstance(payload, bytes) else answer
        return payload

    LambdaFunction.invoke = invoke_function  # type: ignore[method-assign]

    response_invoke = LambdaResponse.invoke

    @functools.wraps(response_invoke)
    def invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind == "DryRun":
            from urllib.parse import unquote

            self.backend.get_function(unquote(self.path.rsplit("/", 2)[-2]), self._get_param("qualifier"))
            return 204, {"status": "204"}, b""
        answer = response_invoke(self, *args, **kwargs)
        if kind == "Event" and isinstance(answer, tuple) and answer[0] == 202:
            headers = {k: v for k, v in answer[1].items() if k.lower() not in ("x-amz-function-error", "x-amz-log-result", "content-length")}
            return 202, headers, b""
        return answer

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]


# ------------------------------------------------------------------ KMS
_INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."


def _kms() -> None:
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    decrypt = KmsBackend.decrypt

    @functools.wraps(decrypt)
    def decrypt_with_key(self: Any, ciphertext_blob: bytes, encryption_context: dict[str, str], key_id: str | None = None) -> Any:
        """Decrypt's KeyId that is not the key the ciphertext was encrypted under: KMS answers
        ``IncorrectKeyException`` ("The key ID in the request does not identify a CMK that can
        perform this operation."); moto an AccessDeniedException without a message."""
        plaintext, arn = decrypt(self, ciphertext_blob, encryption_context)
        asked = self.keys.get(self.any_id_to_key_id(key_id)) if key_id is not None else None
        if key_id is not None and getattr(asked, "arn", None) != arn:
            raise AwsError("IncorrectKeyException", _INCORRECT_KEY, 400)
        return plaintext, arn

    KmsBackend.decrypt = decrypt_with_key  # type: ignore[method-assign]

    def with_fields(name: str, fields: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> None:
        original = getattr(KmsResponse, name)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            answer = original(self, *args, **kwargs)
            if not isinstance(answer, str):
                return answer
            document = json.loads(answer)
            if isinstance(document, dict):
                document.update(fields(self, document))
            return json.dumps(document)

        setattr(KmsResponse, name, wrapper)

    def algorithm(response: Any, _: dict[str, Any]) -> dict[str, Any]:
        # The algorithm used: the request's, else SYMMETRIC_DEFAULT (asymmetric keys require one).
        return {"EncryptionAlgorithm": response._get_param("EncryptionAlgorithm") or "SYMMETRIC_DEFAULT"}

    def re_encrypt_algorithms(response: Any, _: dict[str, Any]) -> dict[str, Any]:
        return {"SourceEncryptionAlgorithm": response._get_param("SourceEncryptionAlgorithm") or "SYMMETRIC_DEFAULT",
                "DestinationEncryptionAlgorithm": response._get_param("DestinationEncryptionAlgorithm") or "SYMMETRIC_DEFAULT"}

    def key_arn(response: Any, document: dict[str, Any]) -> dict[str, Any]:
        """KeyId: "The Amazon Resource Name (key ARN) of the KMS key" (moto: the id asked)."""
        key = response.kms_backend.keys.get(response.kms_backend.any_id_to_key_id(document.get("KeyId", "")))
        return {"KeyId": key.arn} if key is not None else {}

    def scheduled(response: Any, document: dict[str, Any]) -> dict[str, Any]:
        fields = key_arn(response, document)
        window = response._get_param("PendingWindowInDays")
        return {**fields, "KeyState": "PendingDeletion", "PendingWindowInDays": 30 if window is None else int(window)}

    with_fields("encrypt", algorithm)
    with_fields("decrypt", algorithm)
    with_fields("re_encrypt", re_encrypt_algorithms)
    with_fields("schedule_key_deletion", scheduled)
    with_fields("cancel_key_deletion", key_arn)


# ------------------------------------------------------------------ Secrets Manager
# "An error occurred (InvalidRequestException) when calling the GetSecretValue operation: ", and
# a leading "ClientError: " or "<Code>: " before it: botocore's wording, not the service's.
_CLIENT_ERROR = re.compile(r"^(?:\w+: )?An error occurred \(\w+\) when calling the \w+ operation: ")


def _clean(message: str) -> str:
    message = _CLIENT_ERROR.sub("", message)
    message = re.sub(r"\s{2,}", " ", message).strip()
    return message.replace("configuredand", "configured and")


def _secretsmanager_messages() -> None:
    """moto wrote some Secrets Manager errors as botocore prints them ("An error occurred
    (InvalidRequestException) when calling the GetSecretValue operation: You tried to    perform
    ...", a line continuation's indentation inside); Secrets Manager's message is the text after
    the colon ("You tried to perform the operation on a secret that's currently marked
    deleted.")."""
    from moto.secretsmanager.exceptions import SecretsManagerClientError

    init = SecretsManagerClientError.__init__

    @functools.wraps(init)
    def __init__(self: Any, error_type: str, message: str, *args: Any, **kwargs: Any) -> None:
        init(self, error_type, _clean(message) if isinstance(message, str) else message, *args, **kwargs)

    SecretsManagerClientError.__init__ = __init__  # type: ignore[method-assign]
