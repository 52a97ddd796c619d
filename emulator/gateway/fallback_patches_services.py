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
  answers KeyState and PendingWindowInDays. GetKeyRotationStatus answers KeyId (the key's ARN)
  and, while rotation is enabled, RotationPeriodInDays (EnableKeyRotation's, 365 by default) and
  NextRotationDate.
- Secrets Manager (``_secretsmanager_messages``): error messages are Secrets Manager's, without
  the "An error occurred (...) when calling the ... operation:" of a botocore ClientError that
  moto copied into some of them, nor their runs of spaces; GetSecretValue of a secret scheduled
  for deletion and CreateSecret of its name answer Secrets Manager's InvalidRequestException.
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
    _kms_rotation(with_fields, key_arn)


_DAY = 86400.0


def _kms_rotation(with_fields: Callable[[str, Callable[[Any, dict[str, Any]], dict[str, Any]]], None],
                  key_arn: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> None:
    """GetKeyRotationStatus: KMS answers KeyId (the key ARN) and, while automatic rotation is
    enabled, RotationPeriodInDays ("The default value is 365 days"; EnableKeyRotation's
    RotationPeriodInDays otherwise) and NextRotationDate (KMS rotates the key material that many
    days after rotation was enabled, and every that many days after). moto answered
    KeyRotationEnabled alone and ignored RotationPeriodInDays. The period and the time rotation
    was enabled are kept on moto's key (and so saved with it)."""
    import time

    from moto.kms.responses import KmsResponse

    enable = KmsResponse.enable_key_rotation

    @functools.wraps(enable)
    def enable_key_rotation(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = enable(self, *args, **kwargs)
        backend = self.kms_backend
        key = backend.keys.get(backend.get_key_id(self._get_param("KeyId")))
        if key is not None:
            period = self._get_param("RotationPeriodInDays")
            key._emulator_rotation_period = 365 if period is None else int(period)
            key._emulator_rotation_enabled = time.time()
        return answer

    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]

    def rotation(response: Any, document: dict[str, Any]) -> dict[str, Any]:
        fields = key_arn(response, {"KeyId": response._get_param("KeyId")})
        backend = response.kms_backend
        key = backend.keys.get(backend.any_id_to_key_id(response._get_param("KeyId")))
        if key is None or not document.get("KeyRotationEnabled"):
            return fields
        period = int(getattr(key, "_emulator_rotation_period", 365))
        # A key whose rotation was enabled without EnableKeyRotation (a CloudFormation template's
        # EnableKeyRotation) counts from its creation.
        start = float(getattr(key, "_emulator_rotation_enabled", None) or getattr(key, "creation_date", None) or time.time())
        step = period * _DAY
        passed = max(0, int((time.time() - start) // step))
        return {**fields, "RotationPeriodInDays": period, "NextRotationDate": start + (passed + 1) * step}

    with_fields("get_key_rotation_status", rotation)


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
    _secretsmanager_deleted()


_MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
_CREATE_SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."


def _secretsmanager_deleted() -> None:
    """A secret scheduled for deletion (DeleteSecret with a recovery window): GetSecretValue
    answers ``InvalidRequestException: You can't perform this operation on the secret because it
    was marked for deletion.`` (moto: "You tried to perform the operation on a secret that's
    currently marked deleted."), and CreateSecret of its name ``InvalidRequestException: You
    can't create this secret because a secret with this name is already scheduled for
    deletion.`` (moto: ResourceExistsException, as for a secret in use)."""
    from moto.secretsmanager.exceptions import InvalidRequestException
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    def scheduled(backend: Any, secret_id: Any) -> bool:
        if not isinstance(secret_id, str) or not backend._is_valid_identifier(secret_id):
            return False
        secret = backend.secrets[secret_id]
        return isinstance(secret, FakeSecret) and bool(secret.is_deleted())

    get_secret_value = SecretsManagerBackend.get_secret_value

    @functools.wraps(get_secret_value)
    def get_value(self: Any, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        if scheduled(self, secret_id):
            raise InvalidRequestException(_MARKED_FOR_DELETION)
        return get_secret_value(self, secret_id, *args, **kwargs)

    SecretsManagerBackend.get_secret_value = get_value  # type: ignore[method-assign]

    create_secret = SecretsManagerBackend.create_secret

    @functools.wraps(create_secret)
    def create(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if scheduled(self, name):
            raise InvalidRequestException(_CREATE_SCHEDULED)
        return create_secret(self, name, *args, **kwargs)

    SecretsManagerBackend.create_secret = create  # type: ignore[method-assign]
