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
from botocore.exceptions import ClientError

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
            output: dict[str, Any] | None = None, **kwargs: Any) -> tuple[bytes, dict[str, int], list[str]]:
    """The records' payload, the Stats event's details and the kinds of events, in order."""
    key = f"obj-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    response = s3.select_object_content(
        Bucket=bucket, Key=key, Expression=expression, ExpressionType="SQL",
        InputSerialization=source, OutputSerialization=output or {"JSON": {}}, **kwargs,
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


# ------------------------------------------------------------------ the SQL (emulator/gateway/s3_select_query.py, s3_select_sql.py)
# The S3 User Guide's "SQL reference for Amazon S3 Select"; errors: the S3 API reference's "List of
# SELECT Object Content Error Codes" (HTTP 400). Every test here also checks that the server logged
# no traceback while answering it.
PEOPLE = b"name,age,city\nann,30,oslo\nbob,40,rome\ncid,25,oslo\n"
DOCS = b'{"a":1,"b":"x","n":{"c":[10,20]}}\n{"a":2,"b":"y","z":null}\n{"a":3.5,"b":"Xy"}\n'
LINES = {"JSON": {"Type": "LINES"}}


@pytest.fixture(autouse=True)
def no_traceback(emulator: Any) -> Any:
    """The server's log gains no traceback (nor "unhandled error") during the test."""
    size = emulator.log_path.stat().st_size if emulator.log_path.exists() else 0
    yield
    with open(emulator.log_path, "rb") as log:
        log.seek(size)
        added = log.read().decode(errors="replace")
    assert "Traceback" not in added and "unhandled error" not in added, added[-3000:]


def _rows(s3: Any, bucket: str, body: bytes, expression: str, source: dict[str, Any], **kwargs: Any) -> list[Any]:
    return _json(_select(s3, bucket, body, expression, source, **kwargs)[0])


def _error(s3: Any, bucket: str, body: bytes, expression: str, source: dict[str, Any], **kwargs: Any) -> tuple[int, str, str]:
    key = f"obj-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    with pytest.raises(ClientError) as caught:
        response = s3.select_object_content(Bucket=bucket, Key=key, Expression=expression, ExpressionType="SQL",
                                            InputSerialization=source, OutputSerialization={"JSON": {}}, **kwargs)
        list(response["Payload"])
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


@pytest.mark.parametrize(("expression", "expected"), [
    ("SELECT SUM(s.a) FROM s3object s", [{"_1": 6.5}]),
    ("SELECT AVG(s.a) FROM s3object s", [{"_1": pytest.approx(6.5 / 3)}]),
    ("SELECT MIN(s.a), MAX(s.a) AS top FROM s3object s", [{"_1": 1, "top": 3.5}]),
    ("SELECT COUNT(s.z), COUNT(s.a), COUNT(*) FROM s3object s", [{"_1": 0, "_2": 3, "_3": 3}]),  # NULL and MISSING not counted
    ("SELECT SUM(s.a) FROM s3object s WHERE s.a < 3", [{"_1": 3}]),
    ("SELECT AVG(s.a) FROM s3object s WHERE s.b = 'x'", [{"_1": 1}]),
    ("SELECT SUM(s.a), MIN(s.a), COUNT(*) FROM s3object s WHERE s.a > 100", [{"_1": None, "_2": None, "_3": 0}]),
    ("SELECT SUM(s.a) * 2 + COUNT(*) FROM s3object s", [{"_1": 16}]),
])
def test_aggregates_over_json(s3: Any, bucket: str, expression: str, expected: list[Any]) -> None:
    assert _rows(s3, bucket, DOCS, expression, LINES) == expected


def test_aggregates_over_csv_need_cast(s3: Any, bucket: str) -> None:
    """CSV values are strings ("If CAST is not defined, then all input data is treated as a
    string", the reference's "Data types"): SUM of a CAST sums, SUM of the strings is refused."""
    expression = "SELECT SUM(CAST(s.age AS INT)), AVG(CAST(s.age AS INT)), MAX(CAST(s.age AS INT)) FROM s3object s WHERE s.city = 'oslo'"
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"_1": 55, "_2": 27.5, "_3": 30}]
    status, code, _ = _error(s3, bucket, PEOPLE, "SELECT SUM(s.age) FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "IncorrectSqlFunctionArgumentType")
    payload, _, _ = _select(s3, bucket, PEOPLE, "SELECT COUNT(*), SUM(CAST(s.age AS INT)) FROM s3object s WHERE s.name = 'eve'",
                            _csv("USE"), {"CSV": {}})
    assert payload == b"0,\n"


def test_limit(s3: Any, bucket: str) -> None:
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s LIMIT 2", _csv("USE")) == [{"name": "ann"}, {"name": "bob"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.city = 'oslo' LIMIT 1", _csv("USE")) == [{"name": "ann"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT * FROM s3object LIMIT 0", _csv("USE")) == []
    assert _rows(s3, bucket, DOCS, "SELECT COUNT(*) FROM s3object LIMIT 5", LINES) == [{"_1": 3}]


def test_numeric_comparison(s3: Any, bucket: str) -> None:
    """JSON numbers compare as numbers; a CSV value compares as a number once CAST; a string is
    not compared with a number (refused, not silently false)."""
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.a = 2", LINES) == [{"b": "y"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.a >= 2 AND s.a <> 3.5", LINES) == [{"b": "y"}]
    expression = "SELECT s.name FROM s3object s WHERE CAST(s.age AS INT) > 28"
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"name": "ann"}, {"name": "bob"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s._1 FROM s3object s WHERE CAST(s._2 AS FLOAT) = 25", _csv("IGNORE")) == [{"_1": "cid"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.age < '3'", _csv("USE")) == [{"name": "cid"}]  # strings
    for expression in ("SELECT * FROM s3object s WHERE s.age > 28", "SELECT * FROM s3object s WHERE s.age = 30"):
        status, code, message = _error(s3, bucket, PEOPLE, expression, _csv("USE"))
        assert (status, code) == (400, "IncorrectSqlFunctionArgumentType")
        assert "CAST" in message


def test_arithmetic_and_cast(s3: Any, bucket: str) -> None:
    expression = "SELECT CAST(s.age AS INT) + 1 AS next, CAST(s.age AS INT) / 7, CAST(s.age AS INT) % 7, CAST(s.age AS DECIMAL) * 1.5, CAST(s.age AS STRING) FROM s3object s LIMIT 1"
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"next": 31, "_2": 4, "_3": 2, "_4": 45, "_5": "30"}]
    assert _rows(s3, bucket, DOCS, "SELECT -s.a, s.b || '!' FROM s3object s WHERE s.b = 'x'", LINES) == [{"_1": -1, "_2": "x!"}]
    status, code, _ = _error(s3, bucket, PEOPLE, "SELECT CAST(s.name AS INT) FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "CastFailed")
    status, code, _ = _error(s3, bucket, PEOPLE, "SELECT CAST(s.name AS BLOB) FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "ParseExpectedTypeName")


def test_like(s3: Any, bucket: str) -> None:
    """LIKE: % any characters, _ one; ESCAPE makes the next % or _ literal."""
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.city LIKE 'o%'", _csv("USE")) == [{"name": "ann"}, {"name": "cid"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.name LIKE '_o_'", _csv("USE")) == [{"name": "bob"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.city NOT LIKE '%o'", _csv("USE")) == [{"name": "bob"}]
    body = b"v\n50%\n50x\n"
    assert _rows(s3, bucket, body, "SELECT s.v FROM s3object s WHERE s.v LIKE '50!%' ESCAPE '!'", _csv("USE")) == [{"v": "50%"}]
    status, code, _ = _error(s3, bucket, body, "SELECT s.v FROM s3object s WHERE s.v LIKE '50!' ESCAPE '!'", _csv("USE"))
    assert (status, code) == (400, "EvaluatorLikePatternInvalidEscapeSequence")
    status, code, _ = _error(s3, bucket, DOCS, "SELECT s.a FROM s3object s WHERE s.a LIKE '1%'", LINES)
    assert (status, code) == (400, "LikeInvalidInputs")


def test_between_and_in(s3: Any, bucket: str) -> None:
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.a BETWEEN 2 AND 3.5", LINES) == [{"b": "y"}, {"b": "Xy"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.a NOT BETWEEN 2 AND 3.5", LINES) == [{"b": "x"}]
    assert _rows(s3, bucket, PEOPLE, "SELECT s.name FROM s3object s WHERE s.city IN ('rome', 'paris')", _csv("USE")) == [{"name": "bob"}]
    expression = "SELECT s.name FROM s3object s WHERE CAST(s.age AS INT) NOT IN (30, 40)"
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"name": "cid"}]


def test_null_and_missing_on_json(s3: Any, bucket: str) -> None:
    """IS NULL is true of NULL and MISSING; IS MISSING only of an absent attribute; JSON output
    leaves a MISSING value out and writes NULL."""
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.z IS NULL", LINES) == [{"b": "x"}, {"b": "y"}, {"b": "Xy"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.z IS MISSING", LINES) == [{"b": "x"}, {"b": "Xy"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.z IS NOT MISSING", LINES) == [{"b": "y"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.b FROM s3object s WHERE s.n IS NOT NULL", LINES) == [{"b": "x"}]
    assert _rows(s3, bucket, DOCS, "SELECT s.z, s.b FROM s3object s", LINES) == [{"b": "x"}, {"z": None, "b": "y"}, {"b": "Xy"}]
    assert _rows(s3, bucket, DOCS, "SELECT COALESCE(s.z, s.n.c[0], -1) FROM s3object s", LINES) == [{"_1": 10}, {"_1": -1}, {"_1": -1}]


def test_nested_json_paths(s3: Any, bucket: str) -> None:
    assert _rows(s3, bucket, DOCS, "SELECT s.n.c[1] AS second, s.n.c FROM s3object s WHERE s.n.c[0] = 10", LINES) == [{"second": 20, "c": [10, 20]}]
    assert _rows(s3, bucket, DOCS, "SELECT c FROM s3object[*].n.c[*] c WHERE c > 10", LINES) == [{"c": 20}]
    assert _rows(s3, bucket, DOCS, "SELECT s.n FROM s3object s WHERE s.a = 1", LINES) == [{"n": {"c": [10, 20]}}]


def test_from_path_of_the_reference(s3: Any, bucket: str) -> None:
    """The reference's FROM clause example: each rule of each document; a document without
    Rules is one MISSING item (an empty record)."""
    body = b'{"Rules": [{"id": "1"}, {"expr": "y > x"}, {"id": "2", "expr": "z = DEBUG"}]}\n{"created": "June 27", "modified": "July 6"}\n'
    source = {"JSON": {"Type": "DOCUMENT"}}
    assert _rows(s3, bucket, body, "SELECT id FROM S3Object[*].Rules[*].id", source) == [{"id": "1"}, {}, {"id": "2"}, {}]
    assert _rows(s3, bucket, body, "SELECT r.id FROM S3Object[*].Rules[*] r WHERE r.expr LIKE 'z%'", source) == [{"id": "2"}]


def test_quoted_and_case_insensitive_names(s3: Any, bucket: str) -> None:
    """Unquoted header/attribute names are case insensitive, double-quoted ones case sensitive;
    a name matching several is AmbiguousFieldName; a quoted CSV name matching none is
    MissingHeaderName (the reference's "SELECT command": "Case sensitivity of header/attribute
    names")."""
    body = b"Name,AGE\nann,30\n"
    assert _rows(s3, bucket, body, 'SELECT "Name" FROM s3object', _csv("USE")) == [{"Name": "ann"}]
    assert _rows(s3, bucket, body, "SELECT s.name, s.age FROM s3object s", _csv("USE")) == [{"name": "ann", "age": "30"}]
    assert _rows(s3, bucket, body, "SELECT s._2 FROM s3object s", _csv("USE")) == [{"_2": "30"}]
    status, code, _ = _error(s3, bucket, body, 'SELECT s."name" FROM s3object s', _csv("USE"))
    assert (status, code) == (400, "MissingHeaderName")
    status, code, _ = _error(s3, bucket, b"name,NAME\na,b\n", "SELECT s.name FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "AmbiguousFieldName")
    assert _rows(s3, bucket, b"name,NAME\na,b\n", 'SELECT s."NAME" FROM s3object s', _csv("USE")) == [{"NAME": "b"}]
    assert _rows(s3, bucket, b'{"Key": 1, "key": 2}\n', 'SELECT s."key" FROM s3object s', LINES) == [{"key": 2}]


def test_string_functions(s3: Any, bucket: str) -> None:
    """LOWER, UPPER, CHAR_LENGTH, TRIM and SUBSTRING with the reference's examples."""
    expression = ("SELECT LOWER(s.name) AS l, UPPER(s.name) AS u, CHAR_LENGTH(s.city) AS n, CHARACTER_LENGTH('') AS e "
                  "FROM s3object s WHERE UPPER(s.name) = 'BOB'")
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"l": "bob", "u": "BOB", "n": 4, "e": 0}]
    trims = ("SELECT TRIM('       foobar         '), TRIM('      \tfoobar\t         '), TRIM(LEADING FROM '  foobar  '), "
             "TRIM(TRAILING FROM '  foobar  '), TRIM(BOTH FROM '  foobar  '), TRIM(BOTH '12' FROM '1112211foobar22211122') FROM s3object LIMIT 1")
    assert _rows(s3, bucket, PEOPLE, trims, _csv("USE")) == [
        {"_1": "foobar", "_2": "\tfoobar\t", "_3": "foobar  ", "_4": "  foobar", "_5": "foobar", "_6": "foobar"}]
    substrings = ("SELECT SUBSTRING('123456789', 0), SUBSTRING('123456789', 1), SUBSTRING('123456789', 2), SUBSTRING('123456789', -4), "
                  "SUBSTRING('123456789', 0, 999), SUBSTRING('123456789', 1, 5), SUBSTRING('123456789' FROM 3 FOR 2) FROM s3object LIMIT 1")
    assert _rows(s3, bucket, PEOPLE, substrings, _csv("USE")) == [
        {"_1": "123456789", "_2": "123456789", "_3": "23456789", "_4": "123456789", "_5": "123456789", "_6": "12345", "_7": "34"}]
    expression = "SELECT NULLIF(s.city, 'oslo') AS c, CASE WHEN s.name = 'ann' THEN 'first' ELSE 'later' END AS k FROM s3object s"
    assert _rows(s3, bucket, PEOPLE, expression, _csv("USE")) == [{"c": None, "k": "first"}, {"c": "rome", "k": "later"}, {"c": None, "k": "later"}]
    status, code, _ = _error(s3, bucket, PEOPLE, "SELECT UPPER(s.name, 1) FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "EvaluatorInvalidArguments")
    status, code, _ = _error(s3, bucket, DOCS, "SELECT UPPER(s.a) FROM s3object s", LINES)
    assert (status, code) == (400, "IncorrectSqlFunctionArgumentType")
    status, code, _ = _error(s3, bucket, PEOPLE, "SELECT SUBSTRING(s.name, 1, -1) FROM s3object s", _csv("USE"))
    assert (status, code) == (400, "IllegalSqlFunctionArgument")


# ------------------------------------------------------------------ ScanRange
SCANNED = b"name,age\nann,30\nbob,40\ncid,25\n"  # records start at bytes 0, 9, 16, 23


@pytest.mark.parametrize(("scan", "names"), [
    ({"Start": 0, "End": 9}, ["ann"]),  # the header (byte 0) names, it is no record
    ({"Start": 10}, ["bob", "cid"]),
    ({"Start": 16, "End": 16}, ["bob"]),
    ({"Start": 17, "End": 22}, []),
    ({"End": 8}, ["cid"]),  # the last 8 bytes, 22-29: cid's record starts at 23
    ({"Start": 0}, ["ann", "bob", "cid"]),
    ({"Start": 500}, []),
])
def test_scan_range_over_csv(s3: Any, bucket: str, scan: dict[str, int], names: list[str]) -> None:
    """A record is processed when its first byte is in the range, and read to its end (the API
    reference's ScanRange); the header names the columns whatever the range."""
    rows = _rows(s3, bucket, SCANNED, "SELECT s.name FROM s3object s", _csv("USE"), ScanRange=scan)
    assert [row["name"] for row in rows] == names


def test_scan_range_over_json_lines_and_stats(s3: Any, bucket: str) -> None:
    body = b'{"a":1}\n{"a":2}\n{"a":3}\n'  # records start at bytes 0, 8, 16
    payload, stats, _ = _select(s3, bucket, body, "SELECT s.a FROM s3object s", LINES, ScanRange={"Start": 1, "End": 8})
    assert _json(payload) == [{"a": 2}]
    assert stats["BytesProcessed"] == 8  # the one record read, to its end
    assert _rows(s3, bucket, body, "SELECT COUNT(*) FROM s3object", LINES, ScanRange={"Start": 0, "End": 16}) == [{"_1": 3}]


@pytest.mark.parametrize(("body", "source"), [
    (gzip.compress(SCANNED), {**_csv("USE"), "CompressionType": "GZIP"}),
    (b'{"a": 1}', {"JSON": {"Type": "DOCUMENT"}}),
    (SCANNED, {"CSV": {"FileHeaderInfo": "USE", "AllowQuotedRecordDelimiter": True}}),
])
def test_scan_range_unsupported_inputs(s3: Any, bucket: str, body: bytes, source: dict[str, Any]) -> None:
    """Scan ranges are for uncompressed CSV without quoted record delimiters and JSON LINES (the
    S3 User Guide's "Filtering and retrieving data using Amazon S3 Select")."""
    status, code, _ = _error(s3, bucket, body, "SELECT * FROM s3object", source, ScanRange={"Start": 0, "End": 5})
    assert (status, code) == (400, "UnsupportedScanRangeInput")


# ------------------------------------------------------------------ errors: 400 with S3's code, never a 500
@pytest.mark.parametrize(("expression", "code"), [
    ("SELECT * FROM s3object WHERE", "ParseExpectedExpression"),
    ("SELECT s.name FROM s3object s WHERE s.name = = 'a'", "ParseUnexpectedToken"),
    ("SELECT s.name s3object s", "ParseUnexpectedToken"),
    ("SELECT s.name", "ParseSelectMissingFrom"),
    ("SELECT FROM s3object", "ParseEmptySelect"),
    ("SELECT *, s.name FROM s3object s", "ParseAsteriskIsNotAloneInSelectList"),
    ("SELECT s.name FROM s3object s WHERE s.name = 'ann", "LexerInvalidLiteral"),
    ("SELECT s.name FROM s3object s WHERE s.name = #", "LexerInvalidChar"),
    ("SELECT s.name FROM s3object s ORDER BY s.name", "UnsupportedSyntax"),
    ("SELECT DISTINCT s.name FROM s3object s", "UnsupportedSyntax"),
    ("SELECT s.name FROM s3object s, s3object t", "MultipleDataSourcesUnsupported"),
    ("SELECT * FROM mytable", "EvaluatorBindingDoesNotExist"),
    ("SELECT FOO(s.name) FROM s3object s", "UnsupportedFunction"),
    ("SELECT UTCNOW() FROM s3object s", "UnsupportedFunction"),
    ("SELECT CAST(s.name AS TIMESTAMP) FROM s3object s", "UnsupportedSyntax"),
    ("SELECT s.name, COUNT(*) FROM s3object s", "UnsupportedSqlStructure"),
    ("SELECT COUNT(*) FROM s3object s WHERE COUNT(*) > 1", "UnsupportedSyntax"),
    ("SELECT s._0 FROM s3object s", "InvalidColumnIndex"),
    ("SELECT * FROM s3object LIMIT -1", "EvaluatorNegativeLimit"),
    ("SELECT " + "(" * 40 + "1" + ")" * 40 + " FROM s3object", "UnsupportedSqlStructure"),
])
def test_bad_sql(s3: Any, bucket: str, expression: str, code: str) -> None:
    status, got, message = _error(s3, bucket, PEOPLE, expression, _csv("USE"))
    assert (status, got) == (400, code), message
    assert message


@pytest.mark.parametrize(("body", "source", "code"), [
    (b'{"a": 1}\n{"a": }\n', LINES, "JSONParsingError"),
    (b'{"a": [1, 2}', {"JSON": {"Type": "DOCUMENT"}}, "JSONParsingError"),
    (b"[" * 100000 + b"]" * 100000, LINES, "JSONParsingError"),
    (b'name\n"unterminated\n', _csv("USE"), "CSVParsingError"),
    (b"name\nann\n", {**_csv("USE"), "CompressionType": "GZIP"}, "InvalidCompressionFormat"),
    (b"name\nann\n", {**_csv("USE"), "CompressionType": "BZIP2"}, "InvalidCompressionFormat"),
    (gzip.compress(b"name\nann\n")[:-12], {**_csv("USE"), "CompressionType": "GZIP"}, "TruncatedInput"),
    (b"name\n\xff\xfeann\n", _csv("USE"), "InvalidTextEncoding"),
    (b'{"a": 1}', {"JSON": {"Type": "YAML"}}, "InvalidJsonType"),
])
def test_bad_input(s3: Any, bucket: str, body: bytes, source: dict[str, Any], code: str) -> None:
    status, got, message = _error(s3, bucket, body, "SELECT * FROM s3object", source)
    assert (status, got) == (400, code), message


def test_bad_request_parameters(s3: Any, bucket: str) -> None:
    status, code, _ = _error(s3, bucket, SCANNED, "SELECT * FROM s3object", _csv("USE"), ScanRange={"Start": 9, "End": 3})
    assert (status, code) == (400, "InvalidRequestParameter")
    status, code, _ = _error(s3, bucket, SCANNED, "SELECT * FROM s3object", {**_csv("USE"), "CompressionType": "ZIP"})
    assert (status, code) == (400, "InvalidCompressionFormat")
    key = f"obj-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=key, Body=SCANNED)
    with pytest.raises(ClientError) as caught:
        s3.select_object_content(Bucket=bucket, Key=key, Expression="SELECT * FROM s3object", ExpressionType="XPATH",
                                 InputSerialization=_csv("USE"), OutputSerialization={"JSON": {}})
    assert caught.value.response["Error"]["Code"] == "InvalidExpressionType"
