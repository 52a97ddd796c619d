"""S3 SelectObjectContent: the records and the Stats event as S3 documents them.

moto answers SelectObjectContent with py_partiql_parser, which evaluates the SQL over JSON
documents; a CSV object is turned into JSON documents first (py_partiql_parser.csv_to_json),
and that conversion is wrong in ways that change every answer over CSV:

- it splits the text on "\\n" and makes a record of each piece, so the final record delimiter
  (a CSV file's last line ends with one) gave one more, empty, record: ``count(*)`` was one
  more than the rows, ``SELECT *`` returned a record ``{"name": ""}``;
- FileHeaderInfo IGNORE read the header as data (IGNORE: "First line is a header, but you
  can't use the header values ... You can use column position", CSVInput in the
  SelectObjectContent API reference);
- it split fields on "," whatever the request's FieldDelimiter, RecordDelimiter,
  QuoteCharacter, QuoteEscapeCharacter and Comments (a quoted "Smith, J" became two fields,
  comment rows were records);
- moto parsed the request with xmltodict's default whitespace stripping, so a tab
  FieldDelimiter was read as none.

Its Stats event gave the number of JSON tokens of that conversion as both BytesScanned and
BytesProcessed; the API reference's Stats: BytesScanned is "the total number of object bytes
scanned", BytesProcessed "the total number of uncompressed object bytes processed",
BytesReturned "the total number of bytes of records payload data returned". And
``SELECT count(*)`` over no matching record returned no record at all (py_partiql_parser
starts its count at the first record), where SQL's COUNT of no rows is 0.

py_partiql_parser's own JSON reader (JsonParser) knows no escapes: a value holding an escaped
quotation mark (``"say \\"hi\\""``) ended early and garbled the rest of the document.

Here (``install``, from fallback_patches._s3) moto's handler of ``POST /key?select`` is
replaced by one that reads the CSV as the request describes it (``csv_records``), JSON input
with Python's json (``json_documents``), and evaluates the SQL over those documents with
py_partiql_parser's clauses as moto's S3SelectParser.parse does (``_evaluate``). CSV output
quotes fields as CSVOutput describes (QuoteFields ASNEEDED, the default, or ALWAYS). The SQL
itself is still py_partiql_parser's, with its limits.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

_COUNT_ONLY = re.compile(r"^\s*SELECT\s+count\s*\([^)]*\)\s+FROM\s", re.IGNORECASE)
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
    if started:
        row.append("".join(field))
        yield row


def csv_records(text: str, options: dict[str, Any]) -> list[dict[str, str]]:
    """The CSV's records as documents: named by the header with FileHeaderInfo USE, by
    position (_1, _2...) otherwise; IGNORE skips the header, NONE reads it as data."""
    header_info = str(options.get("FileHeaderInfo") or "NONE").strip().upper()
    rows = _rows(text, options)
    names: list[str] = []
    if header_info in ("USE", "IGNORE"):
        first = next(rows, None)
        if header_info == "USE" and first is not None:
            names = first
    documents = []
    for row in rows:
        # A value beyond the header's names is named by its position (a choice of the
        # emulator's: S3's documentation does not say).
        documents.append({names[i] if i < len(names) else f"_{i + 1}": value for i, value in enumerate(row)})
    return documents


def json_documents(text: str) -> list[Any]:
    """The JSON documents of the text, one after the other (JSON LINES: one a line; DOCUMENT:
    one that may span lines)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return documents
        document, i = decoder.raw_decode(text, i)
        documents.append(document)


def _partiql(value: Any) -> Any:
    """A document as py_partiql_parser's JsonParser gives it: objects as CaseInsensitiveDict,
    null as Variable(None)."""
    from py_partiql_parser._internal.utils import CaseInsensitiveDict, Variable

    if isinstance(value, dict):
        result = CaseInsensitiveDict()
        for name, item in value.items():
            result[name] = _partiql(item)
        return result
    if isinstance(value, list):
        return [_partiql(item) for item in value]
    return Variable(None) if value is None else value


def _evaluate(documents: list[Any], query: str) -> list[Any]:
    """py_partiql_parser's S3SelectParser.parse over these documents (it reads its own
    JsonParser's)."""
    from py_partiql_parser._internal.from_parser import S3FromParser
    from py_partiql_parser._internal.select_parser import S3SelectClauseParser
    from py_partiql_parser._internal.where_parser import S3WhereParser

    clauses = re.split("SELECT | FROM | WHERE ", query.replace("\n", " "), flags=re.IGNORECASE)
    from_parser = S3FromParser(from_clause=clauses[2])
    table_prefix = "s3object"
    for alias_key, alias_value in from_parser.clauses.items():
        if alias_value in (table_prefix, f"{table_prefix}[*]"):
            table_prefix = alias_key
    results: list[Any] = []
    for document in documents:
        doc = from_parser.get_source_data(_partiql(document))
        if len(clauses) > 3 and not S3WhereParser.applies(doc, table_prefix, clauses[3]):
            continue
        S3SelectClauseParser(table_prefix).parse(clauses[1], from_parser.clauses, doc, results)
    return results


def _csv_output(rows: list[Any], options: dict[str, Any]) -> bytes:
    field_sep = _char(options, "FieldDelimiter", ",")
    record_sep = _char(options, "RecordDelimiter", "\n")
    quote = _char(options, "QuoteCharacter", '"')
    escape = _char(options, "QuoteEscapeCharacter", quote)
    always = str(options.get("QuoteFields") or "").strip().upper() == "ALWAYS"

    def field(value: Any) -> str:
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else f"{value}"
        if always or any(part in text for part in (field_sep, record_sep, quote)):
            return quote + text.replace(quote, escape + quote) + quote
        return text

    values = (row.values() if isinstance(row, dict) else [row] for row in rows)
    return "".join(field_sep.join(field(v) for v in row) + record_sep for row in values).encode("utf-8")


def select(backend: Any, bucket_name: str, key_name: str, request: dict[str, Any]) -> tuple[bytes, dict[str, int]]:
    """The records' payload and the Stats event's details of a SelectObjectContentRequest."""
    from moto.s3.exceptions import MissingKey
    from py_partiql_parser import SelectEncoder

    backend.get_bucket(bucket_name)
    key = backend.get_object(bucket_name, key_name)
    if key is None:
        raise MissingKey(key=key_name)
    stored = bytes(key.value)
    source = _options(request.get("InputSerialization"))
    compression = str(source.get("CompressionType") or "NONE").strip().upper()
    raw = gzip.decompress(stored) if compression == "GZIP" else bz2.decompress(stored) if compression == "BZIP2" else stored
    text = raw.decode("utf-8")
    documents: list[Any] = csv_records(text, _options(source["CSV"])) if "CSV" in source else json_documents(text)
    expression = str(request.get("Expression") or "")
    rows = _evaluate(documents, expression)
    if not rows and _COUNT_ONLY.match(expression):
        rows = [{"_1": 0}]  # moto counts from the first record: none, no row at all

    output = _options(request.get("OutputSerialization"))
    if "CSV" in output:
        payload = _csv_output(rows, _options(output["CSV"]))
    else:
        delimiter = _char(_options(output.get("JSON")), "RecordDelimiter", "\n")
        payload = "".join(json.dumps(row, separators=(",", ":"), cls=SelectEncoder) + delimiter for row in rows).encode("utf-8")
    return payload, {"BytesScanned": len(stored), "BytesProcessed": len(raw), "BytesReturned": len(payload)}


def install() -> None:
    """Replace moto's SelectObjectContent handler (``POST /key?select``; once)."""
    global _installed
    if _installed:
        return
    import xmltodict
    from moto.core.common_types import TYPE_RESPONSE
    from moto.core.responses import ActionResult
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
        payload, stats = select(self.backend, bucket_name, key_name, parsed)
        events = [{"Records": {"Payload": payload}}, {"Stats": {"Details": stats}}, {"End": {}}]
        self.data["Action"] = "SelectObjectContent"
        return self.serialized(ActionResult({"Payload": events}))

    S3Response._key_response_post = with_select  # type: ignore[method-assign]
    _installed = True
