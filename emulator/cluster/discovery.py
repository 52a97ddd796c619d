"""Service discovery for the gateway: which instances serve each role, and are they healthy.

Sources, merged by URL:

- static configuration: ``peers = ["dynamodb=http://10.0.0.5:4567", ...]`` (``--peer``);
- registration: role processes POST ``/_emulator/cluster/register`` every
  ``heartbeat_interval`` seconds; an entry expires after ``HEARTBEAT_MISSES`` missed
  heartbeats. With ``settings.redis`` the registry is a Redis hash of expiring keys,
  so several gateways share it; otherwise it lives in this process.

Health: a thread polls ``/_emulator/health`` of every known instance; an instance
that fails a check, or whose connection fails while forwarding, is taken out of
rotation until a check or heartbeat says it is back.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("emulator.cluster")

ROLES = ("gateway", "dynamodb", "compute", "monitoring")
HEARTBEAT_MISSES = 3
REDIS_PREFIX = "emulator:cluster:instance:"


@dataclass
class Instance:
    role: str
    url: str
    instance_id: str = ""
    static: bool = False
    expires: float = 0.0  # monotonic-free wall time; 0: never (static)
    healthy: bool = True
    # The instance itself said it is not serving (farewell heartbeat, failed health status), as opposed
    # to a connection that failed: only the latter may be stale and is retried when nothing else is left.
    said_down: bool = False
    checked: float = 0.0
    error: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "role": self.role, "url": self.url, "instance_id": self.instance_id, "source": "static" if self.static else "registered",
            "healthy": self.healthy, "last_check": self.checked, "error": self.error,
            "expires_in": round(self.expires - time.time(), 3) if self.expires else None,
        }


def parse_peers(peers: list[str]) -> list[tuple[str, str]]:
    out = []
    for spec in peers:
        role, sep, url = spec.partition("=")
        role, url = role.strip(), url.strip().rstrip("/")
        if not sep or role not in ROLES or not url.startswith(("http://", "https://")):
            raise ValueError(f"bad peer {spec!r}: expected ROLE=http://host:port with ROLE one of {', '.join(ROLES[1:])}")
        out.append((role, url))
    return out


class MemoryRegistry:
    """Registered instances of this gateway process."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, entry: dict[str, Any], ttl: float) -> None:
        with self._lock:
            self._entries[entry["url"]] = {**entry, "expires": time.time() + ttl}

    def entries(self) -> list[dict[str, Any]]:
        now = time.time()
        with self._lock:
            for url in [u for u, e in self._entries.items() if e["expires"] <= now]:
                del self._entries[url]
            return list(self._entries.values())

    def health(self) -> dict[str, Any]:
        return {"backend": "memory"}


class RedisRegistry:
    """One key per instance with a TTL: Redis expires the missed heartbeats for every gateway."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def put(self, entry: dict[str, Any], ttl: float) -> None:
        doc = {**entry, "expires": time.time() + ttl}
        self.client.set(REDIS_PREFIX + entry["url"], json.dumps(doc), px=max(1, int(ttl * 1000)))

    def entries(self) -> list[dict[str, Any]]:
        keys = list(self.client.scan_iter(match=REDIS_PREFIX + "*", count=500))
        if not keys:
            return []
        out = []
        for raw in self.client.mget(keys):
            if raw:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    continue
        return out

    def health(self) -> dict[str, Any]:
        return {"backend": "redis", "url": self.url.split("@")[-1]}


class Discovery:
    def __init__(self, peers: list[str], registry: MemoryRegistry | RedisRegistry, health_interval: float = 2.0) -> None:
        self.registry = registry
        self.health_interval = health_interval
        self._static = parse_peers(peers)
        self._instances: dict[str, Instance] = {}
        self._by_role: dict[str, list[Instance]] = {}
        self._all_by_role: dict[str, list[Instance]] = {}
        self._rr: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.registry_error = ""
        for role, url in self._static:
            self._instances[url] = Instance(role, url, static=True)
        self._rebuild()

    # ------------------------------------------------------------ registration
    def register(self, entry: dict[str, Any], interval: float) -> None:
        """A heartbeat: the instance is alive and (per its own report) healthy."""
        role, url = entry.get("role"), str(entry.get("url", "")).rstrip("/")
        if role not in ROLES or role == "gateway" or not url.startswith(("http://", "https://")):
            raise ValueError("registration needs a role (dynamodb, compute or monitoring) and an http(s) url")
        clean = {"role": role, "url": url, "instance_id": str(entry.get("instance_id", "")), "healthy": bool(entry.get("healthy", True))}
        ttl = max(0.1, float(interval)) * HEARTBEAT_MISSES
        self.registry.put(clean, ttl)
        with self._lock:
            inst = self._instances.get(url)
            if inst is None or inst.role != role:
                inst = self._instances[url] = Instance(role, url, clean["instance_id"], static=any(u == url for _, u in self._static))
            inst.instance_id = clean["instance_id"]
            if not inst.static:
                inst.expires = time.time() + ttl
            inst.healthy = clean["healthy"]
            inst.said_down = not inst.healthy
            listed = entry.get("services")
            if "services" not in inst.info and isinstance(listed, list):
                # Until a health check reads the role's own report: what its heartbeat lists.
                inst.info["services"] = {str(s): {"state": "running" if inst.healthy else "unknown"} for s in listed}
            inst.error = "" if inst.healthy else "reported unhealthy"
            self._rebuild_locked()

    def _refresh(self) -> None:
        """Merge the registry (Redis: other gateways' registrations too) and drop expired entries."""
        try:
            entries = self.registry.entries()
            self.registry_error = ""
        except Exception as exc:  # noqa: BLE001 - Redis down: keep what we know until it expires
            self.registry_error = f"{type(exc).__name__}: {exc}"
            entries = None
        now = time.time()
        with self._lock:
            if entries is not None:
                for e in entries:
                    inst = self._instances.get(e["url"])
                    if inst is None:
                        inst = self._instances[e["url"]] = Instance(e["role"], e["url"], e.get("instance_id", ""), healthy=bool(e.get("healthy", True)))
                    if not inst.static:
                        inst.expires = max(inst.expires, float(e.get("expires", 0)))
            for url in [u for u, i in self._instances.items() if not i.static and i.expires <= now]:
                log.info("cluster: %s instance %s missed its heartbeats; removed", self._instances[url].role, url)
                del self._instances[url]
            self._rebuild_locked()

    def _rebuild(self) -> None:
        with self._lock:
            self._rebuild_locked()

    def _rebuild_locked(self) -> None:
        by_role: dict[str, list[Instance]] = {}
        every: dict[str, list[Instance]] = {}
        for inst in self._instances.values():
            if not inst.said_down:
                every.setdefault(inst.role, []).append(inst)
            if inst.healthy:
                by_role.setdefault(inst.role, []).append(inst)
        self._by_role = by_role
        self._all_by_role = every

    # ------------------------------------------------------------ routing
    def candidates(self, role: str) -> list[str]:
        """Healthy instances of a role, rotated round-robin so that load spreads.

        When every known instance is marked unhealthy, those that were taken out only
        because a connection or probe failed are returned (as Envoy's "panic mode" does):
        that verdict can be stale (an instance that was starting up), and a dead one fails
        at connect, costing a refused connection. Instances that said they are not serving
        are never tried: no instance left means 503 ServiceUnavailable.
        """
        healthy = self._by_role.get(role)
        if not healthy:
            healthy = self._all_by_role.get(role)
            if not healthy:
                return []
        start = next(self._rr.setdefault(role, itertools.count())) % len(healthy)
        return [i.url for i in healthy[start:] + healthy[:start]]

    def healthy_instances(self, role: str) -> list[Instance]:
        """The instances of a role in rotation now (what ``candidates`` prefers)."""
        return list(self._by_role.get(role, ()))

    def mark_up(self, url: str) -> None:
        """A forwarded request succeeded: the instance is serving."""
        inst = self._instances.get(url)
        if inst is not None and not inst.healthy:
            with self._lock:
                log.info("cluster: %s instance %s answers again", inst.role, url)
                inst.healthy, inst.said_down, inst.error, inst.checked = True, False, "", time.time()
                self._rebuild_locked()

    def mark_down(self, url: str, error: str) -> None:
        with self._lock:
            inst = self._instances.get(url)
            if inst is not None and inst.healthy:
                log.warning("cluster: %s instance %s is unreachable (%s); taken out", inst.role, url, error)
                inst.healthy = False
                inst.error = error
                inst.checked = time.time()
                self._rebuild_locked()

    # ------------------------------------------------------------ health checks
    def check_all(self) -> None:
        self._refresh()
        with self._lock:
            targets = list(self._instances.values())
        for inst in targets:
            result = probe(inst.url)
            ok, error, answered = result[:3]
            with self._lock:
                if inst.healthy != ok:
                    log.info("cluster: %s instance %s is %s", inst.role, inst.url, "healthy" if ok else f"unhealthy ({error})")
                inst.healthy, inst.error, inst.checked = ok, error, time.time()
                inst.said_down = not ok and answered
                if len(result) > 3 and isinstance(result[3], dict):
                    inst.info["services"] = result[3]  # the role's own report of its services (gateway health)
        self._rebuild()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="cluster-health", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.health_interval):
            try:
                self.check_all()
            except Exception:
                log.exception("cluster health check failed")

    def health(self) -> dict[str, Any]:
        with self._lock:
            instances = [i.view() for i in self._instances.values()]
        return {"registry": self.registry.health(), "registry_error": self.registry_error, "instances": instances}


def probe(url: str, timeout: float = 2.0) -> tuple[bool, str, bool, dict[str, Any] | None]:
    """GET /_emulator/health: healthy when it answers 200 with status ok.

    Returns (healthy, error, answered, services): ``answered`` tells an instance that said it
    is unwell from one that could not be reached; ``services`` is the ``services`` part of its
    report (None when there is none), which the gateway's own health shows."""
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", "/_emulator/health")
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            return False, f"health check answered {resp.status}", True, None
        doc = json.loads(body)
        status = doc.get("status")
        services = doc.get("services")
        return status == "ok", "" if status == "ok" else f"status {status}", True, services if isinstance(services, dict) else None
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}", False, None
    except (ValueError, AttributeError) as exc:
        return False, f"health answer is not JSON: {exc}", True, None
    finally:
        conn.close()
