"""OpenAPI 3.1 description of the emulator's own REST surfaces, and a docs page.

``/_emulator/openapi.json`` is generated on request from the routes registered
in the runtime (the OpenAI API under ``/v1``, ``/_emulator/...``, ``/metrics``),
using each Route's ``summary`` and ``openapi`` metadata where given. The AWS
APIs are not described here: they keep their own API versions and models.
``/_emulator/docs`` renders it with a small self-contained page (no CDN).
"""

from __future__ import annotations

import copy
import html
from typing import TYPE_CHECKING, Any

import orjson

from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.context import RequestContext

def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_NULLABLE_STRING = {"type": ["string", "null"]}
_INT = {"type": "integer"}

# One error shape for the OpenAI API and the /_emulator/ endpoints: OpenAI's
# ``{"error": {"message", "type", "param", "code"}}`` (https://platform.openai.com/docs/guides/error-codes).
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "param": _NULLABLE_STRING, "code": _NULLABLE_STRING},
        }
    },
}
_USAGE = {
    "type": "object",
    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
    "properties": {"prompt_tokens": _INT, "completion_tokens": _INT, "total_tokens": _INT},
}
_FINISH = {"type": "string", "enum": ["stop", "length"]}
_MODEL = {
    "type": "object",
    "required": ["id", "object", "created", "owned_by"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "model"},
        "created": _INT,
        "owned_by": {"type": "string"},
        "image_id": {"type": "string", "description": "The AMI the model file is registered as"},
        "context_length": _INT,
    },
}
_MODEL_LIST = {"type": "object", "required": ["object", "data"], "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": _ref("Model")}}}
_COMPLETION_COMMON = {"id": {"type": "string"}, "created": _INT, "model": {"type": "string"}, "system_fingerprint": _NULLABLE_STRING, "usage": _USAGE}
_CHAT_COMPLETION = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices", "usage"],
    "properties": {
        **_COMPLETION_COMMON,
        "object": {"const": "chat.completion"},
        "choices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "message", "finish_reason"],
                "properties": {
                    "index": _INT,
                    "message": {
                        "type": "object",
                        "required": ["role", "content"],
                        "properties": {"role": {"const": "assistant"}, "content": _NULLABLE_STRING, "refusal": _NULLABLE_STRING},
                    },
                    "logprobs": {"type": ["object", "null"]},
                    "finish_reason": _FINISH,
                },
            },
        },
    },
}
_COMPLETION = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices", "usage"],
    "properties": {
        **_COMPLETION_COMMON,
        "object": {"const": "text_completion"},
        "choices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "text", "finish_reason"],
                "properties": {"index": _INT, "text": {"type": "string"}, "logprobs": {"type": ["object", "null"]}, "finish_reason": _FINISH},
            },
        },
    },
}
_EMBEDDINGS = {
    "type": "object",
    "required": ["object", "model", "data", "usage"],
    "properties": {
        "object": {"const": "list"},
        "model": {"type": "string"},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["object", "index", "embedding"],
                "properties": {"object": {"const": "embedding"}, "index": _INT, "embedding": {"type": "array", "items": {"type": "number"}}},
            },
        },
        "usage": {"type": "object", "required": ["prompt_tokens", "total_tokens"], "properties": {"prompt_tokens": _INT, "total_tokens": _INT}},
    },
}
_RESPONSE = {
    "type": "object",
    "required": ["id", "object", "created_at", "status", "model", "output"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "response"},
        "created_at": _INT,
        "status": {"type": "string", "enum": ["completed", "incomplete", "in_progress"]},
        "model": {"type": "string"},
        "output": {"type": "array", "items": {"type": "object", "required": ["type", "id", "role", "content"]}},
        "usage": {"type": ["object", "null"]},
        "incomplete_details": {"type": ["object", "null"]},
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status", "version", "uptime_seconds", "endpoint", "region", "services", "fallback"],
    "properties": {
        "status": {"type": "string"},
        "version": {"type": "string"},
        "uptime_seconds": {"type": "number"},
        "endpoint": {"type": "string"},
        "region": {"type": "string"},
        "services": {"type": "object", "additionalProperties": {"type": "object", "required": ["mode", "state"]}},
        "fallback": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "provider": {"type": "string"}, "services": {"type": "array", "items": {"type": "string"}}}},
        "components": {"type": "object"},
        "process": {"type": "object", "properties": {"pid": {"type": "integer"}, "rss_bytes": {"type": "integer"}, "threads": {"type": "integer"}}},
    },
}

_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR_SCHEMA,
    "Model": _MODEL,
    "ModelList": _MODEL_LIST,
    "ChatCompletion": _CHAT_COMPLETION,
    "Completion": _COMPLETION,
    "Embeddings": _EMBEDDINGS,
    "Response": _RESPONSE,
    "Health": _HEALTH,
}



def error_response(description: str) -> dict[str, Any]:
    """A response carrying the error shape (for Route.openapi metadata of other areas)."""
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _builtin_paths() -> dict[str, Any]:
    return {
        "/_emulator/health": {
            "get": {
                "summary": "Health of the emulator and each service",
                "operationId": "getHealth",
                "security": [],
                "responses": {"200": json_response("Status, version, uptime and per-service state", _ref("Health"))},
            }
        },
        "/_emulator/openapi.json": {
            "get": {
                "summary": "This OpenAPI document",
                "operationId": "getOpenApi",
                "security": [],
                "responses": {
                    "200": json_response("OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "info", "paths"], "properties": {"openapi": {"const": "3.1.0"}}})
                },
            }
        },
        "/_emulator/docs": {
            "get": {
                "summary": "Human-readable API documentation",
                "operationId": "getDocs",
                "security": [],
                "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
    }


# What the OpenAI API answers besides 200 (emulator/compute/openai_params.py: ApiError).
_OPENAI_ERRORS = {
    "401": error_response("Missing or wrong API key (`invalid_api_key`)"),
    "403": error_response("The key's IAM policies deny the Bedrock action (`AccessDeniedException`)"),
    "429": error_response("Request rate limit, token quota or a full request queue (`rate_limit_exceeded`); see Retry-After"),
}
_GENERATION_ERRORS = {
    "400": error_response("Invalid request (bad JSON, parameter type or range, prompt longer than the context)"),
    "404": error_response("Unknown model (`model_not_found`)"),
    "408": error_response("Queued or generating longer than the server's limit (`timeout`)"),
    "503": error_response("The model cannot be loaded or is not ready (`insufficient_capacity`, `model_not_ready`)"),
}


def _json_op(summary: str, op_id: str, ok: dict[str, Any], errors: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": op_id,
        "security": [{"bearer": []}],
        "responses": {"200": ok, **_OPENAI_ERRORS, **errors},
    }
    if request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    return op


# OpenAPI 3.1 (as schemathesis reads it): for text/event-stream, ``schema`` describes each event.
_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string", "description": "A JSON chunk (or an OpenAI error object), then the literal [DONE]"}},
}


def _generated(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description + " (``stream: true``: text/event-stream of ``data:`` chunks ending with ``data: [DONE]``)",
        "content": {"application/json": {"schema": schema}, "text/event-stream": {"schema": _SSE_EVENT}},
    }


_CONTENT_PART = {"type": "object", "required": ["type", "text"], "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}
_MESSAGES = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
            "content": {"anyOf": [{"type": "string"}, {"type": "null"}, {"type": "array", "items": _CONTENT_PART}]},
        },
    },
}
_SAMPLING = {
    "max_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "stop": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]},
    "stream": {"type": "boolean"},
    "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
    "seed": {"type": "integer"},
    "n": {"type": "integer", "const": 1, "description": "Only 1 is supported"},
    "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
    "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
}
_MODEL_ID = {"type": "string", "minLength": 1, "description": "A model id from GET /v1/models, its AMI id, or a serving instance id (i-...)"}

# The OpenAI-compatible API served under /v1/ (emulator/compute/openai_routes.py).
OPENAI_PATHS: dict[str, Any] = {
    "/v1/models": {"get": _json_op("List the models", "listModels", json_response("The models", _ref("ModelList")), {})},
    "/v1/models/{model}": {
        "get": {
            **_json_op("Describe a model", "retrieveModel", json_response("The model", _ref("Model")), {"404": error_response("Unknown model (`model_not_found`)")}),
            "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}],
        }
    },
    "/v1/chat/completions": {
        "post": _json_op(
            "Chat completion", "createChatCompletion", _generated("The completion", _ref("ChatCompletion")), _GENERATION_ERRORS,
            {"type": "object", "required": ["model", "messages"],
             "properties": {"model": _MODEL_ID, "messages": _MESSAGES, "max_completion_tokens": {"type": "integer", "minimum": 1}, **_SAMPLING,
                            "response_format": {
                                "type": "object", "required": ["type"],
                                "description": "Structured output: json_object (the messages must mention JSON) or json_schema {name, schema}",
                                "properties": {"type": {"type": "string", "enum": ["text", "json_object", "json_schema"]}, "json_schema": {"type": "object"}}}}},
        )
    },
    "/v1/completions": {
        "post": _json_op(
            "Text completion", "createCompletion", _generated("The completion", _ref("Completion")), _GENERATION_ERRORS,
            {"type": "object", "required": ["model", "prompt"],
             "properties": {"model": _MODEL_ID, "prompt": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1}]},
                            "echo": {"type": "boolean"}, **_SAMPLING}},
        )
    },
    "/v1/embeddings": {
        "post": _json_op(
            "Embeddings", "createEmbedding", json_response("One vector per input", _ref("Embeddings")), _GENERATION_ERRORS,
            {"type": "object", "required": ["model", "input"],
             "properties": {"model": _MODEL_ID, "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}}},
        )
    },
}
_RESPONSE_ID = [{"name": "response_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]
OPENAI_PATHS["/v1/responses"] = {
    "post": _json_op(
        "Create a model response (the Responses API; text input and output)", "createResponse",
        {"description": "The response (``stream: true``: text/event-stream of typed ``response.*`` events)",
         "content": {"application/json": {"schema": _ref("Response")}, "text/event-stream": {"schema": _SSE_EVENT}}},
        _GENERATION_ERRORS,
        {"type": "object", "required": ["model", "input"],
         "properties": {"model": _MODEL_ID,
                        "input": {"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["role", "content"],
                            "properties": {"role": {"type": "string", "enum": ["user", "assistant", "system", "developer"]}, "content": {"type": "string"}}}}]},
                        "instructions": {"type": "string"}, "max_output_tokens": {"type": "integer", "minimum": 1},
                        "temperature": _SAMPLING["temperature"], "top_p": _SAMPLING["top_p"], "stream": {"type": "boolean"},
                        "store": {"type": "boolean"}, "previous_response_id": {"type": "string"}}},
    )
}
OPENAI_PATHS["/v1/responses/{response_id}"] = {
    "get": {**_json_op("A stored response", "getResponse", json_response("The response", _ref("Response")),
                       {"404": error_response("No stored response with this id")}), "parameters": _RESPONSE_ID},
    "delete": {**_json_op("Delete a stored response", "deleteResponse", json_response("Deleted", {"type": "object", "required": ["id", "deleted"]}),
                          {"404": error_response("No stored response with this id")}), "parameters": _RESPONSE_ID},
}
_OPENAI_PREFIXES = ("/v1/", "/v1", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")


def _op_id(method: str, path: str) -> str:
    parts = [p for p in path.replace("{", "").replace("}", "").split("/") if p and p != "_emulator"]
    return method.lower() + "".join(p[:1].upper() + p[1:].replace("-", "_").replace(".", "_") for p in parts)


def document(routes: list[Route], version: str, endpoint: str, auth: bool = True) -> dict[str, Any]:
    paths: dict[str, Any] = _builtin_paths()
    for route in routes:
        if route.prefix in ("/_emulator/openapi.json", "/_emulator/docs"):
            continue
        # The OpenAI API is described in full whichever route serves it (the compute
        # service in one process, the cluster gateway's forwarder in a cluster).
        described = OPENAI_PATHS if route.prefix in _OPENAI_PREFIXES else route.openapi
        if described:
            for path, item in copy.deepcopy(described).items():
                paths.setdefault(path, {}).update(item)
            continue
        methods = route.methods or ("GET", "POST")
        ops: dict[str, Any] = {}
        for method in methods:
            if method in ("HEAD", "OPTIONS"):
                continue
            ops[method.lower()] = {
                "summary": route.summary or f"{route.prefix} (and sub-paths)",
                "operationId": _op_id(method, route.prefix),
                "responses": {"200": {"description": "Success"}, "4XX": error_response("Client error")},
            }
        for method, op in ops.items():
            paths.setdefault(route.prefix, {}).setdefault(method, op)
    if not auth:
        # auth = false: any token, or none, is accepted (emulator.compute.openai_routes).
        for item in paths.values():
            for op in item.values():
                if op.get("security"):
                    op["security"] = [*op["security"], {}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "emulator: own REST surfaces",
            "version": version,
            "description": "The emulator's non-AWS HTTP APIs (OpenAI-compatible API, management endpoints). "
            "AWS APIs on the same port follow their AWS service models and API versions.",
        },
        "servers": [{"url": endpoint}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An access key id and secret as `Bearer <AccessKeyId>:<Secret>` or the secret alone"},
            },
        },
    }


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}}
h1{{font-size:1.4em}} .op{{border:1px solid #ddd;border-radius:6px;margin:.5em 0;padding:.5em .8em}}
.m{{display:inline-block;min-width:4.5em;font-weight:bold;text-transform:uppercase}}
.get{{color:#0a7}} .post{{color:#06c}} .delete{{color:#c33}} .put{{color:#a60}}
code{{background:#f4f4f4;padding:0 .3em;border-radius:3px}} pre{{background:#f7f7f7;padding:.5em;overflow:auto}}
</style></head><body>
<h1>{title}</h1><p>{description}</p><p>Machine-readable: <a href="/_emulator/openapi.json">/_emulator/openapi.json</a></p>
<div id="ops">{ops}</div>
</body></html>
"""


def render_docs(doc: dict[str, Any]) -> str:
    """Server-side rendering: the page needs no scripts and no external assets."""
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            summary = html.escape(str(op.get("summary", "")))
            body = ""
            if "requestBody" in op:
                body = "<pre>" + html.escape(orjson.dumps(op["requestBody"], option=orjson.OPT_INDENT_2).decode()) + "</pre>"
            ops.append(f'<div class="op"><span class="m {html.escape(method)}">{html.escape(method)}</span> <code>{html.escape(path)}</code> {summary}{body}</div>')
    info = doc["info"]
    return _PAGE.format(title=html.escape(info["title"] + " " + info["version"]), description=html.escape(info["description"]), ops="\n".join(ops))


def routes(runtime: Any) -> list[Route]:
    async def openapi_json(request: Request, ctx: RequestContext) -> Response:
        body = orjson.dumps(document(runtime.routes, runtime.version, runtime.settings.endpoint, runtime.settings.auth))
        return Response(200, {"content-type": "application/json"}, body)

    async def docs(request: Request, ctx: RequestContext) -> Response:
        page = render_docs(document(runtime.routes, runtime.version, runtime.settings.endpoint, runtime.settings.auth))
        return Response(200, {"content-type": "text/html; charset=utf-8"}, page.encode())

    return [
        Route("/_emulator/openapi.json", openapi_json, ("GET",), "This OpenAPI document"),
        Route("/_emulator/docs", docs, ("GET",), "API documentation page"),
    ]
