"""S3 SelectObjectContent: the records and the Stats event as S3 documents them.

moto answers SelectObjectContent with py_partiql_parser, over JSON documents made of the object
(py_partiql_parser.csv_to_json for CSV); both are wrong in ways that change answers: the CSV
conversion split on "\\n" whatever the request's delimiters and quoting (and made an empty
record of the final delimiter), read an IGNOREd header as data and kept comment rows; the JSON
reader knew no escapes; the SQL evaluated every aggregate as COUNT, ignored LIMIT, matched no
number, failed (500) on a quoted identifier, ``<`` over strings, nested paths, and malformed,
badly compressed or non-UTF-8 input; ScanRange was ignored; the Stats event gave the number of
JSON tokens as BytesScanned and BytesProcessed.

Here (``install``, from fallback_patches._s3) moto's handler of ``POST /key?select`` is
replaced: the CSV is read as CSVInput describes it (``csv_records``: FileHeaderInfo, delimiters,
QuoteCharacter, QuoteEscapeCharacter, Comments, AllowQuotedRecordDelimiter), JSON with Python's
json (``json_documents``), and the SQL is S3 Select's, parsed and evaluated by s3_select_query and s3_select_sql.
ScanRange (SelectObjectContent API reference: "A record is processed when its first byte is
contained by the range") is read for uncompressed CSV and JSON LINES; the S3 User Guide's
"Filtering and retrieving data using Amazon S3 Select" limits scan ranges to those (CSV "without
quoted record delimiters", JSON "in LINES mode only", both uncompressed): other inputs get
UnsupportedScanRangeInput. Errors are the codes of the S3 API reference's "List of SELECT
Object Content Error Codes" (HTTP 400). Stats (API reference): BytesScanned "the total number of
object bytes scanned", BytesProcessed "the total number of uncompressed object bytes
processed", BytesReturned "the total number of bytes of records payload data returned". CSV
output quotes fields as CSVOutput describes (QuoteFields ASNEEDED, the default, or ALWAYS).
"""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import math
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from emulator.gateway.s3_select_query import execute, parse
from emulator.gateway.s3_select_sql import (
    MISSING,
    CsvRecord,
    SelectError,
    text,
)

_installed = False


def _options(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _char(options: dict[str, Any], name: str, default: str) -> str:
    value = options.get(name)
    return value if isinstance(value, str) and value != "" else default


def _rows(text: str, options: dict[str, Any]) -> Iterator[list[str]]:
    """The CSV's records, split into fields as CSVInput describes them."""
    field_sep = _char(options, "FieldDelimiter", ",")
    record_sep = _char(options, "RecordDelimiter", "\n")
    quote = _char(options, "QuoteCharacter", '"')
    escape = _char(options, "QuoteEscapeCharacter", quote)
    comment = _char(options, "Comments", "#")  # "The default character is #." (CSVInput)
    quoted_records = str(options.get("AllowQuotedRecordDelimiter") or "").strip().lower() == "true"
    if quote not in text:  # nothing quoted: plain splits
        records = text.split(record_sep)
        if records and records[-1] == "":
            records.pop()  # the final delimiter ends the last record
        yield from (record.split(field_sep) for record in records if not record.startswith(comment))
        return
    row: list[str] = []
    field: list[str] = []
    i, n = 0, len(text)
    quoted = started = False  # inside a quoted value; the record has begun
    while i < n:
        if not started and text.startswith(comment, i):
            end = text.find(record_sep, i)
            i = n if end < 0 else end + len(record_sep)
            continue
        started = True
        if text.startswith(record_sep, i) and not (quoted and quoted_records):
            if quoted:  # "such records should be allowed" with AllowQuotedRecordDelimiter TRUE only
                raise SelectError("CSVParsingError", "A quoted CSV value holds the record delimiter (or its closing quotation mark is "
                                  "missing); AllowQuotedRecordDelimiter TRUE allows quoted record delimiters.")
            row.append("".join(field))
            yield row
            row, field, quoted, started = [], [], False, False
            i += len(record_sep)
        elif quoted and text.startswith(escape + quote, i):
            field.append(quote)  # an escaped quotation mark inside a quoted value
            i += len(escape) + len(quote)
        elif quoted and text.startswith(quote, i):
            quoted = False
            i += len(quote)
        elif not quoted and text.startswith(field_sep, i):
            row.append("".join(field))
            field = []
            i += len(field_sep)
        elif not quoted and not field and text.startswith(quote, i):
            quoted = True
            i += len(quote)
        else:
            field.append(text[i])
            i += 1
    if quoted:
        raise SelectError("CSVParsingError", "The CSV object ends inside a quoted value (its closing quotation mark is missing).")
    if started:
        row.append("".join(field))
        yield row


def _header(options: dict[str, Any]) -> str:
    return str(options.get("FileHeaderInfo") or "NONE").strip().upper()


def csv_records(text: str, options: dict[str, Any], names: list[str] | None = None) -> Iterator[CsvRecord]:
    """The CSV's records: named by the header with FileHeaderInfo USE (or by ``names``, a header
    read already), by position (_1, _2...) always; IGNORE skips the header, NONE reads it as
    data."""
    header_info = _header(options)
    rows = _rows(text, options)
    if names is None and header_info in ("USE", "IGNORE"):
        first = next(rows, None)
        names = first if header_info == "USE" and first is not None else None
    for row in rows:
        yield CsvRecord(names, row)


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_parse_constant)


def json_documents(text: str) -> Iterator[Any]:
    """The JSON documents of the text, one after the other (JSON LINES: one a line; DOCUMENT:
    one that may span lines); numbers with a fraction are DECIMAL, as S3 Select reads them."""
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        try:
            document, i = _DECODER.raw_decode(text, i)
        except (ValueError, RecursionError) as error:
            raise SelectError("JSONParsingError", f"Encountered an error parsing the JSON object: {error}.") from None
        yield document


def _decompress(stored: bytes, compression: str) -> bytes:
    try:
        if compression == "GZIP":
            return gzip.decompress(stored)
        if compression == "BZIP2":
            return bz2.decompress(stored)
    except EOFError:
        raise SelectError("TruncatedInput", f"The object's {compression} data ends early: it could not be decompressed.") from None
    except (OSError, ValueError, zlib.error):
        raise SelectError("InvalidCompressionFormat", f"The object is not {compression}-compressed data, as CompressionType says.") from None
    return stored


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SelectError("InvalidTextEncoding", f"The object is not UTF-8 text (byte {error.start}); only UTF-8 encoding is supported.") from None


def _scan_range(request: dict[str, Any], size: int) -> tuple[int, int] | None:
    """ScanRange's first and last byte (inclusive): only Start, from there to the end; only
    End, the last End bytes (the API reference's ScanRange)."""
    scan = request.get("ScanRange")
    if not isinstance(scan, dict):
        return None
    try:
        start = int(scan["Start"]) if scan.get("Start") not in (None, "") else None
        end = int(scan["End"]) if scan.get("End") not in (None, "") else None
    except ValueError:
        raise SelectError("InvalidRequestParameter", "ScanRange's Start and End are non-negative integers.") from None
    if (start is not None and start < 0) or (end is not None and end < 0) or (start is not None and end is not None and start > end):
        raise SelectError("InvalidRequestParameter", f"The ScanRange {start}-{end} is not a range of non-negative byte positions.")
    if start is None:
        return (max(size - end, 0) if end is not None else 0), size - 1
    return start, size - 1 if end is None else min(end, size - 1)


def _ranged(raw: bytes, separator: bytes, start: int, end: int) -> bytes:
    """The records (ended by ``separator``) whose first byte is in [start, end], read to their end."""
    first = 0 if start == 0 else raw.find(separator, max(start - len(separator), 0))
    if start:
        first = len(raw) if first < 0 else first + len(separator)
    if first > end or first >= len(raw):
        return b""
    after = raw.find(separator, max(first, end - len(separator) + 1))
    return raw[first:len(raw) if after < 0 else after + len(separator)]


def _csv_header(raw: bytes, options: dict[str, Any]) -> tuple[list[str] | None, int]:
    """The header record (USE and IGNORE: the first record that is not a comment) and the
    offset after it."""
    if _header(options) not in ("USE", "IGNORE"):
        return None, 0
    separator = _char(options, "RecordDelimiter", "\n").encode("utf-8")
    comment = _char(options, "Comments", "#").encode("utf-8")
    offset = 0
    while offset < len(raw):
        after = raw.find(separator, offset)
        after = len(raw) if after < 0 else after + len(separator)
        if not raw.startswith(comment, offset):
            row = next(_rows(_decode(raw[offset:after]), options), [])
            return (row if _header(options) == "USE" else None), after
        offset = after
    return None, len(raw)


def _records(raw: bytes, source: dict[str, Any], compression: str, scan: tuple[int, int] | None) -> tuple[Iterator[Any], int]:
    """The object's records, and how many bytes of it are read."""
    if "CSV" in source:
        options = _options(source["CSV"])
        if scan is None:
            return csv_records(_decode(raw), options), len(raw)
        if compression != "NONE" or str(options.get("AllowQuotedRecordDelimiter") or "").strip().lower() == "true":
            raise SelectError("UnsupportedScanRangeInput", "Scan ranges are supported on uncompressed CSV without quoted record delimiters.")
        names, header_end = _csv_header(raw, options)
        chunk = _ranged(raw, _char(options, "RecordDelimiter", "\n").encode("utf-8"), max(scan[0], header_end), scan[1])
        return csv_records(_decode(chunk), {**options, "FileHeaderInfo": "NONE"}, names), len(chunk) + header_end
    kind = str(_options(source["JSON"]).get("Type") or "DOCUMENT").strip().upper()
    if kind not in ("DOCUMENT", "LINES"):
        raise SelectError("InvalidJsonType", f"The JSON Type {kind!r} is invalid: only DOCUMENT and LINES are supported.")
    if scan is None:
        return json_documents(_decode(raw)), len(raw)
    if compression != "NONE" or kind != "LINES":
        raise SelectError("UnsupportedScanRangeInput", "Scan ranges are supported on uncompressed JSON LINES only.")
    chunk = _ranged(raw, b"\n", scan[0], scan[1])
    return json_documents(_decode(chunk)), len(chunk)


def _json_text(value: Any) -> str:
    if isinstance(value, CsvRecord):
        value = dict(value.items())
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _json_text(v) for k, v in value.items() if v is not MISSING) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value if v is not MISSING) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "null"
    return text(value)


def _json_output(rows: Iterator[list[tuple[str, Any]]], options: dict[str, Any]) -> bytes:
    delimiter = _char(options, "RecordDelimiter", "\n")
    return "".join(_row_json(row) + delimiter for row in rows).encode("utf-8")


def _row_json(row: list[tuple[str, Any]]) -> str:
    """A record as a JSON object, names repeated if the SELECT list repeats them; MISSING values
    are left out."""
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _json_text(v) for k, v in row if v is not MISSING) + "}"


def _csv_output(rows: Iterator[list[tuple[str, Any]]], options: dict[str, Any]) -> bytes:
    field_sep = _char(options, "FieldDelimiter", ",")
    record_sep = _char(options, "RecordDelimiter", "\n")
    quote = _char(options, "QuoteCharacter", '"')
    escape = _char(options, "QuoteEscapeCharacter", quote)
    always = str(options.get("QuoteFields") or "").strip().upper() == "ALWAYS"

    def field(value: Any) -> str:
        written = "" if value is None or value is MISSING else value if isinstance(value, str) else \
            _json_text(value) if isinstance(value, (dict, list, CsvRecord)) else text(value)
        if always or any(part in written for part in (field_sep, record_sep, quote)):
            return quote + written.replace(quote, escape + quote) + quote
        return written

    return "".join(field_sep.join(field(v) for _, v in row) + record_sep for row in rows).encode("utf-8")


def select(backend: Any, bucket_name: str, key_name: str, request: dict[str, Any]) -> tuple[bytes, dict[str, int]]:
    """The records' payload and the Stats event's details of a SelectObjectContentRequest."""
    from moto.s3.exceptions import MissingKey

    backend.get_bucket(bucket_name)
    key = backend.get_object(bucket_name, key_name)
    if key is None:
        raise MissingKey(key=key_name)
    expression_type = str(request.get("ExpressionType") or "SQL").strip().upper()
    if expression_type != "SQL":
        raise SelectError("InvalidExpressionType", f"The ExpressionType {expression_type!r} is invalid: only SQL expressions are supported.")
    query = parse(str(request.get("Expression") or ""))
    source = _options(request.get("InputSerialization"))
    compression = str(source.get("CompressionType") or "NONE").strip().upper()
    if compression not in ("NONE", "GZIP", "BZIP2"):
        raise SelectError("InvalidCompressionFormat", f"The CompressionType {compression!r} is not supported: only GZIP and BZIP2 are.")
    if "Parquet" in source:
        raise SelectError("NotImplemented", "Parquet input is not implemented by this emulator's S3 Select: CSV and JSON are.")
    if "CSV" not in source and "JSON" not in source:
        raise SelectError("InvalidDataSource", "InputSerialization names no data format: CSV, JSON or Parquet.")
    output = _options(request.get("OutputSerialization"))
    stored = bytes(key.value)
    raw = _decompress(stored, compression)
    records, processed = _records(raw, source, compression, _scan_range(request, len(raw)))
    rows = execute(query, records)
    try:
        payload = _csv_output(rows, _options(output["CSV"])) if "CSV" in output else _json_output(rows, _options(output.get("JSON")))
    except RecursionError:
        raise SelectError("JSONParsingError", "A JSON value of the object nests too deeply.") from None
    scanned = len(stored) if compression != "NONE" else processed
    return payload, {"BytesScanned": scanned, "BytesProcessed": processed, "BytesReturned": len(payload)}


def install() -> None:
    """Replace moto's SelectObjectContent handler (``POST /key?select``; once)."""
    global _installed
    if _installed:
        return
    import xmltodict
    from moto.core.common_types import TYPE_RESPONSE
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    key_response_post = S3Response._key_response_post

    @functools.wraps(key_response_post)
    def with_select(self: Any, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str) -> TYPE_RESPONSE:
        if "select" not in query:
            return key_response_post(self, request, body, bucket_name, query, key_name)
        # moto's own first steps of the handler
        self._set_action("KEY", "POST", query)
        self._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=key_name)
        # whitespace kept: a FieldDelimiter or RecordDelimiter may be a tab or a space
        parsed = _options(xmltodict.parse(body, strip_whitespace=False).get("SelectObjectContentRequest"))
        try:
            payload, stats = select(self.backend, bucket_name, key_name, parsed)
        except SelectError as error:  # S3 Select's documented codes, all HTTP 400
            raise S3ClientError(error.code, error.message) from None
        events = [{"Records": {"Payload": payload}}, {"Stats": {"Details": stats}}, {"End": {}}]
        self.data["Action"] = "SelectObjectContent"
        return self.serialized(ActionResult({"Payload": events}))

    S3Response._key_response_post = with_select  # type: ignore[method-assign]
    _installed = True
