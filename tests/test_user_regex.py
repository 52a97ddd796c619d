"""emulator.user_regex: user-supplied patterns behave as ``re`` does, and a catastrophic one
runs out of its budget instead of holding the event loop."""

from __future__ import annotations

import logging
import re
import time

import pytest

from emulator import user_regex

CATASTROPHIC = r"(a|a)+$"  # exponential backtracking, on re and on the regex package alike
EVIL = "a" * 26 + "!"  # re: ~30 s (doubling per character); so the test fails, not hangs, without the budget


def test_a_catastrophic_pattern_times_out_within_the_budget() -> None:
    rx = user_regex.compile(CATASTROPHIC)
    for call in (rx.search, rx.match, rx.fullmatch, rx.finditer, lambda t: rx.sub("b", t)):
        started = time.monotonic()
        with pytest.raises(user_regex.RegexTimeout) as err:
            call(EVIL)
        assert time.monotonic() - started < 10 * user_regex.MATCH_BUDGET_S + 1  # generous: CI is loaded
        assert err.value.pattern == CATASTROPHIC
        assert str(err.value) == f"The regular expression {CATASTROPHIC} took too long to evaluate"


@pytest.mark.parametrize(("pattern", "text"), [
    (r"ERROR|WARN", "a WARN here, an ERROR there"),
    (r"(?P<user>\w+)@(?P<host>[\w.]+)", "mail bob@example.com and amy@test.org"),
    (r"^\d{3}-\d{2}-\d{4}$", "123-45-6789"),
    (r"(?i)timeout", "Read TIMEOUT after 3s"),
    (r"a(?=b)", "ab ac ab"),
    (r"(?<!x)y", "xy zy"),
    (r"[^\s]+\s*$", "trailing word  "),
    (r"\bfoo\b", "foo food foo"),
    (r"(a*)*b", "aaaa"),
    (r"", "xyz"),
])
def test_ordinary_patterns_behave_as_re(pattern: str, text: str) -> None:
    ours, theirs = user_regex.compile(pattern), re.compile(pattern)
    assert [m.span() for m in ours.finditer(text)] == [m.span() for m in theirs.finditer(text)]
    found, expected = ours.search(text), theirs.search(text)
    assert (found and (found.span(), found.groupdict())) == (expected and (expected.span(), expected.groupdict()))
    assert bool(ours.match(text)) == bool(theirs.match(text))
    assert bool(ours.fullmatch(text)) == bool(theirs.fullmatch(text))
    assert ours.sub("<\\g<0>>", text) == theirs.sub("<\\g<0>>", text)
    assert ours.groups == theirs.groups and ours.groupindex == dict(theirs.groupindex)


def test_flags_and_bad_patterns() -> None:
    assert user_regex.compile("a.b", user_regex.DOTALL | user_regex.IGNORECASE).fullmatch("A\nB") is not None
    assert user_regex.compile("a.b").fullmatch("a\nb") is None
    with pytest.raises(user_regex.error):
        user_regex.compile("(unclosed")
    with pytest.raises(user_regex.error):
        user_regex.compile("[z-a]")


def test_warn_once_per_pattern(caplog: pytest.LogCaptureFixture) -> None:
    pattern = CATASTROPHIC + "(?#warn-once)"
    rx = user_regex.compile(pattern)
    with caplog.at_level(logging.WARNING, logger="emulator.user_regex"):
        for _ in range(3):
            try:
                rx.search(EVIL)
            except user_regex.RegexTimeout as exc:
                user_regex.warn_once(exc, "a test")
    warnings = [r for r in caplog.records if pattern in r.getMessage()]
    assert len(warnings) == 1 and "treated as no match" in warnings[0].getMessage()
