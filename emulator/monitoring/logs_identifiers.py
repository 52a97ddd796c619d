"""The data identifiers of CloudWatch Logs data protection policies, as regular expressions.

Managed identifiers are named by ARN (``arn:aws:dataprotection::aws:data-identifier/NAME``);
a policy's custom identifiers (``Configuration.CustomDataIdentifier``: Name, Regex) by name.
Identifiers AWS detects with keywords nearby (card expiry dates, security codes, bank
account, driver's licence and passport numbers) need such a keyword before the value here
too, and only the value (the regex's group 1) is masked. Credit card numbers must pass the
Luhn check. Fuzzy identifiers (addresses, names) are not offered: a policy naming one is
refused rather than silently masking nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from emulator import user_regex

ARN_PREFIX = "arn:aws:dataprotection::aws:data-identifier/"


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _key(words: str, value: str) -> str:
    # A keyword, then up to a few separators (": ", " #", "="), then the value (group 1).
    return rf"(?i)\b(?:{words})\b[\s:=#'\"-]{{0,4}}({value})\b"


_PEM = r"-----BEGIN {0}-----[\s\S]*?-----END {0}-----"

MANAGED: dict[str, tuple[str, Callable[[str], bool] | None]] = {
    "EmailAddress": (r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b", None),
    "IpAddress": (
        (
            r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]\d)"
            r"|(?<![:\w])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![:\w])"
        ),
        None,
    ),
    # 40 base64 characters with upper and lower case letters and a digit: a SHA-1 in hex is not one
    "AwsSecretKey": (r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", None),
    "OpenSshPrivateKey": (_PEM.format("OPENSSH PRIVATE KEY"), None),
    "PgpPrivateKey": (_PEM.format("PGP PRIVATE KEY BLOCK"), None),
    "PkcsPrivateKey": (r"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----", None),
    "PuttyPrivateKey": (r"PuTTY-User-Key-File-\d+:[\s\S]*?Private-MAC: ?[0-9A-Fa-f]+", None),
    "CreditCardNumber": (r"(?<![\d-])(?:4|5[1-5]|2[2-7]|3[47]|6)\d{1,3}(?:[ -]?\d){9,15}(?![\d-])", _luhn),
    "CreditCardExpiration": (_key(r"exp(?:iry|iration)?(?: ?date)?|valid thru|good thru", r"(?:0[1-9]|1[0-2]) ?[/-] ?(?:\d{4}|\d{2})"), None),
    "CreditCardSecurityCode": (_key(r"cvv2?|cvc2?|cid|security code|card verification(?: code| value)?", r"\d{3,4}"), None),
    "BankAccountNumber-US": (_key(r"(?:bank )?account(?: number| no\.?| num)?|acct(?: number| no\.?| num)?", r"\d{8,17}"), None),
    "DriversLicense-US": (_key(r"driver'?s? licen[cs]e(?: number| no\.?| num)?|DL(?: number| no\.?| num)?", r"[A-Za-z]?\d{5,13}|[A-Za-z]{1,2}\d{4,12}"), None),
    "PassportNumber-US": (_key(r"passport(?: number| no\.?| num)?", r"[A-Za-z]?\d{8,9}"), None),
    "Ssn-US": (r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])", None),
    "PhoneNumber-US": (r"(?<![\w+])(?:\+?1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d-])", None),
}


@dataclass(frozen=True)
class Identifier:
    name: str  # as findings name it: the managed identifier's short name, or the custom one's
    regex: re.Pattern[str] | user_regex.UserPattern  # a custom identifier's: user_regex, under its budget
    check: Callable[[str], bool] | None = None

    def spans(self, message: str) -> list[tuple[int, int]]:
        try:
            found = list(self.regex.finditer(message))
        except user_regex.RegexTimeout as exc:  # masking and audit run on ingested events: no match
            user_regex.warn_once(exc, f"data protection identifier {self.name}")
            return []
        out = []
        for m in found:
            start, end = (m.start(1), m.end(1)) if self.regex.groups and m.group(1) is not None and self.name in _VALUE_GROUP else m.span()
            if end > start and (self.check is None or self.check(m.group(0))):
                out.append((start, end))
        return out


# managed identifiers whose group 1 is the value to mask (the rest is the keyword)
_VALUE_GROUP = frozenset({"CreditCardExpiration", "CreditCardSecurityCode", "BankAccountNumber-US", "DriversLicense-US", "PassportNumber-US"})

_COMPILED = {name: Identifier(name, re.compile(rx), check) for name, (rx, check) in MANAGED.items()}


def managed(name: str) -> Identifier | None:
    return _COMPILED.get(name)


def custom(name: str, regex: str) -> Identifier:
    """A custom identifier; the whole match is masked. Raises user_regex.error for a bad regex."""
    return Identifier(name, user_regex.compile(regex))


def detect(identifiers: tuple[Identifier, ...], message: str) -> dict[str, list[tuple[int, int]]]:
    """Spans found in ``message``, by identifier name (only identifiers with a finding)."""
    found: dict[str, list[tuple[int, int]]] = {}
    for ident in identifiers:
        spans = ident.spans(message)
        if spans:
            found[ident.name] = spans
    return found


def mask(identifiers: tuple[Identifier, ...], message: str) -> str:
    """``message`` with every match replaced by as many asterisks as it has characters."""
    spans = sorted(s for ident in identifiers for s in ident.spans(message))
    if not spans:
        return message
    out: list[str] = []
    pos = 0
    for start, end in spans:
        start = max(start, pos)  # overlapping matches (a card number that is also a phone number) merge
        if end <= start:
            continue
        out.append(message[pos:start])
        out.append("*" * (end - start))
        pos = end
    out.append(message[pos:])
    return "".join(out)
