"""One role per process: ``emulator serve --role gateway|dynamodb|compute|monitoring``.

- gateway: authentication, authorization, validation, rate limits, IAM, the console,
  the moto fallback, and forwarding of every other service to its role
  (emulator.cluster.forward), found through service discovery (emulator.cluster.discovery);
- dynamodb: DynamoDB and DynamoDB Streams;
- compute: EC2, Bedrock Runtime and the OpenAI API (/v1);
- monitoring: CloudWatch, CloudWatch Logs, /metrics and /_emulator/usage.

Without ``--role`` nothing here is imported and one process serves everything.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from emulator.cluster.discovery import (
    ROLES,
    Discovery,
    MemoryRegistry,
    RedisRegistry,
    parse_peers,
)
from emulator.cluster.forward import ROLE_SERVICES, Forwarder
from emulator.cluster.internal import load_secret

if TYPE_CHECKING:
    from emulator.runtime import Runtime
    from emulator.settings import Settings

log = logging.getLogger("emulator.cluster")

__all__ = ["ROLES", "configure", "install"]


def configure(settings: Settings) -> None:
    """Before the Runtime is built: the role decides which services this process serves natively."""
    role = settings.role
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    settings.services = list(ROLE_SERVICES[role])
    # Only the gateway answers for the services nobody serves natively (moto).
    settings.fallback = settings.fallback and role == "gateway"
    if role == "gateway":
        parse_peers(settings.peers)  # fail at start on a malformed --peer
    elif not settings.gateway_url:
        raise ValueError(f"the {role} role needs gateway_url (--gateway-url / EMULATOR_GATEWAY_URL) to register with")


def install(runtime: Runtime, app: Any) -> Any:
    """After the Runtime is built: wire discovery and forwarding (gateway) or the role's guard, heartbeats
    and remote telemetry. Returns the ASGI app to serve."""
    from emulator.monitoring.service import setting

    settings = runtime.settings
    secret = load_secret(settings.cluster_secret, settings.data_dir)
    telemetry_flush = float(setting(settings.extra, "telemetry_flush", 1.0))
    telemetry_interval = float(setting(settings.extra, "telemetry_interval", 60.0))
    if settings.role == "gateway":
        return _install_gateway(runtime, app, secret, telemetry_flush)
    return _install_role(runtime, app, secret, telemetry_flush, telemetry_interval)


def _install_gateway(runtime: Runtime, app: Any, secret: bytes, telemetry_flush: float) -> Any:
    from emulator.cluster import role as role_mod

    settings = runtime.settings
    registry: MemoryRegistry | RedisRegistry = RedisRegistry(settings.redis) if settings.redis else MemoryRegistry()
    discovery = Discovery(settings.peers, registry, settings.health_interval)
    forwarder = Forwarder(runtime, discovery, secret, settings.forward_timeout)
    runtime.components["forwarder"] = forwarder
    authorizer = runtime.components.get("authorizer")
    if settings.auth and authorizer is not None and hasattr(authorizer, "resource_policies") and hasattr(authorizer, "recheck"):
        # DynamoDB's resource-based policies live with the dynamodb role: the authorizer decides
        # with a copy that the role keeps in step (emulator/cluster/policies.py).
        from emulator.cluster.policies import DEFERRED, GatewayPolicies, defer_denial

        forwarder.policies = authorizer.resource_policies = GatewayPolicies()
        forwarder.authorizer = authorizer
        # Only for requests bound for the forwarder, which confirms or overturns the refusal.
        authorizer.defer_denial = lambda ctx, decision, error: forwarder.serves(ctx.service_name or "") and defer_denial(ctx, decision, error)
        validator = runtime.components.get("validator")
        if validator is not None:
            # A refusal being confirmed (defer_denial) is validated only if it turns into an Allow.
            forwarder.validator = validator
            runtime.components["validator"] = lambda ctx: None if DEFERRED in ctx.telemetry else validator(ctx)
    runtime.routes.extend(forwarder.routes())
    # Application Auto Scaling (moto) is here; DynamoDB's auto scaling runs in the dynamodb role
    # (without moto the route answers the dynamodb role as one process would: not available).
    from emulator.cluster.autoscaling import autoscaling_route

    runtime.routes.append(autoscaling_route(runtime, secret))
    runtime.routes.sort(key=lambda r: -len(r.prefix))

    def authenticate(ctx: Any) -> bool:
        # A role calling an AWS API through the gateway (job results, ...): the internal credential.
        if role_mod.internal.HEADER not in ctx.request.headers:
            return False
        from emulator.errors import AwsError

        principal = forwarder.internal_principal(ctx.request)
        if principal is None:
            raise AwsError("InvalidSignatureException", "The internal credential is not valid.", 403)
        ctx.principal = principal
        return True

    runtime.components["authenticator"] = authenticate
    # /_emulator/health and the console's overview list the services the roles serve too, in
    # the state their role reports (or unavailable): Runtime.health with the forwarder's part.
    own_health = runtime.health
    runtime.health = lambda: forwarder.with_services(own_health())  # type: ignore[method-assign]
    client = role_mod.InternalClient(lambda: discovery.candidates("monitoring"), secret)
    # Shipped to the monitoring role in batches, every telemetry_flush seconds, off the request
    # path: the gateway's request telemetry (when on) and the audit log's CloudWatch Logs copy
    # (/emulator/audit, emulator/gateway/audit.py: "cluster_logs"), as one process writes both.
    sink = role_mod.TelemetrySink(runtime, client, telemetry_flush, 0.0, skip_forwarded=True)
    if settings.telemetry:
        runtime.recorder.consumers.append(sink)
    runtime.components["cluster_telemetry"] = sink
    runtime.components["cluster_logs"] = sink.remote_logs

    def start() -> None:
        discovery.start()
        sink.start()

    def stop() -> None:
        discovery.stop()
        forwarder.pool.close()
        sink.stop()

    return _Lifespan(app, start, stop)


def _install_role(runtime: Runtime, app: Any, secret: bytes, telemetry_flush: float, telemetry_interval: float) -> Any:
    from emulator.cluster import role as role_mod

    settings = runtime.settings
    role = str(settings.role)
    # dynamodb, compute, monitoring: behind the gateway only.
    client = role_mod.InternalClient(settings.gateway_url, secret)
    advertise = settings.advertise_url or f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    heartbeat = role_mod.Heartbeat(runtime, client, role, advertise, settings.heartbeat_interval)
    runtime.components["cluster"] = heartbeat
    # The gateway authorized and validated the request, applied rate limits and wrote the
    # audit record; the role trusts its verdict rather than doing the work twice.
    runtime.components.pop("authorizer", None)
    runtime.components.pop("validator", None)
    admit = None
    if role == "dynamodb":
        # The gateway authorized each request with its copy of the resource-based policies:
        # the guard checks that it was this role's, and PutResourcePolicy's lockout check is the
        # gateway's answer (emulator/cluster/policies.py).
        from emulator.cluster.policies import RolePolicies, keeps_access

        role_policies = RolePolicies(runtime)
        runtime.components["cluster_policies"] = role_policies
        runtime.components["dynamodb_keeps_access"] = keeps_access
        admit = role_policies.admit
    capacity = runtime.components.get("dynamodb_capacity")
    if capacity is not None and role == "dynamodb":
        # Provisioned-throughput throttling needs the tables, which live here, not in the gateway.
        def check_capacity(ctx: Any) -> None:
            if ctx.service_name == "dynamodb" and ctx.native:
                capacity.check(ctx.operation_name or "", ctx.params, ctx.region)

        runtime.components["authorizer"] = check_capacity
    insights = None
    if role == "dynamodb":
        # Contributor Insights' rules are CloudWatch's (the monitoring role); auto scaling's policies
        # are Application Auto Scaling's (moto, in the gateway): emulator/cluster/insights.py, autoscaling.py.
        from emulator.cluster.autoscaling import RemoteScaling
        from emulator.cluster.insights import RemoteInsightRules

        insights = RemoteInsightRules(client, telemetry_flush)
        runtime.components["insight_rules_remote"] = insights
        lifecycle = runtime.components.get("dynamodb_lifecycle")
        if lifecycle is not None:
            scaling = RemoteScaling(client)
            lifecycle.autoscaling.remote = scaling
            engine = runtime.components.get("dynamodb")
            if engine is not None:
                engine.autoscaled = scaling.write_autoscaled
    audit = runtime.components.get("audit")
    runtime.recorder.remove(audit)
    runtime.components["authenticator"] = lambda ctx: role_mod.principal_from_headers(runtime, ctx)
    # Non-AWS surfaces (the OpenAI API) were authenticated by the gateway too.
    settings.auth = False
    sink = None
    if role == "monitoring":
        from emulator.cluster.insights import insights_route

        runtime.routes.append(role_mod.telemetry_route(runtime))
        runtime.routes.append(insights_route(runtime))
        runtime.routes.sort(key=lambda r: -len(r.prefix))
    elif settings.telemetry:
        # Samples (host, GPU, EC2 instances) come from the compute role, where the GPU and instances are;
        # the monitoring role samples its own host; the dynamodb role ships request telemetry only.
        sink = role_mod.TelemetrySink(runtime, client, telemetry_flush, telemetry_interval if role == "compute" else 0.0, skip_forwarded=False)
        runtime.recorder.consumers.append(sink)
        runtime.components["cluster_telemetry"] = sink
    compute = runtime.components.get("compute")
    if compute is not None:
        # Job results go to DynamoDB through the gateway (and so to the dynamodb role).
        compute.manager._dynamodb_client = role_mod.dynamodb_client_factory(runtime, settings.gateway_url, secret)

    # The banner (emulator/cli.py) says that this port is internal, behind the gateway.
    def start() -> None:
        heartbeat.start()
        if sink is not None:
            sink.start()
        if insights is not None:
            insights.start()

    def stop() -> None:
        heartbeat.stop()
        if sink is not None:
            sink.stop()
        if insights is not None:
            insights.stop()

    return role_mod.RoleGuard(app, secret, settings.max_body_bytes, start, stop, admit)


class _Lifespan:
    """Runs start/stop hooks with the server's lifespan (the gateway's background threads)."""

    def __init__(self, app: Any, on_start: Any, on_stop: Any) -> None:
        self.app = app
        self.on_start = on_start
        self.on_stop = on_stop

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        from emulator.cluster.role import lifespan_send

        await self.app(scope, receive, lifespan_send(send, self.on_start, self.on_stop))
