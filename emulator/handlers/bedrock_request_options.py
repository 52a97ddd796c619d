"""The Bedrock Runtime request members beside the prompt and the sampling parameters:
Converse's ``outputConfig`` (structured output), ``serviceTier``, ``performanceConfig``,
``projectIdentifier`` and ``additionalModelResponseFieldPaths``, and InvokeModel's
``serviceTier``, ``performanceConfigLatency`` and ``projectIdentifier`` headers.

Each one is honoured or refused with a ValidationException that names it, never silently
ignored: a client asking for a JSON answer, a latency-optimized model or a priority tier would
otherwise get something else without knowing. ``outputConfig.textFormat`` becomes the
engines' ``GenParams.response_format`` (a llama.cpp grammar holds the answer to the schema;
a remote engine passes it on). The enum checks use botocore's constraint wording; the other
messages are ours, in the style of Bedrock's ("This model doesn't support ...")."""

from __future__ import annotations

import json
from typing import Any

from emulator.errors import AwsError
from emulator.handlers.bedrock_catalog import check_project

# botocore's enums (bedrock-runtime service-2.json), in the model's order.
_SERVICE_TIERS = ("priority", "default", "flex", "reserved")
_LATENCIES = ("standard", "optimized")
_TEXT_FORMATS = ("json_schema",)


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _enum(value: Any, where: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        shown = "null" if value is None else f"'{value}'"
        raise _validation(f"1 validation error detected: Value {shown} at '{where}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def _not_null(value: Any, where: str) -> None:
    if value is None:
        raise _validation(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: Member must not be null")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _validation(f"The value of {where} must be an object.")
    return value


def response_format(params: dict[str, Any]) -> dict[str, Any] | None:
    """``outputConfig`` as the engines' response_format (None without a textFormat); any
    other member (``effort``: a reasoning model's) is refused."""
    config = params.get("outputConfig")
    if config is None:
        return None
    config = _object(config, "outputConfig")
    for key in config:
        if key == "effort" and config[key] is not None:
            raise _validation("This model doesn't support the effort field in outputConfig: it does not reason before answering. Remove outputConfig.effort and try again.")
        if key not in ("textFormat", "effort"):
            raise _validation(f"This model doesn't support the {key} field in outputConfig.")
    text_format = config.get("textFormat")
    if text_format is None:
        return None
    text_format = _object(text_format, "outputConfig.textFormat")
    _enum(text_format.get("type"), "outputConfig.textFormat.type", _TEXT_FORMATS)
    structure = text_format.get("structure")
    _not_null(structure, "outputConfig.textFormat.structure")
    structure = _object(structure, "outputConfig.textFormat.structure")
    if "jsonSchema" not in structure:
        other = next(iter(structure), None)
        raise _validation(f"This model doesn't support the {other} structure in outputConfig.textFormat.structure: use jsonSchema."
                          if other else "The outputConfig.textFormat.structure field must contain a jsonSchema.")
    spec = _object(structure["jsonSchema"], "outputConfig.textFormat.structure.jsonSchema")
    where = "outputConfig.textFormat.structure.jsonSchema.schema"
    _not_null(spec.get("schema"), where)
    if not isinstance(spec["schema"], str):
        raise _validation(f"The value of {where} must be a string holding a JSON schema.")
    try:
        schema = json.loads(spec["schema"])
    except json.JSONDecodeError as exc:
        raise _validation(f"The JSON schema in {where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    if not isinstance(schema, dict):
        raise _validation(f"The JSON schema in {where} must be a JSON object, not {type(schema).__name__ if schema is not None else 'null'}.")
    name = spec.get("name")
    return {"type": "json_schema", "json_schema": {"name": name if isinstance(name, str) and name else "response", "schema": schema, "strict": True}}


def _tier(value: Any, where: str) -> None:
    _enum(value, where, _SERVICE_TIERS)
    if value != "default":
        raise _validation(f"This model doesn't support the {value} service tier: it is served on the default tier only. Use {where} default or omit it.")


def _latency(value: Any, where: str) -> None:
    _enum(value, where, _LATENCIES)
    if value != "standard":
        raise _validation(f"This model doesn't support latency-optimized inference. Use {where} standard or omit it.")


def _pointers(paths: Any) -> None:
    """additionalModelResponseFieldPaths: botocore's documentation says Converse rejects an
    empty or malformed JSON Pointer (400) and ignores a valid one whose field the model's
    response lacks; a local model's response has no fields beyond Converse's own."""
    if paths is None:
        return
    if not isinstance(paths, list):
        raise _validation("The value of additionalModelResponseFieldPaths must be a list of JSON Pointers.")
    for path in paths:
        bad = not isinstance(path, str) or not path.startswith("/")
        if not bad:
            bad = any(part[i] == "~" and part[i + 1:i + 2] not in ("0", "1") for part in path.split("/") for i in range(len(part)))
        if bad:
            raise _validation(f"The additionalModelResponseFieldPaths value {json.dumps(path)} is not a valid JSON Pointer: "
                              "it must start with / and escape ~ as ~0 and / as ~1.")


def check_converse_options(params: dict[str, Any]) -> None:
    """serviceTier, performanceConfig, projectIdentifier and additionalModelResponseFieldPaths
    of a Converse(Stream) request: what changes nothing here passes, the rest is refused."""
    if params.get("serviceTier") is not None:
        tier = _object(params["serviceTier"], "serviceTier")
        _not_null(tier.get("type"), "serviceTier.type")
        _tier(tier["type"], "serviceTier.type")
    if params.get("performanceConfig") is not None:
        latency = _object(params["performanceConfig"], "performanceConfig").get("latency")
        if latency is not None:
            _latency(latency, "performanceConfig.latency")
    check_project(params)
    _pointers(params.get("additionalModelResponseFieldPaths"))


def check_invoke_options(params: dict[str, Any]) -> None:
    """InvokeModel(WithResponseStream)'s serviceTier, performanceConfigLatency and projectIdentifier."""
    if params.get("serviceTier") is not None:
        _tier(params["serviceTier"], "serviceTier")
    if params.get("performanceConfigLatency") is not None:
        _latency(params["performanceConfigLatency"], "performanceConfigLatency")
    check_project(params)


_ENGINE_SCHEMA_ERROR = "Invalid schema for response_format '"  # the local engine's words (engines/llama.py grammar())


def schema_error(err: AwsError) -> AwsError:
    """An engine's refusal of a response_format schema, worded for outputConfig (other errors as they are)."""
    if err.code != "ValidationException" or not err.message.startswith(_ENGINE_SCHEMA_ERROR):
        return err
    reason = err.message.split("': ", 1)[1] if "': " in err.message else err.message
    return _validation(f"The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema is not supported: {reason}")
