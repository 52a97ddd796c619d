"""OpenAI's Files API (``/v1/files``), the one ``client.files`` calls: upload (multipart
``file`` + ``purpose``, optional ``expires_after``), list (``purpose``, ``limit``, ``after``,
``order``), retrieve, content, delete. Here the files are the Batch API's inputs and outputs
(``emulator.compute.openai_batches``); any purpose is kept.

Storage: ``<data_dir>/openai/files/<file id>`` holds each file's bytes, written and fsynced
(tmp + os.replace) before the upload is answered; ``<data_dir>/openai/files/index.json`` holds
every file's metadata, written whole (tmp + fsync + os.replace) on each change. A file past its
``expires_at`` is deleted when the store is next read (OpenAI: "files with purpose=batch expire
after 30 days" by default; others are kept until deleted).

Shapes and limits follow OpenAI's API reference ("Files": the File object; "Upload file":
"Individual files can be up to 512 MB"; the Batch API takes ``.jsonl`` inputs). The gateway's
``max_body_bytes`` (64 MiB) bounds an upload before this module sees it; ``openai_file_max_bytes``
(``[emulator]`` of the TOML file) lowers the per-file limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
import time
from dataclasses import asdict, dataclass
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.compute.openai_params import ApiError, _json
from emulator.durable import read_json, write_bytes, write_json
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.compute.openai_routes import OpenAIApi
    from emulator.context import RequestContext

log = logging.getLogger("emulator.compute.openai_files")

# FilePurpose of the openai client (what an upload may name) and the purposes OpenAI itself gives.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024  # OpenAI: "Individual files can be up to 512 MB"
BATCH_EXPIRY_SECONDS = 30 * 24 * 3600  # OpenAI: "files with purpose=batch expire after 30 days"
EXPIRY_RANGE = (3600, 2592000)  # expires_after.seconds: "between 3600 (1 hour) and 2592000 (30 days)"
LIST_LIMIT = (1, 10000)  # "Limit can range between 1 and 10,000, and the default is 10,000."
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def not_found(file_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such File object: {file_id}", param=param)


def list_limit(request: Request, lo: int, hi: int, default: int) -> int:
    raw = request.query_one("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid 'limit': expected an integer, but got '{raw}' instead.", param="limit", code="invalid_type") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"Invalid 'limit': expected a value between {lo} and {hi}, but got {value} instead.", param="limit",
                       code="invalid_value")  # ours
    return value


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A cursor page as OpenAI's list endpoints answer: the client follows ``has_more`` with ``after``."""
    shown = items[:limit]
    return {"object": "list", "data": shown, "first_id": shown[0]["id"] if shown else None,
            "last_id": shown[-1]["id"] if shown else None, "has_more": len(items) > limit}


def after_cursor(items: list[dict[str, Any]], after: str | None, what: str) -> list[dict[str, Any]]:
    """The items after the one named ``after`` (in the list's order)."""
    if after is None:
        return items
    for i, item in enumerate(items):
        if item["id"] == after:
            return items[i + 1:]
    raise ApiError(400, f"Invalid 'after': no {what} with id '{after}'.", param="after", code="invalid_value")  # ours


@dataclass
class StoredFile:
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    expires_at: int | None = None
    seq: int = 0  # creation order (created_at is in seconds)

    def doc(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": self.bytes, "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed", "status_details": None, "expires_at": self.expires_at}


class FileStore:
    """Every file of the server: metadata in memory and in ``index.json``, bytes one file each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = root / "index.json"
        self.files: dict[str, StoredFile] = {}

    def load(self) -> None:
        data = read_json(self.index, {}, "OpenAI files")
        for item in data.get("files", []):
            with contextlib.suppress(TypeError):
                f = StoredFile(**item)
                if (self.root / f.id).is_file():  # a file whose bytes are gone is gone
                    self.files[f.id] = f
        if self.root.is_dir():  # bytes written by an upload that was not answered (the server stopped)
            for path in self.root.iterdir():
                if path.name != "index.json" and path.name not in self.files:
                    with contextlib.suppress(OSError):
                        path.unlink()

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.index, {"files": [asdict(f) for f in self.files.values()]})

    def purge_expired(self) -> None:
        now = int(time.time())
        gone = [f.id for f in self.files.values() if f.expires_at is not None and f.expires_at <= now]
        for file_id in gone:
            self._drop(file_id)
        if gone:
            self.save()

    def get(self, file_id: str) -> StoredFile | None:
        self.purge_expired()
        return self.files.get(file_id)

    async def add(self, data: bytes, filename: str, purpose: str, expires_at: int | None) -> StoredFile:
        """Keep a file: its bytes durable first, then its metadata."""
        f = StoredFile(new_id("file-"), len(data), int(time.time()), filename, purpose, expires_at,
                       max((x.seq for x in self.files.values()), default=0) + 1)
        self.root.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(write_bytes, self.root / f.id, data)
        self.files[f.id] = f
        try:
            self.save()
        except BaseException:  # not saved: not kept (the request fails)
            self.files.pop(f.id, None)
            with contextlib.suppress(OSError):
                (self.root / f.id).unlink()
            raise
        return f

    async def read(self, f: StoredFile) -> bytes:
        return await asyncio.to_thread((self.root / f.id).read_bytes)

    def delete(self, file_id: str) -> None:
        self._drop(file_id)
        self.save()

    def clear(self) -> None:
        for file_id in list(self.files):
            self._drop(file_id)
        self.save()

    def _drop(self, file_id: str) -> None:
        self.files.pop(file_id, None)
        with contextlib.suppress(FileNotFoundError):
            (self.root / file_id).unlink()


def _form(request: Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The multipart form's text fields, and its ``file`` part as (filename, bytes)."""
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "Invalid Content-Type: expected multipart/form-data with a 'file' and a 'purpose'.", code="invalid_request")  # ours
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise ApiError(400, "The request body is not well-formed multipart/form-data.", code="invalid_request")  # ours
    fields: dict[str, str] = {}
    upload: tuple[str, bytes] | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            filename = part.get_param("filename", header="content-disposition")
            upload = (filename if isinstance(filename, str) and filename else "upload", data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, upload


def _expiry(fields: dict[str, str], purpose: str, now: int) -> int | None:
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return now + BATCH_EXPIRY_SECONDS if purpose == "batch" else None
    if anchor != "created_at":
        raise ApiError(400, f"Invalid value: '{anchor}'. Supported values are: 'created_at'.", param="expires_after.anchor", code="invalid_value")
    try:
        value = int(seconds or "")
    except ValueError:
        raise ApiError(400, "Invalid type for 'expires_after.seconds': expected an integer.", param="expires_after.seconds", code="invalid_type") from None
    lo, hi = EXPIRY_RANGE
    if not lo <= value <= hi:
        raise ApiError(400, f"Invalid 'expires_after.seconds': expected a value between {lo} and {hi}, but got {value} instead.",
                       param="expires_after.seconds", code="invalid_value")
    return now + value


class FilesApi:
    """The ``/v1/files`` routes over the server's FileStore."""

    def __init__(self, api: OpenAIApi) -> None:
        settings = api.runtime.settings
        self.store = FileStore(Path(settings.data_dir) / "openai" / "files")
        self.store.load()
        self.max_bytes = int(settings.extra.get("openai_file_max_bytes", MAX_FILE_BYTES))

    def clear(self) -> None:
        self.store.clear()

    def stored(self, file_id: str) -> StoredFile:
        f = self.store.get(file_id)
        if f is None:
            raise not_found(file_id)
        return f

    async def handle(self, request: Request, path: str, ctx: RequestContext) -> Response:
        parts = path.split("/")[3:]  # after "", "v1", "files"
        method = request.method
        if not parts and method == "POST":
            return await self.upload(request)
        if not parts and method == "GET":
            return self.list_all(request)
        if len(parts) == 1 and method == "GET":
            return _json(200, self.stored(parts[0]).doc())
        if len(parts) == 1 and method == "DELETE":
            self.stored(parts[0])
            self.store.delete(parts[0])
            return _json(200, {"id": parts[0], "object": "file", "deleted": True})
        if len(parts) == 2 and parts[1] == "content" and method == "GET":
            data = await self.store.read(self.stored(parts[0]))
            return Response(200, {"content-type": "application/octet-stream"}, data)
        raise ApiError(404, f"Invalid URL ({method} {request.path})")

    async def upload(self, request: Request) -> Response:
        fields, upload = await asyncio.to_thread(_form, request)  # a large body parses off the event loop
        if upload is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = fields.get("purpose")
        if not purpose:
            raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter")
        if purpose not in UPLOAD_PURPOSES:
            shown = ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
            raise ApiError(400, f"Invalid value: '{purpose}'. Supported values are: {shown}.", param="purpose", code="invalid_value")
        filename, data = upload
        if len(data) > self.max_bytes:
            raise ApiError(400, f"File is too large: {len(data)} bytes; the limit is {self.max_bytes} bytes.", param="file",
                           code="file_too_large")  # ours
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl", param="file", code="invalid_file_format")
        f = await self.store.add(data, filename, purpose, _expiry(fields, purpose, int(time.time())))
        return _json(200, f.doc())

    def list_all(self, request: Request) -> Response:
        self.store.purge_expired()
        order = request.query_one("order") or "desc"
        if order not in ("asc", "desc"):
            raise ApiError(400, f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order", code="invalid_value")
        purpose = request.query_one("purpose")
        limit = list_limit(request, *LIST_LIMIT, LIST_LIMIT[1])
        files = sorted(self.store.files.values(), key=lambda f: f.seq, reverse=order == "desc")
        docs = [f.doc() for f in files if purpose is None or f.purpose == purpose]
        return _json(200, page(after_cursor(docs, request.query_one("after"), "file"), limit))

    async def add_output(self, data: bytes, filename: str, expires_at: int | None) -> StoredFile:
        """A batch's output or error file (purpose ``batch_output``)."""
        return await self.store.add(data, filename, "batch_output", expires_at)
