"""Fallback: services with no native handler are served in-process by moto.

Requests reach moto only after our own SigV4 verification; moto's werkzeug
dispatcher is a WSGI app, so it runs in a worker thread off the event loop.
Native handlers always win: this is consulted only when none exists.
moto keeps its state in memory; with the setting fallback_persistence (on by default) it is
saved in ``<data_dir>/fallback`` and loaded back at start (fallback_state.py).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import contextvars
import functools
import io
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from emulator import services
from emulator.context import Principal
from emulator.errors import AwsError
from emulator.gateway import s3_stream, sigv4
from emulator.gateway.fallback_memory import WeakInstances
from emulator.gateway.fallback_state import (
    LONG_POLLS,
    FallbackState,
    NotSaved,
    is_write,
    s3_logs_reads,
)
from emulator.protocols.base import Request, Response
from emulator.protocols.detect import credential_scope

T = TypeVar("T")

DEFAULT_ACCOUNT_ID = "000000000000"
# What moto sees of an S3 request that came without credentials: its service, S3, and that the
# gateway authorized it (gateway/s3_anonymous.py); no client can send it (no such key).
S3_UNSIGNED_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=anonymous/19700101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=anonymous"

# moto's calls run in threads of their own, not asyncio's default executor (min(32, cpus + 4)
# workers, shared with everything else): an SQS long poll (ReceiveMessage waiting up to 20 s)
# holds its thread for the whole wait, and six of them on a 2-core machine froze every
# moto-served service until one ended.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="moto")


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``asyncio.to_thread`` on the fallback's own executor (with the caller's context vars)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, functools.partial(context.run, fn, *args))


def caller_identity(principal: Principal, iam_store: Any = None) -> dict[str, str]:
    """STS GetCallerIdentity for the key that signed the request.

    moto answers it from its own IAM backend, which never sees the emulator's keys (IAM is
    native), so it would name its placeholder ``user/moto`` for every caller. AWS names the
    root user ``UserId`` = the account, ``arn:aws:iam::<account>:root``; an IAM user by its
    unique id (AIDA...) and user ARN (with its path)."""
    account = principal.account_id
    if principal.is_root:
        return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}
    user: dict[str, Any] = {}
    if iam_store is not None and iam_store.has_user(principal.user_name):
        user = iam_store.get_user(principal.user_name)
    return {"UserId": str(user.get("UserId") or principal.access_key_id), "Account": account, "Arn": str(user.get("Arn") or principal.arn)}


class NotServed(Exception):
    """moto has the service but not this operation (it raises NotImplementedError)."""


class UnknownRegion(Exception):
    """The request's region (its SigV4 scope's) is none moto serves the service in: a
    well-formed name that names no AWS region (``xx-fake-1``). moto fails looking its backend
    up (a KeyError, before it changed anything); the gateway refuses the credential's scope."""


def not_saved_error(error: NotSaved) -> AwsError:
    """The answer to a write whose snapshot could not be written (the disk full, read-only...):
    503 ServiceUnavailable in the request's protocol, never a success that a restart would lose.
    moto's state in memory may hold the change (fallback_state.FallbackState._snapshot)."""
    return AwsError("ServiceUnavailable", f"The emulator could not save the state of {error.package}: {error.reason}", 503)


class MotoFallback:
    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, state_dir: str | Path | None = None) -> None:
        # moto reads MOTO_ACCOUNT_ID on every request (moto.core.responses,
        # get_current_account, highest priority), so setting it here -- before
        # moto is imported -- makes fallback services (queue URLs, ARNs,
        # sts GetCallerIdentity) report the emulator's own account.
        self.account_id = account_id
        os.environ["MOTO_ACCOUNT_ID"] = account_id
        # AWS-managed policies (AWSLambdaBasicExecutionRole, ...) in moto's IAM, where roles
        # live (handlers/iam.py): attaching one to a role is the usual first step. Each new IAM
        # backend loads them: the first, and the first after a reset (MotoFallback.reset).
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        self._app: Any = None
        self._lock = threading.Lock()
        self._supported: set[str] | None = None
        # botocore service name -> the moto packages holding its state (_moto_packages).
        self._packages: dict[str, frozenset[str]] = {}
        # botocore service name -> the moto packages whose host patterns match its endpoint.
        self._landing: dict[str, frozenset[str]] = {}
        # Durable snapshots of moto's state, one file per package in ``state_dir``
        # (emulator/gateway/fallback_state.py); None keeps moto in memory only.
        self._state = FallbackState(Path(state_dir)) if state_dir is not None else None
        self._started = False
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Load the saved state back into moto (before its first request) and start saving.
        Called by Runtime.start; on first use otherwise."""
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                if self._state is not None:
                    self._state.start()
                self._started = True

    def stop(self) -> None:
        """Write what is not on disk yet (the last writes' snapshots)."""
        if self._state is not None and self._started:
            self._state.stop()

    def _wsgi(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    # Changes to moto's code, made before its first request (not at start: they
                    # import about ten moto packages, which a server that never calls moto skips).
                    from emulator.gateway import (
                        fallback_memory,
                        fallback_patches,
                        fallback_speed,
                    )
                    from emulator.gateway.s3_payload import patch_moto_checksums
                    from emulator.gateway.s3_policy import install_moto_hook

                    patch_moto_checksums()
                    install_moto_hook()  # the gateway decides S3 bucket policies, not moto
                    fallback_patches.install()  # AWS's errors where moto's state shows bad input
                    fallback_speed.install()  # where moto's cost grows with its state for nothing
                    fallback_memory.install()  # moto's objects freed once moto drops them
                    from moto.moto_server import werkzeug_app
                    from moto.moto_server.werkzeug_app import (
                        DomainDispatcherApplication,
                        create_backend_app,
                    )

                    # No flask-cors wildcard on every answer: CORS is the gateway's
                    # (emulator/gateway/cors.py), S3's from each bucket's configuration.
                    werkzeug_app.DISABLE_GLOBAL_CORS = True

                    def backend_app(service: Any) -> Any:
                        # moto turns Flask's debug mode on. In it, a request whose form
                        # data is read with another content type than multipart gets a
                        # class made for it (flask debughelpers) that refers back to the
                        # request: a reference cycle holding the request's body until the
                        # collector runs, which the gateway's GC threshold (cli.py) makes
                        # rare: 40 PutObjects of 8 MiB kept ~300 MiB. Errors still reach the
                        # gateway as exceptions, as debug made them (PROPAGATE_EXCEPTIONS,
                        # TRAP_BAD_REQUEST_ERRORS).
                        app = create_backend_app(service)
                        app.debug = False
                        app.config["PROPAGATE_EXCEPTIONS"] = True
                        app.config["TRAP_BAD_REQUEST_ERRORS"] = True
                        return app

                    self._app = DomainDispatcherApplication(backend_app)
        return self._app

    def served(self) -> frozenset[str]:
        """botocore service names that moto serves.

        moto routes by host name (moto/backend_index.py, backend_url_patterns); a service
        is served when one of those patterns matches its regional endpoint. Names differ
        ("lambda" is moto's "awslambda", "monitoring" is "cloudwatch"), so matching the
        endpoint is the reliable test.
        """
        if self._supported is None:
            from moto.backend_index import backend_url_patterns

            from emulator import services

            supported: set[str] = set()
            for name, info in services.index().by_name.items():
                url = f"https://{info.endpoint_prefix}.us-east-1.amazonaws.com"
                if any(pattern.match(url) for _, pattern in backend_url_patterns):
                    supported.add(name)
            self._supported = supported
        return frozenset(self._supported)

    def _moto_packages(self) -> dict[str, frozenset[str]]:
        """botocore service name -> the moto packages (``moto.<package>``) holding its state.

        moto's own name for a service (as ``moto.backends.get_backend`` derives it: "lambda"
        is "awslambda", "acm-pca" "acmpca") when that package exists. A name without one
        (docdb, neptune, s3outposts, lambda-web...) has its requests served by the packages
        whose host patterns match its endpoint, but a package that is some other service's own
        stays that service's alone: "keep s3" must keep S3's buckets whatever "s3outposts"
        says, so DocumentDB's and Neptune's clusters, moto's RDS ones, are reset with "rds"."""
        if not self._packages:
            from moto.backend_index import backend_url_patterns
            from moto.backends import ALT_SERVICE_NAMES, list_of_moto_modules

            from emulator import services

            modules = set(list_of_moto_modules())
            landing: dict[str, set[str]] = {}
            for name in self.served():
                url = f"https://{services.index().by_name[name].endpoint_prefix}.us-east-1.amazonaws.com"
                landing[name] = {package for package, pattern in backend_url_patterns if pattern.match(url)}
            safe = {name: name.replace("-", "") for name in landing}
            own = {name: s for name, s in safe.items() if s in modules}  # "sqs", "acmpca"
            owned = set(own.values())
            for name, s in safe.items():  # "lambda" -> "awslambda"; not "neptune" -> "rds", which is "rds"'s
                package = ALT_SERVICE_NAMES.get(s, "")
                if name not in own and package in modules and package not in owned:
                    own[name] = package
            owned = set(own.values())
            self._landing = {name: frozenset(found) for name, found in landing.items()}
            self._packages = {name: frozenset({own[name]} if name in own else found - owned) for name, found in landing.items()}
        return self._packages

    def supports(self, service: str) -> bool:
        return service in self.served()

    def backend(self, service: str, region: str) -> Any:
        """moto's in-memory backend of a service (e.g. "ec2") in this account and ``region``: what
        a native handler checks references against (RunInstances' key pair, subnet, groups)."""
        from moto.backends import get_backend

        self.start()
        try:
            return get_backend(service)[self.account_id][region]  # type: ignore[call-overload]
        except KeyError:
            raise sigv4.invalid_region(services.service_model(service).protocol) from None  # a made-up region

    async def change(self, service: str, fn: Callable[[], T], write: bool = True) -> T:
        """Run ``fn``, which reads or changes moto's backends of ``service`` directly (a native
        service delivering into moto: DynamoDB's Kinesis destinations), in a worker thread as
        ``dispatch`` runs a request of ``service``: holding its packages' locks, and, for a write,
        returning once the snapshots covering it are on disk (the same group commit)."""
        self.start()
        state = self._state
        if state is None:
            return await _in_thread(fn)
        own = self._written_packages(service)
        locked = state.lock_set(own, False)

        def call() -> tuple[T, list[tuple[str, int]]]:
            with state.shared(locked):
                out = fn()
            return out, state.mark(state.dirty_set(own)) if write else []

        out, tickets = await _in_thread(call)
        if tickets:
            try:
                await state.wait(tickets)
            except NotSaved as exc:
                raise not_saved_error(exc) from None
        return out

    def reset(self, services: set[str] | None) -> None:
        """Forget the state of moto's backends: all of them (None), or those serving the named
        botocore services (``POST /_emulator/reset``, before every test of the pytest plugin).

        moto's own reset (/moto-api/reset: ``BackendDict.reset``) re-creates every instantiated
        region backend and then drops it anyway, so it pays each backend's ``__init__`` twice:
        IAM's parses ~1,300 AWS managed policies, EC2's its AMIs and instance types. Here the backends are only dropped: moto creates one again, empty, on the
        next request that needs it (BackendDict.__getitem__), and a new IAM backend loads the
        managed policies again (MOTO_IAM_LOAD_MANAGED_POLICIES), so they stay attachable. Only
        instantiated ones are visited (``BackendDict._instances``): a reset with nothing to do
        does no work, however many services moto has (its cost: ``python -m bench.reset_bench``).

        Their snapshots are deleted too (all of them for None), so that a restart does not bring
        them back; no snapshot runs meanwhile, so none in flight writes one back afterwards."""
        self.start()
        state = self._state
        with state.paused() if state is not None else contextlib.nullcontext():
            self._reset(services)

    def _reset(self, services: set[str] | None) -> None:
        from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
        from moto.core.model_instances import model_data

        packages: set[str] | None = None
        if services is not None:
            by_name = self._moto_packages()
            packages = set().union(*(by_name.get(name, frozenset()) for name in services))
        if self._state is not None:
            self._state.forget(packages)
        # moto's lock: held while it creates a backend, so that none is half made while dropped.
        # A request running meanwhile keeps the backend it already holds and writes to it, lost.
        with backend_lock:
            for backends in list(BackendDict._instances):  # type: ignore[misc]  # as moto itself reads it
                package = backends.backend.__module__.split(".")[1]  # moto.<package>.models
                if packages is not None and package not in packages:
                    continue
                for account in backends.values():
                    for backend in account.values():
                        if type(backend).reset is not BaseBackend.reset:
                            # Its own clean-up: S3 closes its keys' temporary files and frees the
                            # bucket names (s3_backends.bucket_accounts); Batch stops its job threads.
                            backend.reset()
                backends.clear()
                BackendDict._instances.remove(backends)  # type: ignore[misc]
                # Organizations' map of member accounts, which moto's reset forgets to clear:
                # it would refuse CreateOrganization to an account of a dropped organization.
                master_accounts = getattr(backends, "master_accounts", None)
                if isinstance(master_accounts, dict):
                    master_accounts.clear()
            # moto's record of the model objects it made (``instances_tracked``; weak here,
            # fallback_memory.py): the reset ones are gone.
            for package in list(model_data) if packages is None else packages:
                for model in model_data.get(package, {}).values():
                    model.instances_tracked = WeakInstances()  # type: ignore[attr-defined]

    async def dispatch(self, request: Request, service: str | None = None, operation: str | None = None) -> Response:
        """moto's answer to a request of the botocore ``service`` and ``operation`` (None: unknown,
        then every moto package counts as possibly changed).

        With persistence, a request that may change state (fallback_state.is_write) is answered
        once a snapshot of its packages taken after moto answered is on disk (group commit)."""
        self.start()
        state = self._state
        if state is None:
            return await _in_thread(self._call, request, service)
        own = self._written_packages(service)
        write = is_write(request.method, request.query_string, operation) or (service == "s3" and s3_logs_reads())
        locked = state.lock_set(own, (service, operation) in LONG_POLLS)

        def call() -> tuple[Response, list[tuple[str, int]]]:
            with state.shared(locked):
                response = self._call(request, service)
            return response, state.mark(state.dirty_set(own)) if write else []

        response, tickets = await _in_thread(call)
        if tickets:
            try:
                await state.wait(tickets)
            except NotSaved as exc:
                raise not_saved_error(exc) from None
        return response

    def persistence_failures(self) -> dict[str, str]:
        """moto's packages whose state cannot be saved now, and why (/_emulator/health)."""
        return self._state.failures() if self._state is not None else {}

    def housekeeping(self) -> list[str]:
        """Every few seconds (Runtime's housekeeping): retry the snapshots that failed; returns
        the databases open that were deleted or replaced under the server (their path)."""
        if self._state is None or not self._started:
            return []
        self._state.retry_failed()
        gone = []
        for path, inode in self._state.open_files():
            try:
                if os.stat(path).st_ino == inode:
                    continue
            except OSError:
                pass
            gone.append(str(path))
        return gone

    def _written_packages(self, service: str | None) -> frozenset[str] | None:
        """The moto packages a request of ``service`` may change: its own (_moto_packages), or,
        for a name without one (docdb and neptune are served by moto's rds, and the gateway may
        name an RDS request either), those serving its endpoint. None when unknown: all."""
        if service is None:
            return None
        own = self._moto_packages().get(service)
        return own or self._landing.get(service) or None

    def _call(self, request: Request, service: str | None = None) -> Response:
        # For S3 a Content-Encoding describes the object, stored as sent (a PutObject of a .gz
        # file keeps its bytes and its ContentEncoding). app._decompress leaves SigV4-signed S3
        # bodies alone; one it decoded anyway (a SigV2 presigned URL, which names no service)
        # reaches moto as it came on the wire.
        wire = request.wire_body if service == "s3" else None
        body = request.body if wire is None else wire
        upload = None
        stream: io.BytesIO | io.FileIO = io.BytesIO(body)
        if request.body_file is not None and service == "s3":  # a large upload, spooled (s3_stream.py)
            upload = request.body_file.body()
            stream = io.FileIO(os.dup(upload.fd), "rb")
        host = request.headers.get("host", "localhost")
        server_name, _, port = host.partition(":")
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "RAW_URI": request.raw_path + ("?" + request.query_string if request.query_string else ""),
            "QUERY_STRING": request.query_string,
            "SERVER_NAME": server_name,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.scheme,
            "wsgi.input": stream,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body) if upload is None else upload.size),
            "REMOTE_ADDR": request.client_ip or "127.0.0.1",
        }
        if upload is not None:
            environ[s3_stream.UPLOAD_ENVIRON] = upload
        if "content-type" in request.headers:
            environ["CONTENT_TYPE"] = request.headers["content-type"]
        decoded = request.wire_body is not None and wire is None  # the gateway decoded Content-Encoding
        for name, value in request.headers.items():
            # Transfer-Encoding: the server already de-chunked the body, whose length is
            # CONTENT_LENGTH; with "chunked" werkzeug ignores that length and reads an empty
            # body (a JS SDK PutObject of a stream, aws-chunked, stored 0 bytes).
            if name in ("content-type", "content-length", "transfer-encoding") or (decoded and name == "content-encoding"):
                continue
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        if "authorization" not in request.headers:
            # A presigned URL (already verified by the gateway) carries its credential in the
            # query string; moto picks the backend from the Authorization header's credential
            # scope (werkzeug_app.infer_service_region_host) and would otherwise guess S3.
            credential = request.query_one("X-Amz-Credential")
            if credential:
                environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=presigned"
            elif service == "s3" and request.query_one("Signature") is None:
                # No credentials at all (the gateway let an anonymous principal in:
                # gateway/s3_anonymous.py): moto would guess an unsigned request's service from
                # its path and body (a key ending in /.well-known/jwks.json goes to Cognito).
                environ["HTTP_AUTHORIZATION"] = S3_UNSIGNED_AUTHORIZATION
        status_holder: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_holder["status"] = int(status.split(" ", 1)[0])
            status_holder["headers"] = headers
            return lambda data: None

        try:
            # GetObject's body is not in the bytes read: moto answers it as an ObjectBody, which
            # the gateway streams (s3_stream.py).
            with s3_stream.collecting() as streams:
                try:
                    chunks = self._wsgi()(environ, start_response)
                except NotImplementedError as exc:  # moto: "The <action> action has not been implemented"
                    raise NotServed(str(exc)) from None
                except KeyError as exc:
                    scope = credential_scope(request)
                    if scope is not None and exc.args and exc.args[0] == scope[2]:  # moto's backend lookup by region
                        raise UnknownRegion(scope[2]) from None
                    raise
                try:
                    body = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close:
                        close()
        finally:
            stream.close()
        # The server sets Content-Length from the body, except for HEAD, where it is the size
        # of what a GET would answer (S3 HeadObject's ContentLength).
        dropped = ("server", "date", "connection") if request.method == "HEAD" else ("content-length", "server", "date", "connection")
        headers = {k.lower(): v for k, v in status_holder.get("headers", []) if k.lower() not in dropped}
        status = status_holder.get("status", 500)
        stamp_request_id(headers, request.request_id, service == "s3")
        if not body and status < 300 and headers.get("content-type", "").startswith("text/html") and (service != "s3" or request.method == "PUT"):
            # werkzeug's default type on an answer without a body (S3's PutObject, UploadPart):
            # AWS names none (a HEAD or GET keeps it: S3's is the object's own).
            del headers["content-type"]
        elif body[:1] == b"{" and service is not None and headers.get("content-type", "").startswith("text/html") and services.service_model(service).protocol == "rest-json":
            headers["content-type"] = "application/json"  # a JSON answer under werkzeug's default (Lambda's ListFunctions)
        if streams:
            return s3_stream.streamed(status, headers, streams[-1])
        return Response(status, headers, stamp_request_id_body(body, request.request_id))


# moto makes up its own request ids; the client should see the one the emulator answers with
# in x-amzn-RequestId and writes in its access and audit logs, so that a RequestId in a
# client's log or exception finds the server's lines. botocore reads it from the body for the
# query and EC2 protocols (<RequestId>, EC2's <requestId>) and from x-amz-request-id for S3.
_XML_REQUEST_ID = re.compile(rb"<(RequestId|requestId)>[^<]{0,200}</(?:RequestId|requestId)>")


def stamp_request_id(headers: dict[str, str], request_id: str, s3: bool = False) -> None:
    """S3 answers every request with x-amz-request-id (moto with some only) and x-amz-id-2 (the
    SDKs' extended request id; moto with none). moto's ``status`` header, and the upload's
    x-amz-content-sha256 it keeps with an object, are no answer's headers on AWS."""
    headers.pop("status", None)
    if request_id and (s3 or "x-amz-request-id" in headers):
        headers["x-amz-request-id"] = request_id
    if s3:
        if "x-amz-id-2" not in headers:
            headers["x-amz-id-2"] = base64.b64encode(os.urandom(48)).decode("ascii")
        headers.pop("x-amz-content-sha256", None)  # a request header moto kept with the object


def stamp_request_id_body(body: bytes, request_id: str) -> bytes:
    if not request_id or b"equestId>" not in body:
        return body
    rid = request_id.encode()
    return _XML_REQUEST_ID.sub(lambda m: b"<%s>%s</%s>" % (m.group(1), rid, m.group(1)), body, count=2)
