"""S3 (served by moto): buckets, objects by prefix ("folders"), object details, download,
upload, delete an object or a whole folder. Every call goes through app.invoke with the signed-in principal."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from emulator.console import html as h
from emulator.console.core import SECURITY_HEADERS
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

PAGE_SIZE = 100
MAX_BUCKETS = 1000  # buckets whose region is looked up (GetBucketLocation each)
DELIMITER = "/"
DELETE_BATCH = 1000  # keys per DeleteObjects request, its documented maximum (DeleteObjects API reference)
NO_PREFIX = "InvalidRequest: choose a folder (a non-empty prefix) to delete; the whole bucket is not deleted this way."
ERRORS_SHOWN = 10  # per-key DeleteObjects errors flashed one by one; the rest are counted


def _size(n: Any) -> str:
    try:
        size = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _error(err: AwsError) -> str:
    return f"{err.code}: {err.message}"


def _crumbs(bucket: str, prefix: str) -> h.Markup:
    """bucket / a / b / as links, each to its prefix."""
    parts = [h.link("Buckets", h.url("/s3")), h.link(bucket, h.url("/s3/bucket", name=bucket))]
    acc = ""
    for part in prefix.split(DELIMITER)[:-1]:  # whole folders; what follows the last "/" is a name filter
        acc += part + DELIMITER
        parts.append(h.link(part or "(empty)", h.url("/s3/bucket", name=bucket, prefix=acc)))
    return h.Markup('<p class="crumbs">' + " / ".join(parts) + "</p>")


async def _region(c: Console, call: Call, bucket: dict[str, Any]) -> str:
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    try:
        out = await c.invoke(call, "s3", "GetBucketLocation", {"Bucket": bucket["Name"]})
    except AwsError as err:
        return err.code
    # S3 names us-east-1 with an empty LocationConstraint (GetBucketLocation's API reference).
    return str(out.get("LocationConstraint") or "us-east-1")


def register(console: Console) -> None:
    @console.page("GET", "/s3")
    async def buckets(c: Console, call: Call) -> Response:
        if not c.available("s3"):
            return c.html(call, "S3", h.unavailable("s3"), active="s3")
        rows = []
        error = ""
        try:
            listed = (await c.invoke(call, "s3", "ListBuckets", {})).get("Buckets", [])
            for b in listed[:MAX_BUCKETS]:
                name = b.get("Name", "")
                rows.append((h.link(name, h.url("/s3/bucket", name=name)), h.when(b.get("CreationDate")), await _region(c, call, b)))
        except AwsError as err:
            error = _error(err)
        create = h.Markup(
            f'<section class="card"><h2>Create bucket</h2><form method="post" action="{h.esc(h.url("/s3/create-bucket"))}" class="row" id="create-bucket">'
            f'{h.csrf_field(call.csrf)}<label>Bucket name<input name="name" required pattern="[a-z0-9][a-z0-9.\\-]{{1,61}}[a-z0-9]"></label>'
            f'<button type="submit" class="primary">Create bucket</button></form>'
            f'<p class="muted">Created in {h.esc(c.region_of(call))} (the region chosen in the menu).</p></section>'
        )
        body = h.Markup((h.error_box(error) if error else "") + f'<section class="card"><h2>Buckets</h2>{h.table(["Name", "Created", "Region"], rows, "No buckets yet.", cls="buckets")}</section>' + create)
        return c.html(call, "S3", body, active="s3")

    @console.page("POST", "/s3/create-bucket")
    async def create_bucket(c: Console, call: Call) -> Response:
        name = call.f("name").strip()
        params: dict[str, Any] = {"Bucket": name}
        region = c.region_of(call)
        if region != "us-east-1":  # elsewhere S3 needs the region named (CreateBucket's API reference)
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        if await c.perform(call, "s3", "CreateBucket", params, f"Bucket {name} created.") is not None:
            return c.redirect(h.url("/s3/bucket", name=name))
        return c.redirect(h.url("/s3"))

    @console.page("POST", "/s3/delete-bucket")
    async def delete_bucket(c: Console, call: Call) -> Response:
        name = call.f("name")
        if await c.perform(call, "s3", "DeleteBucket", {"Bucket": name}, f"Bucket {name} deleted.") is None:
            return c.redirect(h.url("/s3/bucket", name=name))
        return c.redirect(h.url("/s3"))

    @console.page("GET", "/s3/bucket")
    async def bucket(c: Console, call: Call) -> Response:
        name, prefix, token = call.q("name"), call.q("prefix"), call.q("token")
        title = f"Bucket {name}"
        if not c.available("s3"):
            return c.html(call, title, h.unavailable("s3"), active="s3")
        params: dict[str, Any] = {"Bucket": name, "Delimiter": DELIMITER, "MaxKeys": PAGE_SIZE}
        if prefix:
            params["Prefix"] = prefix
        if token:
            params["ContinuationToken"] = token
        try:
            out = await c.invoke(call, "s3", "ListObjectsV2", params)
        except AwsError as err:
            status = max(err.status, 400)
            return c.html(call, title, h.error_box(_error(err)) + h.link("← Buckets", h.url("/s3")), active="s3", status=status)
        rows: list[tuple[Any, ...]] = []
        for p in out.get("CommonPrefixes", []):
            sub = p.get("Prefix", "")
            # A GET to the confirmation page: nothing is deleted until its own form is posted.
            remove = h.Markup(
                f'<form method="get" action="{h.esc(h.url("/s3/delete-folder"))}" class="inline"><input type="hidden" name="bucket" value="{h.esc(name)}">'
                f'<input type="hidden" name="prefix" value="{h.esc(sub)}"><button type="submit" class="small danger">Delete folder…</button></form>'
            )
            rows.append((h.link(sub[len(prefix):], h.url("/s3/bucket", name=name, prefix=sub)), "folder", "", "", remove))
        for o in out.get("Contents", []):
            key = o.get("Key", "")
            shown = key[len(prefix):] or key
            actions = h.Markup(
                h.link("Download", h.url("/s3/download", bucket=name, key=key), "button small")
                + h.post_button(h.url("/s3/delete-object"), "Delete", call.csrf, {"bucket": name, "key": key, "prefix": prefix}, "small danger", f"Delete {key}?")
            )
            rows.append((h.link(shown, h.url("/s3/object", bucket=name, key=key)), _size(o.get("Size")), h.when(o.get("LastModified")), o.get("StorageClass", ""), actions))
        more = ""
        if out.get("NextContinuationToken"):
            more = h.link("Next page →", h.url("/s3/bucket", name=name, prefix=prefix, token=out["NextContinuationToken"]), "button")
        count = f"{len(out.get('Contents', []))} object(s) and {len(out.get('CommonPrefixes', []))} folder(s) on this page."
        listing = h.Markup(
            f'<section class="card"><h2>Objects</h2>{_crumbs(name, prefix)}'
            f'<form method="get" action="{h.esc(h.url("/s3/bucket"))}" class="row" id="prefix-form"><input type="hidden" name="name" value="{h.esc(name)}">'
            f'<label class="wide">Prefix<input name="prefix" value="{h.esc(prefix)}" placeholder="folder/"></label><button type="submit">Go</button></form>'
            + h.table(["Name", "Size", "Last modified", "Storage class", ""], rows, "No objects here.", cls="objects")
            + f'<p class="muted">{h.esc(count)}</p>{more}</section>'
        )
        limit = c.runtime.settings.max_body_bytes
        upload = h.Markup(
            f'<section class="card"><h2>Upload</h2><form method="post" action="{h.esc(h.url("/s3/upload"))}" enctype="multipart/form-data" class="row" id="upload-form">'
            f'{h.csrf_field(call.csrf)}<input type="hidden" name="bucket" value="{h.esc(name)}"><input type="hidden" name="prefix" value="{h.esc(prefix)}">'
            f'<label>File<input type="file" name="file" required></label>'
            f'<label class="wide">Key (optional; default: {h.esc(prefix)}&lt;file name&gt;)<input name="key" placeholder="{h.esc(prefix)}name.txt"></label>'
            f'<button type="submit" class="primary">Upload</button></form>'
            f'<p class="muted">Up to {h.esc(_size(limit))} per upload (the server\'s max_body_bytes, form included).</p></section>'
        )
        danger = h.Markup(
            '<section class="card"><h2>Bucket</h2><p class="muted">Only an empty bucket can be deleted.</p>'
            + h.post_button(h.url("/s3/delete-bucket"), "Delete bucket", call.csrf, {"name": name}, "danger", f"Delete bucket {name}?")
            + "</section>"
        )
        return c.html(call, title, listing + upload + danger, active="s3")

    @console.page("GET", "/s3/object")
    async def obj(c: Console, call: Call) -> Response:
        name, key = call.q("bucket"), call.q("key")
        title = f"Object {key}"
        if not c.available("s3"):
            return c.html(call, title, h.unavailable("s3"), active="s3")
        folder = key.rpartition(DELIMITER)[0] + DELIMITER if DELIMITER in key else ""
        try:
            head = await c.invoke(call, "s3", "HeadObject", {"Bucket": name, "Key": key})
        except AwsError as err:
            status = max(err.status, 400)
            return c.html(call, title, h.error_box(_error(err)) + _crumbs(name, folder), active="s3", status=status)
        try:
            tags: list[tuple[Any, Any]] | str = [(t.get("Key"), t.get("Value")) for t in (await c.invoke(call, "s3", "GetObjectTagging", {"Bucket": name, "Key": key})).get("TagSet", [])]
        except AwsError as err:
            tags = _error(err)
        info = h.kv_table([
            ("Bucket", name), ("Key", key), ("Size", f"{_size(head.get('ContentLength'))} ({head.get('ContentLength', 0)} bytes)"),
            ("Content type", head.get("ContentType", "")), ("ETag", head.get("ETag", "")), ("Last modified", h.when(head.get("LastModified"))),
            ("Storage class", head.get("StorageClass", "STANDARD")),
            *[(label, head[k]) for k, label in (("VersionId", "Version"), ("ServerSideEncryption", "Server-side encryption"), ("CacheControl", "Cache-Control"),
                                                ("ContentDisposition", "Content-Disposition"), ("ContentEncoding", "Content-Encoding"),
                                                ("ContentLanguage", "Content-Language"), ("Expires", "Expires")) if head.get(k)],
        ])
        meta = head.get("Metadata") or {}
        tag_html = h.error_box(tags) if isinstance(tags, str) else h.table(["Key", "Value"], tags, "No tags.", cls="tags")
        body = h.Markup(
            f'<section class="card"><h2>Details</h2>{_crumbs(name, folder)}{info}'
            + h.link("Download", h.url("/s3/download", bucket=name, key=key), "button")
            + " "
            + h.post_button(h.url("/s3/delete-object"), "Delete object", call.csrf, {"bucket": name, "key": key, "prefix": folder}, "danger", f"Delete {key}?")
            + "</section>"
            + f'<section class="card"><h2>Metadata (x-amz-meta-*)</h2>{h.table(["Name", "Value"], sorted(meta.items()), "No user metadata.", cls="metadata")}</section>'
            + f'<section class="card"><h2>Tags</h2>{tag_html}</section>'
        )
        return c.html(call, title, body, active="s3")

    @console.page("GET", "/s3/download")
    async def download(c: Console, call: Call) -> Response:
        """The object's bytes as an attachment, streamed as moto hands them over."""
        name, key = call.q("bucket"), call.q("key")
        if not c.available("s3"):
            raise AwsError("ServiceUnavailable", "The s3 service is not available.", 503)
        out = await c.invoke(call, "s3", "GetObject", {"Bucket": name, "Key": key})
        filename = key.rpartition(DELIMITER)[2] or "download"
        ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
        headers = {
            **SECURITY_HEADERS,
            "content-type": str(out.get("ContentType") or "application/octet-stream"),
            "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}",
            # Never rendered here: the bytes are whatever was uploaded.
            "content-security-policy": "default-src 'none'; sandbox",
        }
        if out.get("ContentLength") is not None:
            headers["content-length"] = str(out["ContentLength"])
        return Response(200, headers, b"", out["Body"])

    @console.page("POST", "/s3/upload")
    async def upload(c: Console, call: Call) -> Response:
        name, prefix = call.f("bucket"), call.f("prefix")
        back = h.url("/s3/bucket", name=name, prefix=prefix)
        if call.request.content_type != "multipart/form-data":
            call.session.flash("error", "InvalidRequest: the upload must be a multipart/form-data post.")
            return c.redirect(back)
        file = call.multipart()[1].get("file")
        if file is None or not file.filename:
            call.session.flash("error", "InvalidRequest: choose a file to upload.")
            return c.redirect(back)
        key = call.f("key").strip() or prefix + file.filename
        ctype = file.content_type if file.content_type and file.content_type != "application/octet-stream" else mimetypes.guess_type(file.filename)[0]
        params: dict[str, Any] = {"Bucket": name, "Key": key, "Body": file.data, "ContentType": ctype or "application/octet-stream"}
        await c.perform(call, "s3", "PutObject", params, f"Uploaded {key} ({len(file.data)} bytes).")
        return c.redirect(back)

    @console.page("POST", "/s3/delete-object")
    async def delete_object(c: Console, call: Call) -> Response:
        name, key = call.f("bucket"), call.f("key")
        await c.perform(call, "s3", "DeleteObject", {"Bucket": name, "Key": key}, f"Deleted {key}.")
        return c.redirect(h.url("/s3/bucket", name=name, prefix=call.f("prefix")))

    @console.page("GET", "/s3/delete-folder")
    async def confirm_delete_folder(c: Console, call: Call) -> Response:
        """The confirmation step (no JavaScript needed) before every key under a prefix goes."""
        name, prefix = call.q("bucket"), call.q("prefix")
        title = f"Delete folder {prefix}"
        if not c.available("s3"):
            return c.html(call, title, h.unavailable("s3"), active="s3")
        if not prefix:
            return c.html(call, title, h.error_box(NO_PREFIX) + _crumbs(name, ""), active="s3", status=400)
        try:
            status = (await c.invoke(call, "s3", "GetBucketVersioning", {"Bucket": name})).get("Status", "")
        except AwsError as err:
            return c.html(call, title, h.error_box(_error(err)) + h.link("← Buckets", h.url("/s3")), active="s3", status=max(err.status, 400))
        versioned = ""
        if status in ("Enabled", "Suspended"):
            versioned = (
                f'<p class="flash error">Versioning is {h.esc(status)} on this bucket. The console deletes without version ids, so for each key S3 '
                "adds a delete marker (which becomes the current version) rather than removing the stored versions: they stay until deleted "
                "by version id (as documented in the S3 User Guide, Deleting object versions from a versioning-enabled bucket).</p>"
            )
        body = h.Markup(
            f'<section class="card"><h2>Delete every object under {h.esc(prefix)}?</h2>{_crumbs(name, prefix)}'
            f"<p>Every key in bucket <strong>{h.esc(name)}</strong> that starts with <code>{h.esc(prefix)}</code> is listed and deleted, "
            f"{DELETE_BATCH:,} per DeleteObjects request, sub-folders included.{'' if versioned else ' This cannot be undone.'}</p>{versioned}"
            f'<form method="post" action="{h.esc(h.url("/s3/delete-folder"))}" class="row" id="delete-folder">{h.csrf_field(call.csrf)}'
            f'<input type="hidden" name="bucket" value="{h.esc(name)}"><input type="hidden" name="prefix" value="{h.esc(prefix)}">'
            '<button type="submit" class="danger">Delete folder</button> '
            + h.link("Cancel", h.url("/s3/bucket", name=name, prefix=prefix), "button")
            + "</form></section>"
        )
        return c.html(call, title, body, active="s3")

    @console.page("POST", "/s3/delete-folder")
    async def delete_folder(c: Console, call: Call) -> Response:
        name, prefix = call.f("bucket"), call.f("prefix")
        parent = prefix[: prefix.rstrip(DELIMITER).rfind(DELIMITER) + 1] if prefix else ""
        back = h.url("/s3/bucket", name=name, prefix=parent)
        if not prefix:
            call.session.flash("error", NO_PREFIX)
            return c.redirect(back)
        try:
            keys = await _keys_under(c, call, name, prefix)
        except AwsError as err:
            call.session.flash("error", _error(err))
            return c.redirect(back)
        deleted = markers = sent = 0
        errors: list[str] = []
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start:start + DELETE_BATCH]
            try:
                out = await c.invoke(call, "s3", "DeleteObjects", {"Bucket": name, "Delete": {"Objects": [{"Key": k} for k in batch]}})
            except AwsError as err:  # the whole request refused: stop, and say how far it got
                errors.append(f"{_error(err)} (keys {start + 1}-{start + len(batch)} of {len(keys)}; no later request was sent)")
                break
            sent += 1
            done = out.get("Deleted", [])
            deleted += len(done)
            markers += sum(1 for d in done if d.get("DeleteMarker"))
            errors.extend(f"{e.get('Key', '')}: {e.get('Code', '')}: {e.get('Message', '')}" for e in out.get("Errors", []))
        summary = f"Deleted {deleted} of {len(keys)} object(s) under {prefix} in {sent} DeleteObjects request(s)."
        if markers:
            summary += f" {markers} of them got a delete marker (versioned bucket): their earlier versions remain."
        call.session.flash("error" if errors else "ok", summary)
        for line in errors[:ERRORS_SHOWN]:
            call.session.flash("error", line)
        if len(errors) > ERRORS_SHOWN:
            call.session.flash("error", f"... and {len(errors) - ERRORS_SHOWN} more error(s).")
        return c.redirect(back)



async def _keys_under(c: Console, call: Call, bucket: str, prefix: str) -> list[str]:
    """Every key that starts with ``prefix`` (ListObjectsV2, page after page, no delimiter)."""
    keys: list[str] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        out = await c.invoke(call, "s3", "ListObjectsV2", params)
        keys.extend(o["Key"] for o in out.get("Contents", []) if "Key" in o)
        token = out.get("NextContinuationToken")
        if not out.get("IsTruncated") or not token:
            return keys
        params["ContinuationToken"] = token
