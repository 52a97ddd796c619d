"""IAM wildcards (``*``, ``?``) in policies are matched in linear time: a user's pattern of
many stars must not hold the server (a regex of several ``.*`` backtracks exponentially)."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.gateway.policy import (
    _LITERAL_QMARK,
    _LITERAL_STAR,
    resource_matches,
    wildcard_matches,
)
from emulator.gateway.s3_policy import _bucket_matches


def _reference(pattern: str, text: str, ignore_case: bool) -> bool:
    """What a wildcard means, as a (backtracking) regex: fine on short inputs."""
    rx = "".join(
        ".*" if c == "*" else "." if c == "?" else r"\*" if c == _LITERAL_STAR else r"\?" if c == _LITERAL_QMARK else re.escape(c) for c in pattern
    )
    return re.fullmatch(rx, text, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


@settings(max_examples=400, deadline=None)
@given(st.text("aAb:*?" + _LITERAL_STAR + _LITERAL_QMARK, max_size=9), st.text("aAb:*?", max_size=12), st.booleans())
def test_same_answers_as_the_regex_reading(pattern: str, text: str, ignore_case: bool) -> None:
    assert wildcard_matches(pattern, text, ignore_case) == _reference(pattern, text, ignore_case)


def test_many_stars_on_a_long_resource_are_fast() -> None:
    started = time.perf_counter()
    assert not resource_matches("arn:aws:s3:::*a*a*a*a*a*a*a*a*b", "arn:aws:s3:::" + "a" * 2000)
    assert not _bucket_matches("*a*a*a*a*a*a*a*a*b", "a" * 63)
    assert wildcard_matches("*a*b*c*", "x" * 500 + "a" + "x" * 500 + "b" + "c")
    assert time.perf_counter() - started < 1.0  # the backtracking regex took ~10 s for the first
