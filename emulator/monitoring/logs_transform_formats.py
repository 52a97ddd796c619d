"""The pattern languages of CloudWatch Logs transformer processors: grok (the ``grok``
processor) and Java DateTimeFormatter patterns (``dateTimeConverter``).

Grok: ``%{PATTERN:field}`` (or ``%{PATTERN}``, matched but not kept) over the pattern set
below, plus custom regular expressions with named captures, ``(?<field>...)``. The User
Guide's limits apply: at most 20 grok patterns in one ``match``, at most five uses of
URI, URIPARAM, URIPATHPARAM, SPACE, DATA, GREEDYDATA and GREEDYDATA_MULTILINE together, and
no type conversions (``%{NUMBER:n:int}`` is refused): captures are strings.

Dates: the letters of java.time's DateTimeFormatter that log timestamps use (y, M, d, H, h,
m, s, S, a, E, z, Z, X, x, VV, '...' literals). Month and day names are English: a pattern
with names and a locale of another language is refused rather than parsed wrongly.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from emulator import user_regex
from emulator.monitoring.logstore import invalid

_BASE: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    "EMAILLOCALPART": r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*",
    "EMAILADDRESS": r"%{EMAILLOCALPART}@%{HOSTNAME}",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "BASE10NUM": r"(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))",
    "NUMBER": r"(?:%{BASE10NUM})",
    "BASE16NUM": r"(?:0[xX]?[0-9a-fA-F]+)",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NONNEGINT": r"\b(?:[0-9]+)\b",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "GREEDYDATA_MULTILINE": r"(?s:.*)",
    "QUOTEDSTRING": r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)",
    "QS": r"%{QUOTEDSTRING}",
    "UUID": r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    "MAC": r"(?:(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
    "IPV4": r"(?<![0-9])(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]{1,2})\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]{1,2})(?![0-9])",
    "IPV6": r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|::(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4}|::)",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
    "HOST": r"%{HOSTNAME}",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "UNIXPATH": r"(?:/[\w_%!$@:.,+~-]*)+",
    "WINPATH": r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+",
    "PATH": r"(?:%{UNIXPATH}|%{WINPATH})",
    "URIPROTO": r"[A-Za-z](?:[A-Za-z0-9+\-.]+)+",
    "URIHOST": r"%{IPORHOST}(?::%{POSINT})?",
    "URIPATH": r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+",
    "URIPARAM": r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
    "URIPATHPARAM": r"%{URIPATH}(?:%{URIPARAM})?",
    "URI": r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?",
    "MONTH": r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
    "MONTHNUM": r"(?:0?[1-9]|1[0-2])",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "DAY": r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
    "YEAR": r"(?:\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "TIME": r"(?<![0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])",
    "DATE_US": r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
    "DATE_EU": r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
    "ISO8601_TIMEZONE": r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
    "ISO8601_SECOND": r"%{SECOND}",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    "DATE": r"(?:%{DATE_US}|%{DATE_EU})",
    "DATESTAMP": r"%{DATE}[- ]%{TIME}",
    "TZ": r"(?:[APMCE][SD]T|UTC)",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
    "SYSLOGPROG": r"%{PROG:program}(?:\[%{POSINT:pid}\])?",
    "SYSLOGHOST": r"%{IPORHOST}",
    "SYSLOGBASE": r"%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGHOST:logsource} )?%{SYSLOGPROG}:",
    "LOGLEVEL": r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    "COMMONAPACHELOG": r"%{IPORHOST:clientip} %{USER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] \"(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})\" %{NUMBER:response} (?:%{NUMBER:bytes}|-)",
    "COMBINEDAPACHELOG": r"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
}
# "Any combination of the following patterns can be used as many as five times" (grok limits).
_COSTLY = {"URI", "URIPARAM", "URIPATHPARAM", "SPACE", "DATA", "GREEDYDATA", "GREEDYDATA_MULTILINE"}
MAX_GROK_PATTERNS = 20
MAX_COSTLY = 5
_REF = re.compile(r"%\{(\w+)(?::([\w.@\[\]-]+))?(?::(\w+))?\}")


class GrokPattern:
    """A compiled grok ``match``: ``fields(text)`` gives the named captures, None when it does not match."""

    def __init__(self, match: str) -> None:
        self.names: list[str] = []  # capture group i+1's field name
        refs = _REF.findall(match)
        if len(refs) > MAX_GROK_PATTERNS:
            raise invalid(f"Invalid grok pattern: at most {MAX_GROK_PATTERNS} grok patterns are allowed in a match, found {len(refs)}.")
        costly = sum(1 for name, _f, _t in refs if name in _COSTLY)
        if costly > MAX_COSTLY:
            raise invalid(f"Invalid grok pattern: URI, URIPARAM, URIPATHPARAM, SPACE, DATA, GREEDYDATA and GREEDYDATA_MULTILINE can be used at most {MAX_COSTLY} times in total, found {costly}.")
        for name, _field, conversion in refs:
            if name not in _BASE:
                raise invalid(f"Invalid grok pattern: unknown grok pattern %{{{name}}}.")
            if conversion:
                raise invalid(f"Invalid grok pattern: type conversions are not supported (%{{{name}:{_field}:{conversion}}}).")
        try:
            self.regex = user_regex.compile(self._expand(match), shown=match)  # the user's pattern: under the budget
        except user_regex.error as exc:
            raise invalid(f"Invalid grok pattern: {exc}.") from exc

    def _group(self, name: str, body: str) -> str:
        self.names.append(name)
        return f"(?P<g{len(self.names)}>{body})"

    def _expand(self, text: str, depth: int = 0) -> str:
        if depth > 10:
            raise invalid("Invalid grok pattern: patterns nest too deeply.")
        out: list[str] = []
        pos = 0
        for m in re.finditer(r"%\{(\w+)(?::([\w.@\[\]-]+))?(?::\w+)?\}|\(\?<([A-Za-z_][\w.@-]*)>", text):
            out.append(text[pos : m.start()])
            pos = m.end()
            if m.group(3) is not None:  # a custom capture (?<name>...): Python spells it (?P<...>)
                self.names.append(m.group(3))
                out.append(f"(?P<g{len(self.names)}>")
                continue
            body = self._expand(_BASE[m.group(1)], depth + 1)
            # Captures inside library patterns (SYSLOGBASE's) are kept, as grok keeps them.
            out.append(self._group(m.group(2), body) if m.group(2) else f"(?:{body})")
        out.append(text[pos:])
        return "".join(out)

    def fields(self, text: str) -> list[tuple[str, str]] | None:
        m = self.regex.search(text)
        if m is None:
            return None
        return [(name, value) for i, name in enumerate(self.names) if (value := m.group(f"g{i + 1}")) is not None]


# ------------------------------------------------------------ Java date patterns
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NAMED = {"MMM", "MMMM", "E", "EE", "EEE", "EEEE", "a"}


def _tokens(pattern: str) -> list[tuple[str, str]]:
    """(kind, text): kind "lit" for literal text, else the letter run (``yyyy``)."""
    out: list[tuple[str, str]] = []
    for m in re.finditer(r"'((?:[^']|'')*)'|(([A-Za-z])\3*)|(.)", pattern, re.DOTALL):
        if m.group(1) is not None:
            out.append(("lit", m.group(1).replace("''", "'") if m.group(1) else "'"))
        elif m.group(2) is not None:
            out.append(("run", m.group(2)))
        else:
            out.append(("lit", m.group(4)))
    return out


_PARSE_RE: dict[str, str] = {
    "y": r"\d{4}|\d{2}", "u": r"\d{4}", "M": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}", "h": r"\d{1,2}",
    "m": r"\d{1,2}", "s": r"\d{1,2}", "S": r"\d{1,9}", "a": r"(?i:AM|PM)", "z": r"[A-Za-z][A-Za-z0-9_/+-]*",
    "Z": r"[+-]\d{4}|Z", "X": r"Z|[+-]\d{2}(?::?\d{2})?", "x": r"[+-]\d{2}(?::?\d{2})?", "V": r"[A-Za-z][A-Za-z0-9_/+-]*",
}
_KNOWN = set(_PARSE_RE) | {"E"}


def _check_letters(tokens: list[tuple[str, str]], what: str, pattern: str) -> None:
    for kind, text in tokens:
        if kind == "run" and text[0] not in _KNOWN:
            raise invalid(f"Invalid {what} '{pattern}': the pattern letter '{text[0]}' is not supported.")


def _zone(name: str) -> dt.tzinfo:
    if name.upper() in ("UTC", "GMT", "Z"):
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"Invalid time zone: {name}") from exc


def _offset(text: str) -> dt.tzinfo:
    if text in ("Z", "z"):
        return dt.UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    return dt.timezone(dt.timedelta(minutes=minutes if text[0] == "+" else -minutes))


class DatePattern:
    """One of ``matchPatterns``: ``parse(text)`` is an aware datetime, None when it does not match."""

    def __init__(self, pattern: str, zone: dt.tzinfo) -> None:
        self.zone = zone
        self.kinds: list[str] = []
        tokens = _tokens(pattern)
        _check_letters(tokens, "match pattern", pattern)
        parts: list[str] = []
        for kind, text in tokens:
            if kind == "lit":
                parts.append(re.escape(text))
                continue
            letter = text[0]
            if letter == "M" and len(text) >= 3:
                parts.append("(" + "|".join(m if len(text) == 4 else m[:3] for m in _MONTHS) + ")")
            elif letter == "E":
                parts.append("(" + "|".join(d if len(text) == 4 else d[:3] for d in _DAYS) + ")")
            elif len(text) == 2 and letter in "yuMdHhms":
                parts.append(r"(\d{2})")
            elif letter == "S":
                parts.append(rf"(\d{{{len(text)}}})")
            else:
                parts.append(f"({_PARSE_RE[letter]})")
            self.kinds.append(text)
        self.regex = re.compile("".join(parts), re.IGNORECASE)

    def parse(self, text: str) -> dt.datetime | None:
        m = self.regex.fullmatch(text.strip())
        if m is None:
            return None
        v: dict[str, Any] = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "us": 0}
        pm: bool | None = None
        hour12: int | None = None
        zone = self.zone
        for kind, value in zip(self.kinds, m.groups(), strict=True):
            letter = kind[0]
            if letter in "yu":
                v["y"] = int(value) + (2000 if len(value) == 2 else 0)
            elif letter == "M":
                v["M"] = int(value) if len(kind) < 3 else [x[: len(value)].lower() for x in _MONTHS].index(value.lower()) + 1
            elif letter in "dHms":
                v[letter] = int(value)
            elif letter == "h":
                hour12 = int(value)
            elif letter == "S":
                v["us"] = int((value + "000000")[:6])
            elif letter == "a":
                pm = value.upper() == "PM"
            elif letter in "zV":
                zone = _zone(value)
            elif letter in "ZXx":
                zone = _offset(value)
        if hour12 is not None:
            v["H"] = hour12 % 12 + (12 if pm else 0)
        try:
            return dt.datetime(v["y"], v["M"], v["d"], v["H"], v["m"], v["s"], v["us"], tzinfo=zone)
        except ValueError:
            return None


def date_formatter(pattern: str) -> Callable[[dt.datetime], str]:
    """The ``targetFormat`` as a function of an aware datetime."""
    tokens = _tokens(pattern)
    _check_letters(tokens, "target format", pattern)

    def fmt(t: dt.datetime) -> str:
        out: list[str] = []
        for kind, text in tokens:
            if kind == "lit":
                out.append(text)
                continue
            n, letter = len(text), text[0]
            if letter in "yu":
                out.append(f"{t.year % 100:02d}" if n == 2 else f"{t.year:0{max(n, 4)}d}")
            elif letter == "M":
                out.append(_MONTHS[t.month - 1] if n == 4 else _MONTHS[t.month - 1][:3] if n == 3 else f"{t.month:0{n}d}")
            elif letter == "E":
                out.append(_DAYS[t.weekday()] if n == 4 else _DAYS[t.weekday()][:3])
            elif letter in "dHms":
                out.append(f"{getattr(t, {'d': 'day', 'H': 'hour', 'm': 'minute', 's': 'second'}[letter]):0{n}d}")
            elif letter == "h":
                out.append(f"{(t.hour % 12) or 12:0{n}d}")
            elif letter == "S":
                out.append(f"{t.microsecond:06d}000"[:n])
            elif letter == "a":
                out.append("PM" if t.hour >= 12 else "AM")
            elif letter in "zV":
                out.append((t.tzname() or "UTC") if letter == "z" else str(t.tzinfo))
            else:  # Z, X, x: the offset
                off = t.utcoffset() or dt.timedelta(0)
                if letter == "X" and not off:
                    out.append("Z")
                    continue
                mins = int(off.total_seconds() // 60)
                sign = "+" if mins >= 0 else "-"
                hh, mm = divmod(abs(mins), 60)
                out.append(f"{sign}{hh:02d}:{mm:02d}" if (n >= 3 and letter != "Z") or n == 5 else f"{sign}{hh:02d}{mm:02d}")
        return "".join(out)

    return fmt


def uses_names(pattern: str) -> bool:
    """Whether the pattern reads or writes month or day names, or AM/PM (locale-dependent)."""
    return any(kind == "run" and (text in _NAMED or text[0] == "E" or (text[0] == "M" and len(text) >= 3)) for kind, text in _tokens(pattern))


def zone(name: str | None) -> dt.tzinfo:
    return dt.UTC if not name else _zone(name)
