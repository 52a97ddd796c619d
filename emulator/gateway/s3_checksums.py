"""S3 multipart uploads' checksums, as S3 keeps and checks them.

An upload created with a ChecksumAlgorithm (CreateMultipartUpload's x-amz-checksum-algorithm,
kept in moto's upload metadata) has a checksum of that algorithm for each part
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html). moto
computed the object's composite checksum but kept none per part, so:

* UploadPart (``checked_upload_part``): a part sent with another algorithm than the upload's is
  refused (``InvalidRequest: Checksum Type mismatch occurred, expected checksum Type: crc32,
  actual checksum Type: sha256``); the part keeps its checksum (the one sent, already checked
  against the body by s3_payload.check, or computed over the part) as moto's part FakeKey's
  ``checksum_algorithm``/``checksum_value``, pickled with moto's state.
* CompleteMultipartUpload (``checked_complete_body``, moto's ``_complete_multipart_body``): the parts
  are checked before a byte is assembled: ascending part numbers (``InvalidPartOrder``: moto's
  own check never advanced, so parts out of order came back as EntityTooSmall), each part
  uploaded with that ETag, then each part's checksum given (a COMPOSITE upload:
  ``InvalidRequest``, "It was missing for part N in the request.") and equal to the part's
  (``InvalidPart``, the text S3 gives for a wrong ETag). The parts' numbers, sizes and
  checksums stay with the object (``PARTS``) for GetObjectAttributes' ObjectParts.
* UploadPartCopy (``copied_part``): the part's checksum, computed over the copied bytes, is
  kept and answered in CopyPartResult.
* ListParts (``listed_parts``) names the upload's ChecksumAlgorithm and ChecksumType and each
  part's Checksum<ALGORITHM>.
* ChecksumType (botocore's S3 model): PutObject with a checksum answers x-amz-checksum-type
  FULL_OBJECT; CreateMultipartUpload with a ChecksumAlgorithm alone answers the type the upload
  gets (COMPOSITE, FULL_OBJECT for CRC64NVME: moto's own default for the object);
  ListObjectsV2's Contents[].ChecksumType for an object with a checksum; GetObjectAttributes'
  ObjectParts (``object_parts``).

Only S3 multipart requests and requests with a checksum pay anything here: the other wrappers
return moto's answer after a dictionary look-up or a substring test.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import Any
from urllib.parse import unquote
from xml.dom import minidom
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

from emulator.errors import AwsError
from emulator.gateway import s3_payload

# The completed parts of an object made by a multipart upload with a checksum algorithm:
# [(part number, size, checksum)], an attribute of moto's FakeKey (pickled with it).
PARTS = "s3_checksum_parts"

_INVALID_PART = (
    "One or more of the specified parts could not be found.  The part may not have been uploaded, "
    "or the specified entity tag may not match the part's entity tag."
)
_installed = False


def _invalid_part() -> AwsError:
    return AwsError("InvalidPart", _INVALID_PART, 400)


def _invalid_part_order() -> AwsError:
    return AwsError("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.", 400)


def upload_checksum(upload: Any) -> tuple[str, str] | None:
    """(algorithm, type) of an upload created with a checksum algorithm ("CRC32",
    "COMPOSITE"); None for one created without. The type defaults as moto's (and S3's):
    FULL_OBJECT for CRC64NVME, COMPOSITE for the others."""
    metadata = getattr(upload, "metadata", None)
    algorithm = metadata.get("x-amz-checksum-algorithm") if metadata is not None else None
    if metadata is None or not algorithm or str(algorithm).lower() not in s3_payload.ALGORITHMS:
        return None
    name = str(algorithm).upper()
    kind = metadata.get("x-amz-checksum-type") or ("FULL_OBJECT" if name == "CRC64NVME" else "COMPOSITE")
    return name, str(kind).upper()


def _upload(response: Any) -> Any:
    """The upload a request names (its uploadId), None when it does not exist (moto answers
    NoSuchUpload or NoSuchBucket itself)."""
    upload_id = response._get_param("uploadId")
    bucket = response.backend.buckets.get(response.bucket_name)
    return bucket.multiparts.get(upload_id) if bucket is not None and upload_id else None


def _sent_algorithm(headers: Any) -> str | None:
    """The checksum algorithm a request sends (lower case), None without one."""
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk:
        return str(sdk).strip().lower()
    for algorithm in s3_payload.ALGORITHMS:
        if headers.get(s3_payload.CHECKSUM_PREFIX + algorithm):
            return algorithm
    return None


def _computed(part: Any, algorithm: str) -> str | None:
    """The base64 checksum of a part's bytes (None when the algorithm's library is missing)."""
    from emulator.gateway import s3_stream

    hasher = s3_payload.new_hasher(algorithm.lower())
    if hasher is None:
        return None
    body = s3_stream.ObjectBody.of(part)
    try:
        for block in body.blocks():
            hasher.update(block)
    finally:
        body.source.close()
    return base64.b64encode(hasher.digest()).decode()


def part_checksum(part: Any, algorithm: str) -> str | None:
    """A part's checksum of ``algorithm``: the one it was uploaded with, else computed over it
    (an UploadPartCopy's part) and kept."""
    if (getattr(part, "checksum_algorithm", None) or "").upper() == algorithm and part.checksum_value:
        return str(part.checksum_value)
    value = _computed(part, algorithm)
    if value is not None:
        part.checksum_algorithm, part.checksum_value = algorithm, value
    return value


def _text(element: Any) -> str:
    return "".join(node.data for node in element.childNodes if node.nodeType in (node.TEXT_NODE, node.CDATA_SECTION_NODE))


def _parsed_parts(body: bytes) -> list[tuple[int, str, dict[str, str]]] | None:
    """CompleteMultipartUpload's parts: (number, ETag, {ChecksumCRC32: value...}); None when
    the body is not what moto reads (moto answers it, as before)."""
    try:
        out = []
        for part in minidom.parseString(body).getElementsByTagName("Part"):
            fields = {node.tagName: _text(node).strip() for node in part.childNodes if node.nodeType == node.ELEMENT_NODE}
            out.append((int(fields["PartNumber"]), fields["ETag"], {k: v for k, v in fields.items() if k.startswith("Checksum")}))
        return out
    except (ExpatError, KeyError, ValueError, TypeError):
        return None


def _check_parts(upload: Any, parts: list[tuple[int, str, dict[str, str]]]) -> None:
    """CompleteMultipartUpload's parts checked as S3 checks them (see the module's doc)."""
    previous = 0
    for number, _, _ in parts:
        if number <= previous:
            raise _invalid_part_order()
        previous = number
    if upload is None:
        return
    checksum = upload_checksum(upload)
    completed = []
    for number, etag, given in parts:
        part = upload.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise _invalid_part()
        if checksum is None:
            continue
        algorithm, kind = checksum
        value = given.get(f"Checksum{algorithm}")
        if value is None:
            if kind == "COMPOSITE":
                raise AwsError(
                    "InvalidRequest",
                    f"The upload was created using a {algorithm.lower()} checksum. The complete request must include the checksum for "
                    f"each part. It was missing for part {number} in the request.",
                    400,
                )
            continue
        stored = part_checksum(part, algorithm)
        if stored is not None and s3_payload.decode_b64(value) != s3_payload.decode_b64(stored):
            raise _invalid_part()
        completed.append((number, int(part.contentsize), stored))
    if checksum is not None and len(completed) == len(parts):
        setattr(upload, PARTS, completed)


def _text_of(body: Any) -> str | None:
    if isinstance(body, bytes):
        return body.decode()
    return body if isinstance(body, str) else None


def _answer(status: int, headers: Any, text: str) -> tuple[int, Any, str]:
    """moto's answer with the body changed (its content-length, where moto set one, too)."""
    if isinstance(headers, dict) and "content-length" in headers:
        headers["content-length"] = str(len(text.encode()))
    return status, headers, text


def _element(name: str, value: Any) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


_PART = re.compile(r"<Part>(.*?)</Part>", re.DOTALL)
_PART_NUMBER = re.compile(r"<PartNumber>(\d+)</PartNumber>")


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    upload_part = S3Response.upload_part

    @functools.wraps(upload_part)
    def checked_upload_part(self: Any) -> Any:
        upload = _upload(self)
        checksum = upload_checksum(upload)
        if checksum is None:
            return upload_part(self)
        algorithm = checksum[0]
        sent = _sent_algorithm(self.headers)
        if sent is not None and sent != algorithm.lower():
            raise AwsError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: {algorithm.lower()}, actual checksum Type: {sent}", 400)
        status, headers, body = upload_part(self)
        part = upload.parts.get(self._get_int_param("partNumber"))
        if status == 200 and part is not None:
            value = self.headers.get(s3_payload.CHECKSUM_PREFIX + algorithm.lower()) or _computed(part, algorithm)
            if value is not None:
                part.checksum_algorithm, part.checksum_value = algorithm, str(value).strip()
                headers[s3_payload.CHECKSUM_PREFIX + algorithm.lower()] = part.checksum_value
        return status, headers, body

    S3Response.upload_part = checked_upload_part  # type: ignore[method-assign]

    upload_part_copy = S3Response.upload_part_copy

    @functools.wraps(upload_part_copy)
    def copied_part(self: Any) -> Any:
        # A copied part of an upload with a checksum algorithm: its checksum is computed over
        # the copied bytes and answered in CopyPartResult (what CompleteMultipartUpload needs).
        status, headers, body = upload_part_copy(self)
        upload = _upload(self)
        checksum = upload_checksum(upload)
        text = _text_of(body) if status == 200 and checksum is not None else None
        part = upload.parts.get(self._get_int_param("partNumber")) if text is not None else None
        if part is None or checksum is None or text is None:
            return status, headers, body
        part.checksum_algorithm, part.checksum_value = None, None
        value = part_checksum(part, checksum[0])
        if value is None or "</CopyPartResult>" not in text:
            return status, headers, body
        return _answer(status, headers, text.replace("</CopyPartResult>", _element(f"Checksum{checksum[0]}", value) + "</CopyPartResult>", 1))

    S3Response.upload_part_copy = copied_part  # type: ignore[method-assign]

    complete_body = S3Response._complete_multipart_body

    @functools.wraps(complete_body)
    def checked_complete_body(self: Any, body: bytes) -> Any:
        parts = _parsed_parts(body)
        if parts is None:
            yield from complete_body(self, body)
            return
        _check_parts(_upload(self), parts)
        for number, etag, _ in parts:
            yield number, etag

    S3Response._complete_multipart_body = checked_complete_body  # type: ignore[method-assign]

    complete_upload = S3Backend.complete_multipart_upload

    @functools.wraps(complete_upload)
    def completed(self: Any, bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any) -> Any:
        bucket = self.buckets.get(bucket_name)
        upload = bucket.multiparts.get(multipart_id) if bucket is not None else None
        key = complete_upload(self, bucket_name, multipart_id, *args, **kwargs)
        parts = getattr(upload, PARTS, None)
        if key is not None and parts:
            setattr(key, PARTS, parts)
        return key

    S3Backend.complete_multipart_upload = completed  # type: ignore[method-assign]

    list_parts = S3Response.list_parts

    @functools.wraps(list_parts)
    def listed_parts(self: Any) -> Any:
        status, headers, body = list_parts(self)
        upload = _upload(self)
        checksum = upload_checksum(upload)
        text = _text_of(body)
        if status != 200 or checksum is None or text is None:
            return status, headers, body
        algorithm, kind = checksum

        def with_checksum(match: re.Match[str]) -> str:
            number = _PART_NUMBER.search(match.group(1))
            part = upload.parts.get(int(number.group(1))) if number is not None else None
            value = part_checksum(part, algorithm) if part is not None else None
            extra = _element(f"Checksum{algorithm}", value) if value is not None else ""
            return f"<Part>{match.group(1)}{extra}</Part>"

        text = _PART.sub(with_checksum, text)
        text = text.replace("</ListPartsResult>", _element("ChecksumAlgorithm", algorithm) + _element("ChecksumType", kind) + "</ListPartsResult>", 1)
        return _answer(status, headers, text)

    S3Response.list_parts = listed_parts  # type: ignore[method-assign]
    _checksum_types(S3Response)
    _object_parts(S3Response)


def _int_header(headers: Any, name: str, default: int) -> int:
    value = str(headers.get(name) or "").strip()
    return int(value) if value.isdigit() else default


def object_parts(key: Any, max_parts: int, marker: int) -> str:
    """GetObjectAttributes' ObjectParts of an object made by a multipart upload: its number of
    parts (TotalPartsCount, ``PartsCount`` on the wire) and, for an upload with a checksum
    algorithm, its parts after ``marker`` (PartNumber, Size, Checksum<ALGORITHM>), ``max_parts``
    at most; empty for an object put at once."""
    upload = getattr(key, "multipart", None)
    if upload is None or "-" not in str(getattr(key, "etag", "")):
        return ""  # put at once, or a copy (moto's copy keeps its source's upload)
    parts: list[tuple[int, int, str | None]] = getattr(key, PARTS, None) or []
    count = len(parts) or int(getattr(upload, "parts_count", 0) or 0)
    if not count:
        return ""
    inner = _element("PartsCount", count)
    checksum = upload_checksum(upload)
    if parts and checksum is not None:
        after = [part for part in parts if part[0] > marker]
        page = after[:max_parts]
        inner += _element("PartNumberMarker", marker) + _element("NextPartNumberMarker", page[-1][0] if page else marker)
        inner += _element("MaxParts", max_parts) + _element("IsTruncated", "true" if len(after) > len(page) else "false")
        for number, size, value in page:
            extra = _element(f"Checksum{checksum[0]}", value) if value is not None else ""
            inner += f"<Part>{_element('PartNumber', number)}{_element('Size', size)}{extra}</Part>"
    return f"<ObjectParts>{inner}</ObjectParts>"


_CLOSING = re.compile(r"</[A-Za-z]+>\s*$")
_EMPTY_ROOT = re.compile(r"<([A-Za-z]+)((?:\s[^<>]*?)?)/>\s*$")


def _object_parts(response_class: Any) -> None:
    """GetObjectAttributes with ObjectParts (moto left it out)."""
    attributes = response_class.get_object_attributes

    @functools.wraps(attributes)
    def with_parts(self: Any) -> Any:
        status, headers, body = attributes(self)
        wanted = {name.strip() for name in str(self.headers.get("x-amz-object-attributes", "")).split(",")}
        text = _text_of(body) if status == 200 and "ObjectParts" in wanted else None
        if text is None:
            return status, headers, body
        key = self.backend.get_object(self.bucket_name, self.parse_key_name(), version_id=self._get_param("versionId"))
        parts = object_parts(key, _int_header(self.headers, "x-amz-max-parts", 1000),
                             _int_header(self.headers, "x-amz-part-number-marker", 0)) if key is not None else ""
        if not parts:
            return status, headers, body
        closing = _CLOSING.search(text)
        if closing is not None:
            return _answer(status, headers, text[: closing.start()] + parts + text[closing.start() :])
        empty = _EMPTY_ROOT.search(text)  # nothing else asked for: moto's root is <X/>
        if empty is None:
            return status, headers, body
        return _answer(status, headers, f"{text[: empty.start()]}<{empty.group(1)}{empty.group(2)}>{parts}</{empty.group(1)}>")

    response_class.get_object_attributes = with_parts


def _checksum_types(response_class: Any) -> None:
    """ChecksumType where moto left it out (see the module's doc)."""
    put_object = response_class.put_object

    @functools.wraps(put_object)
    def put_with_type(self: Any) -> Any:
        status, headers, body = put_object(self)
        if status == 200 and self.headers.get("x-amz-sdk-checksum-algorithm") and isinstance(headers, dict):
            headers.setdefault("x-amz-checksum-type", "FULL_OBJECT")
        return status, headers, body

    response_class.put_object = put_with_type

    key_post = response_class._key_response_post

    @functools.wraps(key_post)
    def created(self: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str) -> Any:
        status, headers, answer = key_post(self, request, body, bucket_name, query, key_name)
        if "uploads" in query and status == 200 and isinstance(headers, dict):
            algorithm = headers.get("x-amz-checksum-algorithm")
            if algorithm and "x-amz-checksum-type" not in headers:
                headers["x-amz-checksum-type"] = "FULL_OBJECT" if str(algorithm).upper() == "CRC64NVME" else "COMPOSITE"
        return status, headers, answer

    response_class._key_response_post = created

    list_v2 = response_class.list_objects_v2

    @functools.wraps(list_v2)
    def listed_v2(self: Any, *args: Any, **kwargs: Any) -> Any:
        status, headers, body = list_v2(self, *args, **kwargs)
        text = _text_of(body)
        if status != 200 or text is None or "</ChecksumAlgorithm>" not in text:
            return status, headers, body
        bucket = self.backend.buckets.get(self.bucket_name)
        url = "<EncodingType>url</EncodingType>" in text

        def with_type(match: re.Match[str]) -> str:
            contents = match.group(1)
            name = re.search(r"<Key>(.*?)</Key>", contents, re.DOTALL)
            if name is None or bucket is None or "<ChecksumType>" in contents:
                return match.group(0)
            key_name = _unescape(name.group(1))
            key = bucket.keys.get(unquote(key_name) if url else key_name)
            kind = getattr(key, "checksum_type", None) if key is not None else None
            return f"<Contents>{contents}{_element('ChecksumType', kind)}</Contents>" if kind else match.group(0)

        return _answer(status, headers, re.sub(r"<Contents>(.*?)</Contents>", with_type, text, flags=re.DOTALL))

    response_class.list_objects_v2 = listed_v2


def _unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text, {"&quot;": '"', "&apos;": "'"})
