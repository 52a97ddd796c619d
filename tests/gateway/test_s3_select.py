"""S3 SelectObjectContent (emulator/gateway/s3_select.py) as S3 documents it: the S3 User Guide's
"Filtering and retrieving data using Amazon S3 Select" and the SelectObjectContent API reference
(botocore's model carries its text). CSVInput.FileHeaderInfo: USE = the first line is a header
whose names identify columns; IGNORE = the first line is a header that is skipped, columns are
named by position (_1, _2...); NONE = the first line is data. The last record delimiter ends
the last record (it does not start an empty one). The Stats event: BytesScanned = object bytes
scanned, BytesProcessed = uncompressed object bytes processed, BytesReturned = bytes of records
payload returned. JSON input: LINES = one document a line, DOCUMENT = a document that may span
lines. Through the wire with boto3."""

from __future__ import annotations

import bz2
import gzip
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

ROWS = b"name,age\nann,30\nbob,40\n"


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"select-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _select(s3: Any, bucket: str, body: bytes, expression: str, source: dict[str, Any],
            output: dict[str, Any] | None = None) -> tuple[bytes, dict[str, int], list[str]]:
    """The records' payload, the Stats event's details and the kinds of events, in order."""
    key = f"obj-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    response = s3.select_object_content(
        Bucket=bucket, Key=key, Expression=expression, ExpressionType="SQL",
        InputSerialization=source, OutputSerialization=output or {"JSON": {}},
    )
    payload, stats, kinds = b"", {}, []
    for event in response["Payload"]:
        kind = next(iter(event))
        kinds.append(kind)
        if kind == "Records":
            payload += event["Records"]["Payload"]
        elif kind == "Stats":
            stats = event["Stats"]["Details"]
    return payload, stats, kinds


def _json(payload: bytes) -> list[Any]:
    return [json.loads(line) for line in payload.decode().splitlines()]


def _csv(header: str) -> dict[str, Any]:
    return {"CSV": {"FileHeaderInfo": header}}


# ------------------------------------------------------------------ FileHeaderInfo
@pytest.mark.parametrize(("header", "count"), [("USE", 2), ("IGNORE", 2), ("NONE", 3)])
def test_count_counts_data_rows_only(s3: Any, bucket: str, header: str, count: int) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT count(*) FROM s3object", _csv(header))
    assert _json(payload) == [{"_1": count}]


def test_use_names_columns_by_the_header(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT * FROM s3object", _csv("USE"))
    assert _json(payload) == [{"name": "ann", "age": "30"}, {"name": "bob", "age": "40"}]
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT s.name, s.age FROM s3object s", _csv("USE"))
    assert _json(payload) == [{"name": "ann", "age": "30"}, {"name": "bob", "age": "40"}]
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT s.age FROM s3object s WHERE s.name = 'bob'", _csv("USE"))
    assert _json(payload) == [{"age": "40"}]


def test_ignore_skips_the_header_and_names_columns_by_position(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT * FROM s3object", _csv("IGNORE"))
    assert _json(payload) == [{"_1": "ann", "_2": "30"}, {"_1": "bob", "_2": "40"}]
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT s._1 FROM s3object s", _csv("IGNORE"))
    assert _json(payload) == [{"_1": "ann"}, {"_1": "bob"}]
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT s._2 FROM s3object s WHERE s._1 = 'ann'", _csv("IGNORE"))
    assert _json(payload) == [{"_2": "30"}]


def test_none_reads_the_first_line_as_data(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT s._1 FROM s3object s", _csv("NONE"))
    assert _json(payload) == [{"_1": "name"}, {"_1": "ann"}, {"_1": "bob"}]
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT * FROM s3object s WHERE s._1 = 'name'", _csv("NONE"))
    assert _json(payload) == [{"_1": "name", "_2": "age"}]


def test_without_a_final_record_delimiter(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS.rstrip(b"\n"), "SELECT count(*) FROM s3object", _csv("USE"))
    assert _json(payload) == [{"_1": 2}]


def test_csv_output(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT * FROM s3object", _csv("USE"), {"CSV": {}})
    assert payload == b"ann,30\nbob,40\n"
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT count(*) FROM s3object", _csv("IGNORE"), {"CSV": {}})
    assert payload == b"2\n"


# ------------------------------------------------------------------ the CSV's own format
def test_quoted_fields_keep_their_delimiters(s3: Any, bucket: str) -> None:
    """QuoteCharacter (default "): a value holding the field delimiter is quoted; a quote in a
    quoted value is escaped by QuoteEscapeCharacter (the API reference's example: \"\"\" a , b \"\"\"
    is parsed as " a , b ")."""
    body = b'name,city\n"Smith, J",oslo\n""" a , b """,rome\n'
    payload, _, _ = _select(s3, bucket, body, "SELECT * FROM s3object", _csv("USE"))
    assert _json(payload) == [{"name": "Smith, J", "city": "oslo"}, {"name": '" a , b "', "city": "rome"}]


def test_field_and_record_delimiters(s3: Any, bucket: str) -> None:
    source = {"CSV": {"FileHeaderInfo": "USE", "FieldDelimiter": ";", "RecordDelimiter": "|"}}
    payload, _, _ = _select(s3, bucket, b"name;age|ann;30|bob;40|", "SELECT s.name FROM s3object s", source)
    assert _json(payload) == [{"name": "ann"}, {"name": "bob"}]


def test_tab_delimiter_and_quoted_record_delimiters(s3: Any, bucket: str) -> None:
    """A tab FieldDelimiter (whitespace in the request's XML, kept); AllowQuotedRecordDelimiter
    TRUE: a quoted value may hold the record delimiter."""
    body = b'name\tnote\nann\t"two\nlines"\nbob\tone\n'
    source = {"CSV": {"FileHeaderInfo": "USE", "FieldDelimiter": "\t", "AllowQuotedRecordDelimiter": True}}
    payload, _, _ = _select(s3, bucket, body, "SELECT * FROM s3object", source)
    assert _json(payload) == [{"name": "ann", "note": "two\nlines"}, {"name": "bob", "note": "one"}]


def test_csv_output_quotes_as_needed(s3: Any, bucket: str) -> None:
    """CSVOutput.QuoteFields: ASNEEDED (the default) quotes a value that holds the field
    delimiter; ALWAYS quotes every value."""
    body = b'name,city\n"Smith, J",oslo\n'
    payload, _, _ = _select(s3, bucket, body, "SELECT * FROM s3object", _csv("USE"), {"CSV": {}})
    assert payload == b'"Smith, J",oslo\n'
    payload, _, _ = _select(s3, bucket, body, "SELECT * FROM s3object", _csv("USE"), {"CSV": {"QuoteFields": "ALWAYS"}})
    assert payload == b'"Smith, J","oslo"\n'


def test_count_of_no_record_is_zero(s3: Any, bucket: str) -> None:
    payload, _, _ = _select(s3, bucket, ROWS, "SELECT count(*) FROM s3object s WHERE s.name = 'eve'", _csv("USE"))
    assert _json(payload) == [{"_1": 0}]


def test_comment_lines_are_skipped(s3: Any, bucket: str) -> None:
    """Comments: a row starting with this character is ignored; the default character is #."""
    body = b"name,age\n#ann,30\nbob,40\n"
    payload, _, _ = _select(s3, bucket, body, "SELECT count(*) FROM s3object", _csv("USE"))
    assert _json(payload) == [{"_1": 1}]
    source = {"CSV": {"FileHeaderInfo": "NONE", "Comments": "!"}}
    payload, _, _ = _select(s3, bucket, b"!x\n#ann,30\n", "SELECT s._1 FROM s3object s", source)
    assert _json(payload) == [{"_1": "#ann"}]


# ------------------------------------------------------------------ Stats
def test_stats_of_an_uncompressed_object(s3: Any, bucket: str) -> None:
    payload, stats, kinds = _select(s3, bucket, ROWS, "SELECT s.name FROM s3object s", _csv("USE"))
    assert kinds == ["Records", "Stats", "End"]
    assert stats == {"BytesScanned": len(ROWS), "BytesProcessed": len(ROWS), "BytesReturned": len(payload)}
    assert payload == b'{"name":"ann"}\n{"name":"bob"}\n'


@pytest.mark.parametrize(("compression", "compress"), [("GZIP", gzip.compress), ("BZIP2", bz2.compress)])
def test_stats_of_a_compressed_object(s3: Any, bucket: str, compression: str, compress: Callable[[bytes], bytes]) -> None:
    body = compress(ROWS)
    source = {**_csv("USE"), "CompressionType": compression}
    payload, stats, _ = _select(s3, bucket, body, "SELECT count(*) FROM s3object", source)
    assert _json(payload) == [{"_1": 2}]
    assert stats == {"BytesScanned": len(body), "BytesProcessed": len(ROWS), "BytesReturned": len(payload)}


# ------------------------------------------------------------------ JSON input
def test_json_lines(s3: Any, bucket: str) -> None:
    body = b'{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n'
    source = {"JSON": {"Type": "LINES"}}
    payload, stats, _ = _select(s3, bucket, body, "SELECT count(*) FROM s3object", source)
    assert _json(payload) == [{"_1": 2}]
    assert stats["BytesScanned"] == stats["BytesProcessed"] == len(body)
    payload, _, _ = _select(s3, bucket, body, "SELECT s.a FROM s3object s WHERE s.b = 'y'", source)
    assert _json(payload) == [{"a": 2}]


def test_json_escapes(s3: Any, bucket: str) -> None:
    body = json.dumps({"a": 'say "hi", then \\ go', "b": "\u00e9t\u00e9"}).encode() + b"\n"
    payload, _, _ = _select(s3, bucket, body, "SELECT * FROM s3object", {"JSON": {"Type": "LINES"}})
    assert _json(payload) == [{"a": 'say "hi", then \\ go', "b": "\u00e9t\u00e9"}]


def test_json_document_spanning_lines(s3: Any, bucket: str) -> None:
    body = b'{\n  "a": 1,\n  "b": "x"\n}\n'
    source = {"JSON": {"Type": "DOCUMENT"}}
    payload, stats, _ = _select(s3, bucket, body, "SELECT count(*) FROM s3object", source)
    assert _json(payload) == [{"_1": 1}]
    assert stats["BytesScanned"] == stats["BytesProcessed"] == len(body)
    payload, _, _ = _select(s3, bucket, body, "SELECT s.b FROM s3object s", source)
    assert _json(payload) == [{"b": "x"}]
