"""Wires the gateway's security into a Runtime (called from ``Runtime.__init__``).

Registers, whatever services are enabled:

- ``components["iam_store"]``: users and policies (``emulator.gateway.iam_store``);
- ``components["authorizer"]``: authorization + request rate limits, called by the chain;
- ``components["validator"]``: botocore-shape validation, called by the chain;
- ``components["rate_limiter"]`` and ``components["token_quotas"]``;
- the audit log observer; the OpenAPI document and docs page routes.

Other surfaces use the module functions ``check`` (authorization decision),
``authorize`` (raise the AccessDenied error) and ``reserve``/``settle`` (token quotas).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from emulator.context import Principal
from emulator.errors import AwsError
from emulator.gateway.audit import AuditLog
from emulator.gateway.authorize import Authorizer, access_denied, denied_message
from emulator.gateway.iam_store import IamStore
from emulator.gateway.policy import Decision
from emulator.gateway.ratelimit import (
    CapacityLimiter,
    QuotaStore,
    Reservation,
    make_limits,
)
from emulator.gateway.sessions import Sessions
from emulator.gateway.validation import make_validator

if TYPE_CHECKING:
    from emulator.runtime import Runtime

_current: weakref.ReferenceType[Any] | None = None


def install(runtime: Runtime) -> None:
    global _current
    settings = runtime.settings
    extra = settings.extra
    store = IamStore(settings.data_dir, settings.account_id)
    # In memory, or shared through Redis when settings.redis is set (emulator.gateway.redis_state).
    limiter, quotas = make_limits(settings)

    def hash_key(region: str, table: str) -> str | None:
        # The DynamoDB service may register a resolver for dynamodb:LeadingKeys.
        fn = runtime.components.get("dynamodb_hash_key")
        if fn is None:
            engine = runtime.components.get("dynamodb")
            find = getattr(engine, "find_table", None)
            if find is None:
                return None
            # Tables are regional: the request's region's table of that name (an ARN names its own).
            found = getattr(find(table, region), "hash_key", None)
            return found if isinstance(found, str) else None
        try:
            result = fn(region, table)
        except Exception:  # noqa: BLE001 - unknown table etc.: fall back to every key value
            return None
        return result if isinstance(result, str) else None

    def ddb_tables() -> Any:
        return getattr(runtime.components.get("dynamodb"), "tables", None) or {}

    capacity = CapacityLimiter(ddb_tables, float(extra.get("dynamodb_burst_seconds", 300)), region=settings.region)

    def charge_capacity(ctx: Any, response: Any, elapsed: float) -> None:
        if ctx.service_name == "dynamodb" and ctx.native and ctx.operation is not None:
            capacity.charge(ctx.operation.name, ctx.params, ctx.telemetry.get("consumed_capacity"), response.status < 300, region=ctx.region)

    runtime.components["dynamodb_capacity"] = capacity
    runtime.observers.append(charge_capacity)
    runtime.components["iam_store"] = store
    runtime.components["rate_limiter"] = limiter
    runtime.components["token_quotas"] = quotas
    sessions = Sessions(settings.account_id, data_dir=settings.data_dir)
    runtime.components["sessions"] = sessions  # STS temporary credentials (emulator/gateway/sessions.py)
    runtime.components["authorizer"] = Authorizer(store, limiter, hash_key, capacity, sessions=sessions, fallback=runtime.fallback)
    if extra.get("validation", True) not in (False, "false", "off", 0):
        runtime.components["validator"] = make_validator()
    # Fed by the request recorder (batches every records_flush_seconds, config file).
    audit = AuditLog(settings.data_dir / "audit.log", runtime)
    runtime.components["audit"] = audit
    runtime.recorder.consumers.append(audit)
    from emulator.gateway.openapi import routes as openapi_routes

    runtime.routes.extend(openapi_routes(runtime))
    _current = weakref.ref(runtime)


def _runtime(runtime: Any = None) -> Any:
    if runtime is not None:
        return runtime
    rt = _current() if _current is not None else None
    if rt is None:
        raise RuntimeError("emulator security is not installed in this process")
    return rt


def check(principal: Principal | None, action: str, resource: str | list[str] = "*", context: dict[str, Any] | None = None, *, runtime: Any = None) -> Decision:
    """Authorization decision for non-AWS surfaces, e.g. ``check(p, "bedrock:InvokeModel",
    "arn:aws:bedrock:us-east-1::foundation-model/m")``; ``.allowed`` tells the answer."""
    rt = _runtime(runtime)
    if not rt.settings.auth:
        return Decision("allow", action, resource if isinstance(resource, str) else "*")
    authorizer: Authorizer = rt.components["authorizer"]
    return authorizer.check(principal, action, resource, context)


def authorize(principal: Principal | None, action: str, resource: str | list[str] = "*", context: dict[str, Any] | None = None, *, protocol: str | None = "rest-json", runtime: Any = None) -> Decision:
    """``check`` that raises AccessDeniedException (HTTP 403 for REST surfaces) when denied."""
    decision = check(principal, action, resource, context, runtime=runtime)
    if not decision.allowed:
        who = principal or Principal("anonymous", "anonymous", "anonymous", "000000000000")
        raise access_denied(protocol, None, denied_message(who, decision))
    return decision


def reserve(key: str, tokens: int, *, runtime: Any = None, protocol: str | None = "rest-json", service: str | None = "bedrock-runtime") -> Reservation:
    """Reserve inference tokens (prompt + max_tokens) against the key's TPM and daily quotas;
    raises the throttling error (429 + Retry-After for REST surfaces) when over."""
    quotas: QuotaStore = _runtime(runtime).components["token_quotas"]
    return quotas.reserve(key, tokens, protocol=protocol, service=service)


def settle(reservation: Reservation, used: int, *, runtime: Any = None) -> None:
    """Replace a reservation with the tokens actually used (0 when the request failed)."""
    quotas: QuotaStore = _runtime(runtime).components["token_quotas"]
    quotas.settle(reservation, used)


__all__ = ["AwsError", "authorize", "check", "install", "reserve", "settle"]
