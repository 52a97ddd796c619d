"""S3 browser-based (POST-policy) uploads larger than the gateway's in-memory body limit.

A POST upload (gateway/post_policy.py) whose body is past ``max_body_bytes`` (64 MiB) is not
held in memory: its ``multipart/form-data`` body is parsed as it comes (``FormStream``). The
fields before the ``file`` part are kept (at most ``MAX_PRE_DATA`` bytes of the body precede
the file's content: the rest is refused with S3's MaxPostPreDataLengthExceededError); the file's
content is written to an unlinked temporary file under ``<data_dir>/tmp`` (``PostSpool``), with
its MD5 (the object's ETag) computed on the way, up to S3's 5 GiB (EntityTooLarge beyond, as a
spooled PutObject: gateway/s3_stream.py); what follows the file is not read (S3 ignores the
fields after the file, as post_policy.parse_form does).

The policy is then verified from the parsed form as for a small upload
(post_policy.verify_form). moto serves the upload with the same code as a small one
(``_bucket_response_post``: key, canned ACL, metadata, success_action_*): its request gets the
form fields and the file as ``request.form`` (``PostUploadBody.form``, set by s3_stream's
``setup_class`` hook) instead of parsing the body, and the key's value setter copies the file
block by block (``UploadBody``). So both paths store the same object and answer alike.
"""

from __future__ import annotations

import hashlib
import tempfile
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

from emulator.errors import AwsError
from emulator.gateway.post_policy import PostForm, malformed, no_file
from emulator.gateway.s3_stream import (
    BLOCK,
    MAX_SINGLE_PUT,
    BlockFeed,
    UploadBody,
    entity_too_large,
)
from emulator.protocols.base import Request

# The body's bytes before the file's content (boundaries, part headers, fields). S3 refuses a
# form whose fields before the file are too large; its limit is not documented: this one is the
# gateway's.
MAX_PRE_DATA = 1 << 20
_MAX_PADDING = 1024  # transport padding after a boundary (RFC 2046 allows whitespace there)


def pre_data_too_large() -> AwsError:
    # S3's error code list (ErrorResponses: "List of error codes"): MaxPostPreDataLengthExceededError.
    return AwsError("MaxPostPreDataLengthExceededError", "Your POST request fields preceding the upload file were too large.", 400)


def boundary_of(request: Request) -> bytes | None:
    message = Message()
    message["content-type"] = request.headers.get("content-type", "")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        return None
    try:
        return boundary.encode("latin-1")
    except UnicodeEncodeError:
        return None


class FormStream:
    """A ``multipart/form-data`` body parsed as it comes: the parts before the file kept
    (``pairs``: names as sent), the file's content passed to ``write``, the rest dropped.
    A malformed body sets ``error`` (raised when the form is asked for) and stops parsing."""

    def __init__(self, boundary: bytes, write: Any) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.write = write
        # The first boundary may open the body without the CRLF before it (RFC 2046).
        self.buffer = bytearray(b"\r\n")
        self.state = "preamble"
        self.consumed = -2  # bytes of the body taken before the file's content
        self.pairs: list[tuple[str, str]] = []
        self.part_name: str | None = None
        self.filename: str | None = None
        self.error: AwsError | None = None
        self.file_seen = False
        self.done = False

    def _take(self, size: int) -> bytearray:
        out = self.buffer[:size]
        del self.buffer[:size]
        if not self.file_seen:
            self.consumed += size
            if self.consumed > MAX_PRE_DATA:
                self._fail(pre_data_too_large())
        return out

    def _fail(self, error: AwsError) -> None:
        if self.error is None:
            self.error = error
        self.done = True
        self.buffer.clear()

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self.buffer += data
        while not self.done and self._step():
            pass
        if not self.file_seen and not self.done and self.consumed + len(self.buffer) > MAX_PRE_DATA + len(self.delimiter) + _MAX_PADDING:
            self._fail(pre_data_too_large())

    def _step(self) -> bool:
        """One step of the parse; False when more data is needed."""
        buffer, delimiter = self.buffer, self.delimiter
        if self.state == "preamble":
            at = buffer.find(delimiter)
            if at < 0:
                keep = len(delimiter) - 1
                if len(buffer) > keep:
                    self._take(len(buffer) - keep)
                return False
            self._take(at + len(delimiter))
            self.state = "boundary"
            return True
        if self.state == "boundary":  # after a delimiter: "--" closes the body, else CRLF
            if len(buffer) < 2:
                return False
            if buffer.startswith(b"--"):
                self._finish_parts()
                return False
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > _MAX_PADDING:
                    self._fail(malformed())
                return False
            if buffer[:end].strip(b" \t"):
                self._fail(malformed())
                return False
            self._take(end + 2)
            self.state = "headers"
            return True
        if self.state == "headers":
            if buffer.startswith(b"\r\n"):
                head = self._take(2)
            else:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return False
                head = self._take(end + 4)
            part = BytesHeaderParser(policy=HTTP).parsebytes(head)
            name = part.get_param("name", header="content-disposition")
            self.part_name = name if isinstance(name, str) else None
            if self.part_name is not None and self.part_name.lower() == "file":
                filename = part.get_param("filename", header="content-disposition")
                self.filename = filename if isinstance(filename, str) else ""
                self.file_seen = True
                self.state = "file"
            else:
                self.state = "field"
            return True
        at = buffer.find(delimiter)
        if self.state == "field":
            if at < 0:
                return False
            value = self._take(at)
            if self.part_name is not None:
                self.pairs.append((self.part_name, value.decode("utf-8", "replace")))
            self._take(len(delimiter))
            self.state = "boundary"
            return True
        # the file's content, up to the delimiter; a possible start of it is kept back
        if at < 0:
            keep = len(delimiter) - 1
            if len(buffer) > keep:
                self.write(self._take(len(buffer) - keep))
            return False
        self.write(self._take(at))
        self._finish_parts()  # S3 ignores the fields after the file
        return False

    def _finish_parts(self) -> None:
        if not self.file_seen:
            self._fail(no_file())
        self.done = True
        self.state = "end"
        self.buffer.clear()

    def finish(self) -> None:
        """The body has ended: the file's content must have been closed by a delimiter."""
        if not self.done:
            self._fail(malformed() if self.file_seen or self.state != "preamble" else no_file())


class PostUploadBody(UploadBody):
    """The file of a large POST upload as moto gets it: with the form, whose ``file`` is it."""

    def __init__(self, fd: int, size: int, md5: str | None, fields: list[tuple[str, str]]) -> None:
        super().__init__(fd, size, md5)
        self.form: list[tuple[str, Any]] = [*fields, ("file", self)]


class PostSpool(BlockFeed):
    """A large POST upload's body, parsed as it comes; the file's content in an unlinked file.
    ``request.body_file`` of the request (app._read_body), closed once answered."""

    def __init__(self, request: Request, directory: Path) -> None:
        super().__init__()
        boundary = boundary_of(request)
        declared = request.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > MAX_SINGLE_PUT + MAX_PRE_DATA + BLOCK:
            raise entity_too_large(int(declared))  # no room for the fields: the file is past 5 GiB
        directory.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=directory, prefix="s3-post-")  # noqa: SIM115 - closed by close()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.stream = FormStream(boundary or b"", self._write)
        if boundary is None:
            self.stream._fail(malformed())

    def _write(self, data: bytearray) -> None:
        self.size += len(data)
        if self.size > MAX_SINGLE_PUT:
            raise entity_too_large(self.size)
        self.file.write(data)
        self.md5.update(data)

    async def feed(self, chunk: bytes) -> None:
        await self._queue(chunk)

    def _wanted(self) -> bool:
        return not self.stream.done  # the file has ended: what follows is not read

    def _process(self, block: bytes) -> None:
        self.stream.feed(block)

    async def finish(self) -> None:
        await self._flush()
        self.stream.finish()
        self.file.flush()

    def form(self) -> PostForm:
        """The fields before the file (lower-cased names, as post_policy compares them), the
        file's name and size. Raises the parse's AwsError (as post_policy.parse_form would)."""
        if self.stream.error is not None:
            raise self.stream.error
        fields = {name.lower(): value for name, value in self.stream.pairs}
        return PostForm(fields, self.stream.filename or "", self.size)

    def body(self) -> PostUploadBody:
        """What moto gets: the fields as sent, ``key`` with S3's ${filename} substitution done
        (as post_policy.verify_form does it for the policy), and the file. Raises the parse's
        AwsError (not raised yet when the gateway checks no signatures: setting auth)."""
        if self.stream.error is not None:
            raise self.stream.error
        filename = self.stream.filename or ""
        fields = [(name, value.replace("${filename}", filename) if name.lower() == "key" else value) for name, value in self.stream.pairs]
        return PostUploadBody(self.file.fileno(), self.size, self.md5.hexdigest(), fields)

    def close(self) -> None:
        self.file.close()
