"""``POST /_emulator/reset``: back to an empty account, for tests.

The pytest plugin calls it before every test (emulator/testing/plugin.py), so that each test
starts with no tables, instances, queues or users, as under moto's ``mock_aws``, while the
server process (and a loaded model) lives for the whole session.

Authorization: the root key, as ``Authorization: Bearer <access key id>:<secret access key>``
(the scheme of the OpenAI API's keys): a reset destroys every resource, which no IAM policy
can grant. Body (optional): ``{"services": ["dynamodb", "sqs"]}`` resets only those;
``{"keep": ["ec2"]}`` resets everything else.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from emulator.context import RequestContext
from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.runtime import Runtime

PATH = "/_emulator/reset"


def _error(status: int, message: str, code: str, param: str | None = None) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return Response(status, {"content-type": "application/json"}, orjson.dumps(body))


def _is_root(runtime: Runtime, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    key = runtime.keys.from_bearer(header[7:].strip())
    return key is not None and key.is_root


def _names(body: Any, field: str) -> list[str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{field}' must be a list of service names")
    return value


def reset_routes(runtime: Runtime) -> list[Route]:
    async def reset(request: Request, ctx: RequestContext) -> Response:
        if request.path.rstrip("/") != PATH:
            return _error(404, f"Unknown path {request.path!r}.", "unknown_url")
        if runtime.settings.auth and not _is_root(runtime, request):
            return _error(403, "Resetting the emulator needs the root key: Authorization: Bearer <access key id>:<secret access key>.",
                          "permission_denied")
        if runtime.settings.role is not None:
            return _error(400, "A reset is served by a single-process server; with --role, reset a test deployment by restarting it.",
                          "unsupported")
        try:
            body = orjson.loads(request.body) if request.body.strip() else {}
            if not isinstance(body, dict):
                return _error(400, "Invalid reset request: the body must be a JSON object", "invalid_value")
            unknown_fields = sorted(set(body) - {"services", "keep"})
            if unknown_fields:  # a misspelt "keep" must not reset everything
                raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown_fields))}: give 'services' or 'keep'")
            services, keep = _names(body, "services"), _names(body, "keep")
            if services is not None and keep is not None:
                raise ValueError("give 'services' or 'keep', not both")
            if keep is not None:
                unknown = sorted(set(keep) - set(runtime.resettable()))
                if unknown:
                    raise ValueError(f"cannot keep {', '.join(unknown)}: not a service of this server")
                services = [name for name in runtime.resettable() if name not in keep]
            started = time.monotonic()
            done = await runtime.reset(services)
        except (orjson.JSONDecodeError, ValueError) as exc:
            return _error(400, f"Invalid reset request: {exc}", "invalid_value")
        doc = {"reset": done, "seconds": round(time.monotonic() - started, 4)}
        return Response(200, {"content-type": "application/json"}, orjson.dumps(doc))

    return [Route(PATH, reset, ("POST",), summary="Forget every resource (root key, Bearer <id>:<secret>): an empty account, for tests",
                  openapi=_DOC)]


_DOC: dict[str, Any] = {PATH: {"post": {
    "summary": "Forget every resource of the named services (all by default), as a new account has none",
    "operationId": "reset",
    "security": [{"bearer": []}],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {"services": {"type": "array", "items": {"type": "string"}},
                       "keep": {"type": "array", "items": {"type": "string"}}}}}}},
    "responses": {
        "200": {"description": "What was reset", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"reset": {"type": "array", "items": {"type": "string"}}, "seconds": {"type": "number"}}}}}},
        "400": {"description": "Unknown service or malformed body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "Not the root key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    },
}}}
