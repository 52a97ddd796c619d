"""S3 browser-based (POST-policy) uploads answered as S3 documents them.

moto's ``S3Response._bucket_response_post`` stores the upload (small ones parsed by werkzeug,
large ones handed over by gateway/post_stream.py); its answer differed from the S3 API
reference's "POST Object" and the S3 User Guide's "Browser-based uploads using POST":

- ``success_action_status``: "Valid values are 200, 201, or 204 (default). If the value is set
  to 200 or 204, Amazon S3 returns an empty document with a 200 or 204 status code. If the value
  is set to 201, Amazon S3 returns an XML document with a 201 status code. If the value is not
  set or if it is set to an invalid value, Amazon S3 returns an empty document with a 204 status
  code." The 201 document is ``<PostResponse>`` with the object's Location, Bucket, Key and ETag.
  moto answered any value as the status, and 201 with no body.
- ``success_action_redirect``: S3 redirects (303) to the URL with ``bucket``, ``key`` and
  ``etag`` appended to its query; the status field applies only "if success_action_redirect is
  not specified", and "If Amazon S3 cannot interpret the URL, it acts as if the field is not
  present" (here: a URL without an http(s) scheme and a host). moto appended bucket and key, and
  let ``success_action_status`` win over the redirect.
- The answer carries the object's ``ETag`` and, without a redirect, its URL as ``Location``.
- S3 ignores the fields after the ``file`` field (post_policy.parse_form, post_stream.FormStream):
  werkzeug parsed the whole form of a small upload, and moto applied them (an
  ``x-amz-meta-*`` after the file became metadata). Here a small upload's form is cut at the
  file as a large one's is, from the body moto got (its WSGI input, a BytesIO: fallback._call).
  A form without a ``key`` before the file: S3's InvalidArgument (moto: KeyError, a 500).

``success_action_*`` are not metadata: moto's ``metadata_from_headers`` keeps ``x-amz-meta-*``
and the user-settable headers only.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from emulator.errors import AwsError

_local = threading.local()
_installed = False
_STATUSES = frozenset({"200", "201", "204"})


@contextlib.contextmanager
def _capturing() -> Iterator[list[Any]]:
    """The keys S3Backend.put_object stores in this thread meanwhile."""
    previous = getattr(_local, "keys", None)
    keys: list[Any] = []
    _local.keys = keys
    try:
        yield keys
    finally:
        _local.keys = previous


def success_status(value: str | None) -> int:
    """``success_action_status`` as S3 answers it: 200, 201 or 204; anything else is 204."""
    return int(value) if value in _STATUSES else 204


def redirect_url(value: str | None) -> str | None:
    """``success_action_redirect`` if S3 can interpret it as a URL, else None."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def redirect_to(url: str, bucket: str, key: str, etag: str) -> str:
    """The redirect's URL: its own query, then ``bucket``, ``key`` and ``etag``."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("bucket", bucket), ("key", key), ("etag", etag)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def object_url(request: Any, key: str) -> str:
    """The object's URL in the style of the request's (path-style ``/bucket``, or ``/`` on a
    virtual-hosted bucket's host)."""
    parts = urlsplit(request.url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/{quote(key, safe='/~')}"


def post_response(location: str, bucket: str, key: str, etag: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<PostResponse><Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
        f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
    )


def _fields_before_file(request: Any) -> set[str] | None:
    """The names of a small upload's fields before its file (names as sent), from the body moto
    read; None where moto's form is already that (a large upload: post_stream.PostUploadBody)
    or the body is not at hand."""
    from emulator.gateway import post_stream, s3_stream

    if request.environ.get(s3_stream.UPLOAD_ENVIRON) is not None:
        return None
    stream = request.environ.get("wsgi.input")
    if not isinstance(stream, io.BytesIO):
        return None
    form = post_stream.FormStream(post_stream.boundary_of(request) or b"", lambda data: None)
    body = stream.getbuffer()
    try:
        for offset in range(0, len(body), s3_stream.BLOCK):  # up to the file's content only
            form.feed(bytes(body[offset : offset + s3_stream.BLOCK]))
            if form.file_seen or form.done:
                break
        else:
            form.finish()
    finally:
        body.release()
    if form.error is not None:
        raise form.error
    return {name for name, _ in form.pairs}


def _no_key() -> AwsError:
    return AwsError("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", 400)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    put_object = S3Backend.put_object

    @functools.wraps(put_object)
    def put_captured(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = put_object(self, *args, **kwargs)
        keys = getattr(_local, "keys", None)
        if keys is not None:
            keys.append(key)
        return key

    S3Backend.put_object = put_captured  # type: ignore[method-assign]

    bucket_post = S3Response._bucket_response_post

    @functools.wraps(bucket_post)
    def post(self: Any, request: Any, bucket_name: str) -> Any:
        self.path = self._get_path(request)
        if not request.headers.get("Content-Length") or self.is_delete_keys():
            return bucket_post(self, request, bucket_name)  # DeleteObjects, or moto's 411
        before = _fields_before_file(request)
        if before is not None:  # S3 ignores the fields after the file
            for name in [name for name in self.querystring if name not in before]:
                del self.querystring[name]
            self.form_data = {name: value for name, value in self.form_data.items() if name in before}
        if "key" not in self.querystring:
            raise _no_key()
        redirect = redirect_url(self.querystring.pop("success_action_redirect", [None])[0])
        status = success_status(self.querystring.pop("success_action_status", [None])[0])
        with _capturing() as keys:
            code, headers, body = bucket_post(self, request, bucket_name)
        if code != 204 or not keys:  # refused, or not stored as expected: moto's answer
            return code, headers, body
        key = keys[-1]
        headers = {name: value for name, value in headers.items() if name.lower() != "location"}
        headers["ETag"] = key.etag
        if redirect is not None:
            headers["Location"] = redirect_to(redirect, bucket_name, key.name, key.etag)
            return 303, headers, ""
        location = object_url(request, key.name)
        headers["Location"] = location
        if status == 201:
            headers["Content-Type"] = "application/xml"
            return 201, headers, post_response(location, bucket_name, key.name, key.etag)
        return status, headers, ""

    S3Response._bucket_response_post = post  # type: ignore[method-assign]
    _installed = True
