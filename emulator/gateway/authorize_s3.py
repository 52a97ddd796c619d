"""GetObject and HeadObject of a key that does not exist, for a signed caller: ``404 NoSuchKey``
when the caller may list the bucket (s3:ListBucket), ``403 AccessDenied`` when not. The GetObject
API reference: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status
code 403 Access Denied error" (so a caller allowed to read keys cannot learn which do not exist).
The anonymous principal's requests are decided the same way, before moto (gateway/s3_anonymous.py).

Only a miss costs anything: the authorizer hands its decision for s3:ListBucket on the bucket to
this request (``missing_key_check``, a context variable, as s3_policy.object_check does for
DeleteObjects' keys), and moto's answer to a GET or HEAD of a key (S3Response.key_response,
wrapped once by ``install``) asks it only when that answer is a 404 from a bucket that exists
(NoSuchKey; NoSuchVersion, or a delete marker's NoSuchKey, alike). A hit answers as before.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any

from emulator.errors import AwsError

# (bucket, the refusal to give, None when the caller may list the bucket) for this request.
_check: contextvars.ContextVar[tuple[str, Callable[[], AwsError | None]] | None] = contextvars.ContextVar("s3_missing_key_check", default=None)
_installed = False
_install_lock = threading.Lock()


def missing_key_check(bucket: str | None, check: Callable[[], AwsError | None] | None) -> None:
    """Decide a missing key of ``bucket`` with ``check`` (the request's context only); None: no check."""
    if check is None or bucket is None:
        if _check.get() is not None:
            _check.set(None)
        return
    install()
    _check.set((bucket, check))


def install() -> None:
    """Wrap moto's S3 key requests (once)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        from moto.s3.responses import S3Response

        S3Response.key_response = _key_response(S3Response.key_response)  # type: ignore[method-assign]
        _installed = True


def _refusal(response: Any, request: Any, full_url: str) -> AwsError | None:
    """The request's refusal for a key that is not there, or None (no check, another bucket, the
    caller may list the bucket)."""
    found = _check.get()
    if found is None:
        return None
    try:
        bucket = response.parse_bucket_name_from_url(request, full_url)
    except Exception:  # noqa: BLE001 - moto's answer stands
        return None
    if bucket != found[0]:
        return None
    return found[1]()


def _key_response(original: Any) -> Any:
    @functools.wraps(original)
    def key_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        if _check.get() is None or request.method not in ("GET", "HEAD"):
            return original(self, request, full_url, headers)
        try:
            answer = original(self, request, full_url, headers)
        except AwsError as error:  # gateway/s3_versions.py: the latest version is a delete marker
            if error.status == 404 and error.code == "NoSuchKey":
                refusal = _refusal(self, request, full_url)
                if refusal is not None:
                    raise refusal from None
            raise
        if isinstance(answer, tuple) and answer and answer[0] == 404:
            refusal = _refusal(self, request, full_url)
            if refusal is not None:
                raise refusal
        return answer

    return key_response
