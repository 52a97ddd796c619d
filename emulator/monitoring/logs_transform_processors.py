"""CloudWatch Logs transformer processors ("Transform logs during ingestion", User Guide):
``compile_transformer(config)`` validates a transformerConfig as PutTransformer and
TestTransformer do and returns a ``Transformer``, whose ``apply(message, meta)`` is the
transformed event message (the JSON of the resulting fields) or None when a processor
fails on the event.

An event is a dict of fields; before parsing it holds the raw message as ``@message``. A
parser reading ``@message`` consumes it: the parsed fields replace it (at the root, or under
``destination``), so the transformed event is the JSON of those fields only, as in the
guide's examples. A parser that cannot parse its source (not JSON, no grok match, ...)
fails the event; the other processors skip a key that is missing or of the wrong type.

Keys are paths in dot notation (``outer.inner``), at most three levels deep. Limits are
the guide's: 20 processors, the first a parser, the parsers of vended logs (parseCloudfront,
parseVPC, parseWAF, parseRoute53, parsePostgres) first only, at most 5 grok processors.
parseToOCSF (OCSF mapping of several sources) is refused.
"""

from __future__ import annotations

import copy
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import orjson

from emulator import user_regex
from emulator.monitoring import logs_transform_formats as formats
from emulator.monitoring.logstore import invalid

MAX_PROCESSORS = 20
MAX_GROK = 5
MAX_DEPTH = 3
MESSAGE = "@message"

Event = dict[str, Any]
Meta = dict[str, str]
Step = Callable[[Event, Meta], None]

CONFIGURABLE_PARSERS = ("parseJSON", "parseKeyValue", "csv", "grok")
VENDED_PARSERS = ("parseCloudfront", "parseVPC", "parseWAF", "parseRoute53", "parsePostgres")
MUTATORS = (
    "addKeys", "deleteKeys", "moveKeys", "renameKeys", "copyValue", "listToMap", "lowerCaseString",
    "upperCaseString", "trimString", "splitString", "substituteString", "typeConverter", "dateTimeConverter",
)
KINDS = (*CONFIGURABLE_PARSERS, *VENDED_PARSERS, "parseToOCSF", *MUTATORS)
# copyValue may read these metadata keys of the event's log group and stream.
METADATA = ("@logGroupName", "@logGroupStream", "@accountId", "@regionName")
_MISSING = object()


class ProcessorFailed(Exception):
    """The event cannot be transformed (a parser's source does not parse)."""


# ------------------------------------------------------------ paths
def _parts(path: str, what: str) -> list[str]:
    parts = path.split(".")
    if len(parts) > MAX_DEPTH or not all(parts):
        raise invalid(f"Invalid {what} '{path}': keys are paths of at most {MAX_DEPTH} levels in dot notation.")
    return parts


def get(event: Event, parts: list[str]) -> Any:
    node: Any = event
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def put(event: Event, parts: list[str], value: Any, overwrite: bool = True) -> bool:
    node = event
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            return False
        node = child
    if not overwrite and parts[-1] in node:
        return False
    node[parts[-1]] = value
    return True


def pop(event: Event, parts: list[str]) -> Any:
    parent = get(event, parts[:-1]) if len(parts) > 1 else event
    if not isinstance(parent, dict) or parts[-1] not in parent:
        return _MISSING
    return parent.pop(parts[-1])


# ------------------------------------------------------------ argument checks
def _str(conf: dict[str, Any], key: str, kind: str, default: str | None = None, hi: int = 128, required: bool = False) -> str | None:
    value = conf.get(key, default)
    if value is None:
        if required:
            raise invalid(f"Invalid {kind} processor: {key} is required.")
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= hi:
        raise invalid(f"Invalid {kind} processor: {key} must be a string of 1 to {hi} characters.")
    return value


def _list(conf: dict[str, Any], key: str, kind: str, hi: int) -> list[Any]:
    value = conf.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= hi:
        raise invalid(f"Invalid {kind} processor: {key} must have between 1 and {hi} items.")
    return value


def _path(conf: dict[str, Any], key: str, kind: str, default: str | None = None, required: bool = False) -> list[str] | None:
    value = _str(conf, key, kind, default, required=required)
    return None if value is None else _parts(value, f"{kind} {key}")


def _source(conf: dict[str, Any], kind: str) -> list[str]:
    parts = _path(conf, "source", kind, MESSAGE)
    assert parts is not None
    return parts


# ------------------------------------------------------------ parsers
def _parsed(source: list[str], destination: list[str] | None, parse: Callable[[str], dict[str, Any]], overwrite: bool = True) -> Step:
    """A parser step: the source's string parsed into fields, at the root or under destination."""

    def step(event: Event, _meta: Meta) -> None:
        raw = get(event, source)
        if not isinstance(raw, str):
            raise ProcessorFailed(f"{'.'.join(source)} is not a string")
        fields = parse(raw)
        if source == [MESSAGE]:
            event.pop(MESSAGE, None)  # the parsed fields replace the raw message
        if destination is not None:
            target = get(event, destination)
            if isinstance(target, dict):
                for k, v in fields.items():
                    if overwrite or k not in target:
                        target[k] = v
            elif not put(event, destination, fields, overwrite):
                raise ProcessorFailed(f"cannot write {'.'.join(destination)}")
            return
        for k, v in fields.items():
            if overwrite or k not in event:
                event[k] = v

    return step


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProcessorFailed("not JSON") from exc
    if not isinstance(value, dict):
        raise ProcessorFailed("not a JSON object")
    return value


def _parse_json(conf: dict[str, Any]) -> Step:
    return _parsed(_source(conf, "parseJSON"), _path(conf, "destination", "parseJSON"), _json_object)


def _parse_key_value(conf: dict[str, Any]) -> Step:
    kind = "parseKeyValue"
    field_delim = _str(conf, "fieldDelimiter", kind, "&") or "&"
    kv_delim = _str(conf, "keyValueDelimiter", kind, "=") or "="
    prefix = _str(conf, "keyPrefix", kind) or ""
    non_match = _str(conf, "nonMatchValue", kind)

    def parse(raw: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pair in raw.split(field_delim):
            if not pair:
                continue
            key, sep, value = pair.partition(kv_delim)
            if not sep:
                if non_match is None:
                    continue  # a pair that does not split is dropped unless nonMatchValue says what to keep
                value = non_match
            if key:
                out[prefix + key] = value
        return out

    return _parsed(_source(conf, kind), _path(conf, "destination", kind), parse, bool(conf.get("overwriteIfExists", False)))


def split_csv(raw: str, delimiter: str, quote: str) -> list[str]:
    """One CSV record: fields split on ``delimiter``, a quoted field may hold it (and a
    doubled quote stands for one)."""
    fields: list[str] = []
    cur: list[str] = []
    i, n, quoted = 0, len(raw), False
    while i < n:
        if quoted:
            if raw[i] == quote:
                if i + 1 < n and raw[i + 1] == quote:
                    cur.append(quote)
                    i += 2
                    continue
                quoted = False
            else:
                cur.append(raw[i])
            i += 1
        elif raw[i] == quote:
            quoted = True
            i += 1
        elif raw.startswith(delimiter, i):
            fields.append("".join(cur))
            cur = []
            i += len(delimiter)
        else:
            cur.append(raw[i])
            i += 1
    fields.append("".join(cur))
    return fields


def _csv(conf: dict[str, Any]) -> Step:
    kind = "csv"
    quote = _str(conf, "quoteCharacter", kind, '"', hi=1) or '"'
    delimiter = _str(conf, "delimiter", kind, ",", hi=2) or ","
    if delimiter == "\\t":
        delimiter = "\t"
    columns = conf.get("columns") or []
    if not isinstance(columns, list) or len(columns) > 100 or not all(isinstance(c, str) and 1 <= len(c) <= 128 for c in columns):
        raise invalid("Invalid csv processor: columns must have at most 100 names of 1 to 128 characters.")

    def parse(raw: str) -> dict[str, Any]:
        values = split_csv(raw, delimiter, quote)
        return {(columns[i] if i < len(columns) else f"column_{i + 1}"): v for i, v in enumerate(values)}

    return _parsed(_source(conf, kind), _path(conf, "destination", kind), parse)


def _grok(conf: dict[str, Any]) -> Step:
    pattern = formats.GrokPattern(_str(conf, "match", "grok", hi=512, required=True) or "")
    names = {name: _parts(name, "grok field") for name in pattern.names}

    def parse(raw: str) -> dict[str, Any]:
        fields = pattern.fields(raw)
        if fields is None:
            raise ProcessorFailed("no grok match")
        out: dict[str, Any] = {}
        for name, value in fields:
            put(out, names[name], value)
        return out

    return _parsed(_source(conf, "grok"), None, parse)


# ------------------------------------------------------------ parsers of vended logs
def _number(value: str) -> Any:
    if value == "-":
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


_VPC_FIELDS = ("version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log_status")
_VPC_NUMERIC = {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end"}


def _vpc(raw: str) -> dict[str, Any]:
    """A flow log record of the default format (version 2, 14 fields)."""
    values = raw.split()
    if len(values) != len(_VPC_FIELDS):
        raise ProcessorFailed("not a VPC flow log record of the default format")
    return {k: (_number(v) if k in _VPC_NUMERIC else (None if v == "-" else v)) for k, v in zip(_VPC_FIELDS, values, strict=True)}


_ROUTE53_FIELDS = ("version", "queryTimestamp", "hostZoneId", "queryName", "queryType", "responseCode", "protocol", "edgeLocation", "resolverIp", "ednsClientSubnet")


def _route53(raw: str) -> dict[str, Any]:
    """A Route 53 public DNS query log line."""
    values = raw.split()
    if len(values) != len(_ROUTE53_FIELDS):
        raise ProcessorFailed("not a Route 53 query log line")
    out: dict[str, Any] = dict(zip(_ROUTE53_FIELDS, values, strict=True))
    out["version"] = _number(out["version"])
    return out


_POSTGRES = re.compile(r"^(?P<logTime>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? ?[A-Z]*):(?P<srcIp>[^:]*):(?P<userName>[^@:]*)@(?P<dbName>[^:]*):\[(?P<processId>\d+)\]:(?P<logLevel>[A-Z0-9]+):")


def _postgres(raw: str) -> dict[str, Any]:
    """An RDS for PostgreSQL log line (log_line_prefix ``%t:%r:%u@%d:[%p]:``)."""
    m = _POSTGRES.match(raw)
    if m is None:
        raise ProcessorFailed("not an RDS for PostgreSQL log line")
    return m.groupdict()


def _waf(raw: str) -> dict[str, Any]:
    """A WAF log record (JSON): the request's header list becomes an object of name -> value."""
    out = _json_object(raw)
    request = out.get("httpRequest")
    if isinstance(request, dict) and isinstance(request.get("headers"), list):
        request["headers"] = {h.get("name"): h.get("value") for h in request["headers"] if isinstance(h, dict) and "name" in h}
    return out


_CLOUDFRONT_FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status", "cs(Referer)",
    "cs(User-Agent)", "cs-uri-query", "cs(Cookie)", "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol",
    "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher", "x-edge-response-result-type", "cs-protocol-version",
    "fle-status", "fle-encrypted-fields", "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
)
_CLOUDFRONT_NUMERIC = {"sc-bytes", "sc-status", "cs-bytes", "time-taken", "c-port", "time-to-first-byte", "sc-content-len", "sc-range-start", "sc-range-end"}


def _cloudfront(raw: str) -> dict[str, Any]:
    """A CloudFront standard log record (tab-separated, the fields of the #Fields header)."""
    values = raw.split("\t")
    if len(values) < 12 or len(values) > len(_CLOUDFRONT_FIELDS):
        raise ProcessorFailed("not a CloudFront standard log record")
    out: dict[str, Any] = {}
    for key, value in zip(_CLOUDFRONT_FIELDS, values, strict=False):
        if key in _CLOUDFRONT_NUMERIC:
            out[key] = _number(value)
        elif key == "cs(User-Agent)":
            out[key] = urllib.parse.unquote(value)  # CloudFront writes it URL-encoded
        else:
            out[key] = value
    return out


_VENDED: dict[str, Callable[[str], dict[str, Any]]] = {
    "parseVPC": _vpc, "parseRoute53": _route53, "parsePostgres": _postgres, "parseWAF": _waf, "parseCloudfront": _cloudfront,
}


def _vended(kind: str, conf: dict[str, Any]) -> Step:
    return _parsed(_source(conf, kind), None, _VENDED[kind])


# ------------------------------------------------------------ JSON mutators
def _entries(conf: dict[str, Any], kind: str, hi: int, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    entries = _list(conf, "entries", kind, hi)
    for e in entries:
        if not isinstance(e, dict):
            raise invalid(f"Invalid {kind} processor: each entry must be an object.")
        for k in keys:
            _str(e, k, kind, hi=256 if (kind, k) == ("addKeys", "value") else 128, required=True)
    return entries


def _add_keys(conf: dict[str, Any]) -> Step:
    items = [(_parts(e["key"], "addKeys key"), e["value"], bool(e.get("overwriteIfExists", False))) for e in _entries(conf, "addKeys", 5, ("key", "value"))]

    def step(event: Event, _meta: Meta) -> None:
        for parts, value, overwrite in items:
            put(event, parts, value, overwrite)

    return step


def _delete_keys(conf: dict[str, Any]) -> Step:
    keys = [_parts(_key(k, "deleteKeys"), "deleteKeys key") for k in _list(conf, "withKeys", "deleteKeys", 5)]

    def step(event: Event, _meta: Meta) -> None:
        for parts in keys:
            pop(event, parts)

    return step


def _key(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"Invalid {kind} processor: withKeys must hold non-empty strings.")
    return value


def _move_keys(conf: dict[str, Any]) -> Step:
    items = [(_parts(e["source"], "moveKeys source"), _parts(e["target"], "moveKeys target"), bool(e.get("overwriteIfExists", False))) for e in _entries(conf, "moveKeys", 5, ("source", "target"))]
    return _moving(items)


def _moving(items: list[tuple[list[str], list[str], bool]]) -> Step:
    """moveKeys and renameKeys: each (source, target, overwrite) moved when the source is
    there and the target is free (or may be overwritten)."""

    def step(event: Event, _meta: Meta) -> None:
        for source, target, overwrite in items:
            if get(event, source) is _MISSING or (not overwrite and get(event, target) is not _MISSING):
                continue
            put(event, target, pop(event, source))

    return step


def _rename_keys(conf: dict[str, Any]) -> Step:
    items = []
    for e in _entries(conf, "renameKeys", 5, ("key", "renameTo")):
        parts = _parts(e["key"], "renameKeys key")
        items.append((parts, [*parts[:-1], e["renameTo"]], bool(e.get("overwriteIfExists", False))))  # renamed in place: same parent
    return _moving(items)


def _copy_value(conf: dict[str, Any]) -> Step:
    items = []
    for e in _entries(conf, "copyValue", 5, ("source", "target")):
        source = [e["source"]] if e["source"] in METADATA else _parts(e["source"], "copyValue source")
        items.append((source, _parts(e["target"], "copyValue target"), bool(e.get("overwriteIfExists", False))))

    def step(event: Event, meta: Meta) -> None:
        for source, target, overwrite in items:
            value = meta.get(source[0], _MISSING) if source[0] in METADATA else get(event, source)
            if value is not _MISSING:
                put(event, target, copy.deepcopy(value), overwrite)

    return step


def _list_to_map(conf: dict[str, Any]) -> Step:
    kind = "listToMap"
    source = _path(conf, "source", kind, required=True)
    key = _str(conf, "key", kind, required=True)
    value_key = _str(conf, "valueKey", kind)
    target = _path(conf, "target", kind)
    flatten = bool(conf.get("flatten", False))
    element = conf.get("flattenedElement")
    if flatten and element not in ("first", "last"):
        raise invalid("Invalid listToMap processor: flattenedElement must be first or last when flatten is true.")
    assert source is not None and key is not None

    def step(event: Event, _meta: Meta) -> None:
        items = get(event, source)
        if not isinstance(items, list):
            return
        out: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, dict) or key not in item:
                continue
            name = item[key] if isinstance(item[key], str) else orjson.dumps(item[key]).decode()
            value = item.get(value_key) if value_key is not None else item
            if value_key is not None and value_key not in item:
                continue
            if flatten:
                if element == "last" or name not in out:
                    out[name] = value
            else:
                out.setdefault(name, []).append(value)
        if target is None:
            event.update(out)
        else:
            put(event, target, out)

    return step


def _with_keys(conf: dict[str, Any], kind: str, fn: Callable[[str], Any]) -> Step:
    keys = [_parts(_key(k, kind), f"{kind} key") for k in _list(conf, "withKeys", kind, 10)]

    def step(event: Event, _meta: Meta) -> None:
        for parts in keys:
            value = get(event, parts)
            if isinstance(value, str):
                put(event, parts, fn(value))

    return step


def _split_string(conf: dict[str, Any]) -> Step:
    items = [(_parts(e["source"], "splitString source"), e["delimiter"]) for e in _entries(conf, "splitString", 10, ("source", "delimiter"))]

    def step(event: Event, _meta: Meta) -> None:
        for parts, delimiter in items:
            value = get(event, parts)
            if isinstance(value, str):
                put(event, parts, value.split(delimiter))

    return step


def _java_replacement(to: str) -> str:
    """Java's replacement syntax ($1, ${name}, \\$ for a dollar) in Python's (\\g<1>, \\g<name>)."""
    out: list[str] = []
    i = 0
    while i < len(to):
        c = to[i]
        if c == "\\" and i + 1 < len(to):
            out.append(to[i + 1].replace("\\", "\\\\"))
            i += 2
        elif c == "$" and to.startswith("{", i + 1) and "}" in to[i + 2 :]:
            end = to.index("}", i + 2)
            out.append(f"\\g<{to[i + 2 : end]}>")
            i = end + 1
        elif c == "$" and i + 1 < len(to) and to[i + 1].isdigit():
            j = i + 1
            while j < len(to) and to[j].isdigit():
                j += 1
            out.append(f"\\g<{to[i + 1 : j]}>")
            i = j
        else:
            out.append("\\\\" if c == "\\" else c)
            i += 1
    return "".join(out)


def _substitute_string(conf: dict[str, Any]) -> Step:
    items = []
    for e in _entries(conf, "substituteString", 10, ("source", "from", "to")):
        try:
            # Java spells a named group (?<name>...), Python (?P<name>...)
            pattern = user_regex.compile(re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", e["from"]), shown=e["from"])
        except user_regex.error as exc:
            raise invalid(f"Invalid substituteString processor: from '{e['from']}' is not a valid regular expression: {exc}.") from exc
        items.append((_parts(e["source"], "substituteString source"), pattern, _java_replacement(e["to"])))

    def step(event: Event, _meta: Meta) -> None:
        for parts, pattern, to in items:
            value = get(event, parts)
            if isinstance(value, str):
                try:
                    put(event, parts, pattern.sub(to, value))
                except (user_regex.error, IndexError):
                    continue  # a group reference the pattern lacks: the value stays as it is

    return step


def _convert(value: str | bool | float, kind: str) -> Any:
    """``value`` as ``kind``; _MISSING when it does not convert (the value is then left as it is)."""
    if kind == "string":
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return text == "true" if text in ("true", "false") else _MISSING
    if isinstance(value, bool):
        return _MISSING
    try:
        if kind == "integer":
            return int(value) if isinstance(value, int | float) else int(value.strip())
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return _MISSING


def _type_converter(conf: dict[str, Any]) -> Step:
    items = []
    for e in _entries(conf, "typeConverter", 5, ("key", "type")):
        if e["type"] not in ("boolean", "integer", "double", "string"):
            raise invalid(f"Invalid typeConverter processor: type '{e['type']}' must be one of boolean, integer, double, string.")
        items.append((_parts(e["key"], "typeConverter key"), e["type"]))

    def step(event: Event, _meta: Meta) -> None:
        for parts, kind in items:
            value = get(event, parts)
            if value is _MISSING or value is None or isinstance(value, dict | list):
                continue
            converted = _convert(value, kind)
            if converted is not _MISSING:
                put(event, parts, converted)

    return step


def _date_time_converter(conf: dict[str, Any]) -> Step:
    kind = "dateTimeConverter"
    source = _path(conf, "source", kind, required=True)
    target = _path(conf, "target", kind, required=True)
    target_format = _str(conf, "targetFormat", kind, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", hi=64) or ""
    locale = (_str(conf, "locale", kind, hi=64) or "ROOT").replace("-", "_")
    source_zone = formats.zone(_str(conf, "sourceTimezone", kind, hi=64))
    target_zone = formats.zone(_str(conf, "targetTimezone", kind, hi=64))
    raw_patterns = _list(conf, "matchPatterns", kind, 5)
    if not all(isinstance(p, str) and p for p in raw_patterns):
        raise invalid("Invalid dateTimeConverter processor: matchPatterns must hold non-empty strings.")
    english = locale.upper() == "ROOT" or locale.split("_")[0].lower() == "en"
    if not english and any(formats.uses_names(p) for p in [*raw_patterns, target_format]):
        raise invalid(f"Invalid dateTimeConverter processor: month and day names are supported in English only; locale '{locale}' is not supported with name patterns.")
    patterns = [formats.DatePattern(p, source_zone) for p in raw_patterns]
    fmt = formats.date_formatter(target_format)
    assert source is not None and target is not None

    def step(event: Event, _meta: Meta) -> None:
        value = get(event, source)
        if not isinstance(value, str):
            return
        for pattern in patterns:
            when = pattern.parse(value)
            if when is not None:
                put(event, target, fmt(when.astimezone(target_zone)))
                return

    return step


_MUTATORS: dict[str, Callable[[dict[str, Any]], Step]] = {
    "addKeys": _add_keys,
    "deleteKeys": _delete_keys,
    "moveKeys": _move_keys,
    "renameKeys": _rename_keys,
    "copyValue": _copy_value,
    "listToMap": _list_to_map,
    "lowerCaseString": lambda c: _with_keys(c, "lowerCaseString", str.lower),
    "upperCaseString": lambda c: _with_keys(c, "upperCaseString", str.upper),
    "trimString": lambda c: _with_keys(c, "trimString", str.strip),
    "splitString": _split_string,
    "substituteString": _substitute_string,
    "typeConverter": _type_converter,
    "dateTimeConverter": _date_time_converter,
}
_PARSERS: dict[str, Callable[[dict[str, Any]], Step]] = {"parseJSON": _parse_json, "parseKeyValue": _parse_key_value, "csv": _csv, "grok": _grok}


# ------------------------------------------------------------ the transformer
class Transformer:
    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    def fields(self, message: str, meta: Meta | None = None, strict: bool = False) -> Event | None:
        """The event's fields after every processor; None when one fails on it. A grok or
        substituteString pattern out of user_regex's budget fails the event at ingest (a
        warning logged once per pattern); ``strict`` (TestTransformer): InvalidParameterException."""
        event: Event = {MESSAGE: message}
        try:
            for step in self.steps:
                step(event, meta or {})
        except ProcessorFailed:
            return None
        except user_regex.RegexTimeout as exc:
            if strict:
                raise invalid(f"Invalid transformer: {exc}.") from None  # our text
            user_regex.warn_once(exc, "log transformer")
            return None
        return event

    def apply(self, message: str, meta: Meta | None = None, strict: bool = False) -> str | None:
        """The transformed event message; None when a processor fails on the event."""
        event = self.fields(message, meta, strict)
        return None if event is None else orjson.dumps(event).decode()


def compile_transformer(config: Any) -> Transformer:
    """Validate a transformerConfig (InvalidParameterException) and compile it."""
    if not isinstance(config, list) or not 1 <= len(config) <= MAX_PROCESSORS:
        raise invalid(f"A transformer must have between 1 and {MAX_PROCESSORS} processors.")
    steps: list[Step] = []
    groks = 0
    for i, processor in enumerate(config):
        if not isinstance(processor, dict):
            raise invalid(f"Processor {i + 1} must be an object.")
        kinds = [k for k, v in processor.items() if v is not None]
        if len(kinds) != 1:
            raise invalid(f"Processor {i + 1} must specify exactly one processor type, found {len(kinds)}: {', '.join(kinds) or 'none'}.")
        kind = kinds[0]
        conf = processor[kind]
        if kind not in KINDS:
            raise invalid(f"Processor {i + 1}: unknown processor type {kind}.")
        if not isinstance(conf, dict):
            raise invalid(f"Processor {i + 1}: {kind} must be an object.")
        if i == 0 and kind in MUTATORS:
            raise invalid(f"The first processor of a transformer must be a parser (one of {', '.join(CONFIGURABLE_PARSERS + VENDED_PARSERS)}), not {kind}.")
        if kind in VENDED_PARSERS and i != 0:
            raise invalid(f"The {kind} processor must be the first processor in the transformer.")
        if kind == "parseToOCSF":
            raise invalid("The parseToOCSF processor is not supported by this endpoint: its OCSF mappings are not implemented.")
        if kind == "grok":
            groks += 1
            if groks > MAX_GROK:
                raise invalid(f"A transformer can have at most {MAX_GROK} grok processors.")
        if kind in _PARSERS:
            steps.append(_PARSERS[kind](conf))
        elif kind in _VENDED:
            steps.append(_vended(kind, conf))
        else:
            steps.append(_MUTATORS[kind](conf))
    return Transformer(steps)
