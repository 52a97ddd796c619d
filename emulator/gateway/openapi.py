"""OpenAPI 3.1 description of the emulator's own REST surfaces, and a docs page.

``/_emulator/openapi.json`` is generated on request from the routes registered
in the runtime (the OpenAI API under ``/v1``, ``/_emulator/...``, ``/metrics``),
using each Route's ``summary`` and ``openapi`` metadata where given. The AWS
APIs are not described here: they keep their own API versions and models.
``/_emulator/docs`` renders it with a small self-contained page (no CDN).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import orjson

from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.context import RequestContext

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "code": {"type": ["string", "null"]}}}},
}


def _builtin_paths() -> dict[str, Any]:
    return {
        "/_emulator/health": {
            "get": {
                "summary": "Health of the emulator and each service",
                "operationId": "getHealth",
                "responses": {"200": {"description": "Status, version, uptime and per-service state", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
        "/_emulator/openapi.json": {
            "get": {
                "summary": "This OpenAPI document",
                "operationId": "getOpenApi",
                "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
        "/_emulator/docs": {
            "get": {
                "summary": "Human-readable API documentation",
                "operationId": "getDocs",
                "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
    }


def _json_op(summary: str, op_id: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": op_id,
        "security": [{"bearer": []}, {"sigv4": []}],
        "responses": {
            "200": {"description": "Success (``stream: true``: text/event-stream of chunks)", "content": {"application/json": {"schema": {"type": "object"}}}},
            "4XX": {"description": "OpenAI-style error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }
    if request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    return op


_MESSAGES = {"type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {"role": {"type": "string"}, "content": {"type": ["string", "array"]}}}}
_SAMPLING = {
    "max_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "stop": {"type": ["string", "array"]},
    "stream": {"type": "boolean"},
    "seed": {"type": "integer"},
}

# The OpenAI-compatible API served under /v1/ (emulator/compute/openai_routes.py).
OPENAI_PATHS: dict[str, Any] = {
    "/v1/models": {"get": _json_op("List the models", "listModels")},
    "/v1/models/{model}": {
        "get": {**_json_op("Describe a model", "retrieveModel"), "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}]}
    },
    "/v1/chat/completions": {
        "post": _json_op("Chat completion", "createChatCompletion", {"type": "object", "required": ["model", "messages"], "properties": {"model": {"type": "string"}, "messages": _MESSAGES, **_SAMPLING}})
    },
    "/v1/completions": {
        "post": _json_op("Text completion", "createCompletion", {"type": "object", "required": ["model", "prompt"], "properties": {"model": {"type": "string"}, "prompt": {"type": ["string", "array"]}, **_SAMPLING}})
    },
    "/v1/embeddings": {
        "post": _json_op("Embeddings", "createEmbedding", {"type": "object", "required": ["model", "input"], "properties": {"model": {"type": "string"}, "input": {"type": ["string", "array"]}}})
    },
}


def _op_id(method: str, path: str) -> str:
    parts = [p for p in path.replace("{", "").replace("}", "").split("/") if p and p != "_emulator"]
    return method.lower() + "".join(p[:1].upper() + p[1:].replace("-", "_").replace(".", "_") for p in parts)


def document(routes: list[Route], version: str, endpoint: str) -> dict[str, Any]:
    paths: dict[str, Any] = _builtin_paths()
    for route in routes:
        if route.prefix in ("/_emulator/openapi.json", "/_emulator/docs"):
            continue
        described = route.openapi or (OPENAI_PATHS if route.prefix in ("/v1/", "/v1") else None)
        if described:
            for path, item in described.items():
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
                "responses": {
                    "200": {"description": "Success"},
                    "4XX": {"description": "Client error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
        if ops:
            paths.setdefault(route.prefix, {}).update(ops)
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
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An access key id and secret as `Bearer <AccessKeyId>:<Secret>` or the secret alone"},
                "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "AWS Signature Version 4"},
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
        body = orjson.dumps(document(runtime.routes, runtime.version, runtime.settings.endpoint))
        return Response(200, {"content-type": "application/json"}, body)

    async def docs(request: Request, ctx: RequestContext) -> Response:
        page = render_docs(document(runtime.routes, runtime.version, runtime.settings.endpoint))
        return Response(200, {"content-type": "text/html; charset=utf-8"}, page.encode())

    return [
        Route("/_emulator/openapi.json", openapi_json, ("GET",), "This OpenAPI document"),
        Route("/_emulator/docs", docs, ("GET",), "API documentation page"),
    ]
