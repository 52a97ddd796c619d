"""S3 versioning as S3 versions objects (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html).

moto keeps a key's versions in a list, oldest first (``bucket.keys.getlist(name)``), of
``FakeKey`` and ``FakeDeleteMarker``; its versioning-suspended bucket was an unversioned one,
and a few versioned paths failed. Here, installed from fallback_patches._s3:

- PutObject (and a copy, a completed upload) into a *suspended* bucket replaces the key's
  "null" version only and becomes the latest; moto replaced every version, so the versions
  written while versioning was enabled were lost.
- DeleteObject without a version id writes a delete marker on a versioned bucket, of a key that
  does not exist too (moto: none, KeyError swallowed); on a suspended bucket the marker is the
  "null" version, replacing the null object (moto deleted every version). With a version id it
  removes that version only, answering x-amz-delete-marker when it was a marker (moto: not for
  a marker over an object), and a version that is not there is no error (S3 answers 204).
  DeleteObjects answers DeleteMarker and DeleteMarkerVersionId the same way. Each object
  version removed is an ``s3:ObjectRemoved:Delete`` event, each marker written an
  ``s3:ObjectRemoved:DeleteMarkerCreated`` one (moto: Delete once the last version went, no
  marker event).
- GetObject of a key whose latest version is a delete marker: 404 NoSuchKey with
  x-amz-delete-marker and the marker's x-amz-version-id; of a marker named by its version id:
  405 MethodNotAllowed with x-amz-delete-marker, x-amz-version-id and Last-Modified (moto: 404
  NoSuchVersion). HeadObject the same, without a body (moto left out Last-Modified), and a
  version of a suspended bucket can be read (moto answered 400 to HeadObject with a version id
  on a bucket that is not versioning-enabled).
- CopyObject / UploadPartCopy whose source's version id names a delete marker: ``400
  InvalidRequest`` (moto: 404 NoSuchVersion).
- ListObjectVersions lists each key's versions newest first by the order they were written
  (moto sorted by timestamp: two writes in one millisecond swapped, and IsLatest with them),
  a KeyMarker alone starts after that key (moto listed part of it again), and versions are not
  deep-copied to be listed.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from emulator.errors import AwsError

# A key's version list is read and rewritten by the functions below (moto's own calls run
# concurrently under a shared lock): one lock keeps two writes to a list from losing each other's.
_lock = threading.Lock()
_local = threading.local()
_NULL = "null"
_NOT_ALLOWED = "The specified method is not allowed against this resource."


def _versions(bucket: Any, name: str) -> list[Any]:
    return list(bucket.keys.getlist(name, None) or [])


def _find(versions: list[Any], version_id: str) -> Any:
    return next((v for v in versions if str(v.version_id) == str(version_id)), None)


def _marker(name: str, version_id: str) -> Any:
    """A delete marker of ``name`` (moto's FakeDeleteMarker wants the object it hides; a marker
    of a key that has none hides nothing, so none is kept for any)."""
    from moto.core.utils import utcnow
    from moto.s3.models import FakeDeleteMarker

    marker: Any = FakeDeleteMarker.__new__(FakeDeleteMarker)
    marker.key = None
    marker.name = name
    marker.last_modified = utcnow()
    marker._version_id = version_id
    return marker


def _is_marker(item: Any) -> bool:
    from moto.s3.models import FakeDeleteMarker

    return isinstance(item, FakeDeleteMarker)


def _http_date(item: Any) -> str:
    from moto.core.utils import rfc_1123_datetime

    return str(rfc_1123_datetime(item.last_modified))


def _marker_headers(marker: Any, named: bool) -> dict[str, str]:
    headers = {"x-amz-delete-marker": "true", "x-amz-version-id": str(marker.version_id)}
    if named:  # the 405 of a marker named by its version id
        headers["last-modified"] = _http_date(marker)
        headers["allow"] = "DELETE"
    return headers


# ------------------------------------------------------------------ writes
def _put_object(original: Any) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def put_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.s3 import notifications

        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        bucket = self.get_bucket(arguments["bucket_name"])
        if bucket.versioning_status != "Suspended":
            return original(self, *args, **kwargs)
        name = arguments["key_name"]
        # The event is sent once the lock is let go: a notified function may write this key.
        notify = not arguments["disable_notification"]
        arguments["disable_notification"] = True
        with _lock:
            # moto writes a suspended bucket's key as an unversioned one, a list of the new
            # object alone, disposing of the others: the list is taken out of its way first.
            older = dict.pop(bucket.keys, name, None)
            try:
                new_key = original(*bound.args, **bound.kwargs)
            except BaseException:
                if older is not None:
                    dict.__setitem__(bucket.keys, name, older)
                raise
            replaced = [v for v in older or [] if str(v.version_id) == _NULL]
            dict.__setitem__(bucket.keys, name, [v for v in older or [] if str(v.version_id) != _NULL] + [new_key])
        for version in replaced:
            if hasattr(version, "dispose"):
                version.dispose()
        if notify:
            events = notifications.S3NotificationEvent
            event = events.OBJECT_CREATED_POST_EVENT if arguments["request_method"] == "POST" else events.OBJECT_CREATED_PUT_EVENT
            notifications.send_event(self.account_id, event, bucket, new_key)
        return new_key

    return put_object


class _MarkerEvent:
    """A delete marker as moto's event records read an object (a marker has no body: size 0,
    no ETag)."""

    def __init__(self, marker: Any) -> None:
        self.name = marker.name
        self.version_id = marker.version_id
        self.size = 0
        self.etag = ""


def _delete_object(original: Any) -> Any:
    @functools.wraps(original)
    def delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False) -> tuple[bool, dict[str, Any]]:
        from moto.moto_api._internal import mock_random
        from moto.s3 import notifications
        from moto.s3.exceptions import AccessDeniedByLock
        from moto.s3.models import FakeKey, FakeTableStorageBucket

        bucket = self.get_bucket(bucket_name)
        status = bucket.versioning_status
        if isinstance(bucket, FakeTableStorageBucket) or status not in ("Enabled", "Suspended"):
            return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)  # type: ignore[no-any-return]
        meta: dict[str, Any] = {}
        removed: list[Any] = []
        written: Any = None
        with _lock:
            versions = _versions(bucket, key_name)
            if version_id is None:
                # A delete marker becomes the latest version: a new version on an enabled
                # bucket, the "null" one on a suspended bucket (replacing a null object).
                marker = _marker(key_name, str(mock_random.uuid4()) if status == "Enabled" else _NULL)
                if status == "Suspended":
                    removed = [v for v in versions if str(v.version_id) == _NULL]
                    versions = [v for v in versions if str(v.version_id) != _NULL]
                dict.__setitem__(bucket.keys, key_name, [*versions, marker])
                written = marker
                meta = {"version-id": marker.version_id, "delete-marker": "true"}
            else:
                meta["version-id"] = version_id
                target = _find(versions, version_id)
                if target is None:
                    return True, meta  # S3: deleting a version that is not there is no error
                if isinstance(target, FakeKey) and target.is_locked(governance_bypass=bypass):
                    raise AccessDeniedByLock
                if _is_marker(target):
                    meta["delete-marker"] = "true"
                rest = [v for v in versions if v is not target]
                if rest:
                    dict.__setitem__(bucket.keys, key_name, rest)
                else:
                    dict.pop(bucket.keys, key_name, None)
                removed = [target]
        for version in removed:
            if isinstance(version, FakeKey):
                version.dispose()
                notifications.send_event(self.account_id, notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT, bucket, version)
        if written is not None:
            event = notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
            notifications.send_event(self.account_id, event, bucket, _MarkerEvent(written))
        return True, meta

    return delete_object


def _delete_objects(self: Any, bucket_name: str, objects: list[dict[str, Any]], bypass_retention: bool = False) -> tuple[list[tuple[str, str | None, str | None]], list[str]]:
    """moto's DeleteObjects, each key through delete_object; DeleteMarkerVersionId is the
    marker's version id when one was written or permanently deleted (moto: only when one was
    written, and none for a key that did not exist)."""
    from moto.s3.exceptions import AccessDeniedByLock

    deleted: list[tuple[str, str | None, str | None]] = []
    errors: list[str] = []
    for item in objects:
        name, version_id = item["Key"], item.get("VersionId")
        try:
            _, meta = self.delete_object(bucket_name, name, version_id=version_id, bypass=bypass_retention)
        except AccessDeniedByLock:
            errors.append(name)
            continue
        marker_id = meta.get("version-id") if meta.get("delete-marker") == "true" else None
        deleted.append((name, version_id, marker_id))
    return deleted, errors


# ------------------------------------------------------------------ reads
def _get_key(original: Any) -> Any:
    @functools.wraps(original)
    def get_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = self.parse_key_name()
        version_id = self.querystring.get("versionId", [None])[0]
        bucket = self.backend.get_bucket(self.bucket_name)
        versions = _versions(bucket, name)
        if version_id is None and versions and _is_marker(versions[-1]):
            raise AwsError("NoSuchKey", "The specified key does not exist.", 404, headers=_marker_headers(versions[-1], False), extra={"Key": name})
        if version_id is not None:
            named = _find(versions, version_id)
            if named is not None and _is_marker(named):
                raise AwsError("MethodNotAllowed", _NOT_ALLOWED, 405, headers=_marker_headers(named, True),
                               extra={"Method": self.method, "ResourceType": "DeleteMarker"})
        return original(self, *args, **kwargs)

    return get_key


def _head_object(original: Any) -> Any:
    @functools.wraps(original)
    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]) -> Any:
        version_id = query.get("versionId", [None])[0]
        if not version_id:
            return original(self, bucket_name, query, key_name, headers)
        bucket = self.backend.get_bucket(bucket_name)
        named = _find(_versions(bucket, key_name), version_id)
        if named is not None and _is_marker(named):
            return 405, {**_marker_headers(named, True), "content-type": "application/xml"}, ""
        if named is None or bucket.versioning_status == "Enabled":
            return original(self, bucket_name, query, key_name, headers)
        # moto answers 400 to a version id on a bucket that is not versioning-enabled; a
        # suspended bucket keeps its versions, and any bucket its "null" one.
        previous = getattr(_local, "versioned", None)
        _local.versioned = bucket
        try:
            return original(self, bucket_name, query, key_name, headers)
        finally:
            _local.versioned = previous

    return head_object


def _key_response(original: Any) -> Any:
    @functools.wraps(original)
    def key_response(self: Any, request: Any, full_url: str) -> Any:
        source = request.headers.get("x-amz-copy-source") if request.method == "PUT" else None
        if source:
            parsed = urlparse(source if isinstance(source, str) else source.decode())
            bucket_name, _, name = unquote(parsed.path).lstrip("/").partition("/")
            version_id = parse_qs(parsed.query).get("versionId", [None])[0]
            if version_id and bucket_name in self.backend.buckets:
                named = _find(_versions(self.backend.buckets[bucket_name], name), version_id)
                if named is not None and _is_marker(named):
                    raise AwsError("InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.", 400)
        return original(self, request, full_url)

    return key_response


class _Listed:
    """A version as ListObjectVersions answers it: the stored object, with IsLatest."""

    def __init__(self, item: Any, latest: bool) -> None:
        self._item = item
        self.is_latest = latest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)


def _list_object_versions(self: Any, bucket_name: str, delimiter: str | None = None, key_marker: str | None = None,
                          max_keys: int | None = 1000, prefix: str | None = "",
                          version_id_marker: str | None = None) -> tuple[list[Any], list[str], list[Any], str | None, str | None]:
    """Keys in ascending order, each key's versions newest first (the order they were written,
    reversed); KeyMarker alone starts after that key, with VersionIdMarker after that version
    of it; a key under Prefix with Delimiter after it is rolled up in its CommonPrefix. Each
    version, delete marker and common prefix counts toward MaxKeys; NextKeyMarker and
    NextVersionIdMarker name the last one answered (a common prefix: no version id)."""
    bucket = self.get_bucket(bucket_name)
    prefix = prefix or ""
    limit = 1000 if max_keys is None else max_keys
    versions: list[Any] = []
    markers: list[Any] = []
    prefixes: list[str] = []
    count = 0
    last: tuple[str, str | None] | None = None
    for name in sorted(n for n in dict.keys(bucket.keys) if n.startswith(prefix)):
        if key_marker is not None and (name < key_marker or (name == key_marker and not version_id_marker)):
            continue
        if delimiter and delimiter in name[len(prefix):]:
            common = name[: name.index(delimiter, len(prefix)) + len(delimiter)]
            if common == key_marker or (prefixes and prefixes[-1] == common):
                continue
            if count >= limit:
                return versions, prefixes, markers, *(last or (None, None))
            prefixes.append(common)
            count += 1
            last = (common, None)
            continue
        items = list(reversed(_versions(bucket, name)))
        first = 0
        if key_marker is not None and name == key_marker:
            ids = [str(v.version_id) for v in items]
            first = ids.index(version_id_marker) + 1 if version_id_marker in ids else len(items)
        for position in range(first, len(items)):
            if count >= limit:
                return versions, prefixes, markers, *(last or (None, None))
            item = items[position]
            (markers if _is_marker(item) else versions).append(_Listed(item, position == 0))
            count += 1
            last = (name, str(item.version_id))
    return versions, prefixes, markers, None, None


def install() -> None:
    """Wrap moto's S3 functions (once, from fallback_patches._s3)."""
    from moto.s3.models import FakeBucket, S3Backend
    from moto.s3.responses import S3Response

    S3Backend.put_object = _put_object(S3Backend.put_object)  # type: ignore[method-assign]
    S3Backend.delete_object = _delete_object(S3Backend.delete_object)  # type: ignore[method-assign]
    S3Backend.delete_objects = _delete_objects  # type: ignore[method-assign,assignment]
    S3Backend.list_object_versions = _list_object_versions  # type: ignore[method-assign,assignment]
    S3Response._get_key = _get_key(S3Response._get_key)  # type: ignore[method-assign]
    S3Response.head_object = _head_object(S3Response.head_object)  # type: ignore[method-assign]
    S3Response._key_response = _key_response(S3Response._key_response)  # type: ignore[method-assign]

    # HeadObject of a version of a bucket that is not versioning-enabled: moto's check reads
    # is_versioned, answered true for the one bucket the request reads (_head_object).
    enabled: Any = FakeBucket.is_versioned
    FakeBucket.is_versioned = property(  # type: ignore[method-assign,assignment]
        lambda bucket: bool(enabled.fget(bucket)) or getattr(_local, "versioned", None) is bucket)
