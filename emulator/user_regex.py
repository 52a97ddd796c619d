"""User-supplied regular expressions, run with a time budget.

The server is one asyncio event loop. Python's ``re`` backtracks without bound and without
releasing the GIL, so a pattern such as ``(a|a)+$`` on 30 characters stalls every other
request for minutes (catastrophic backtracking, "ReDoS"). AWS does not let one caller stall
another. Patterns that come from a request (guardrail regexes, CloudWatch Logs filter patterns
``%...%``, Logs Insights ``like``/``=~``/``parse``, transformer grok and substituteString,
data protection custom identifiers) are therefore compiled here with the ``regex`` package in
its VERSION0 mode (compatible with ``re``'s syntax and flags) and every match call runs with
``timeout=MATCH_BUDGET_S``. Patterns the emulator writes itself stay on ``re``.

A call that runs out of budget raises ``RegexTimeout``. An operation evaluating the pattern for
its own request answers its validation error with that message; background paths (metric and
subscription filters at ingest, masking, live tail) treat it as no match and ``warn_once``.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import regex

log = logging.getLogger("emulator.user_regex")

# Seconds one match call (search, a whole finditer or sub) may take. Ordinary patterns over a
# log event or a prompt take microseconds; a pattern that needs more is backtracking.
MATCH_BUDGET_S = 0.1

error = regex.error  # a bad pattern (compile); callers catch it as they caught re.error

IGNORECASE = regex.IGNORECASE
DOTALL = regex.DOTALL
MULTILINE = regex.MULTILINE

Match = Any  # regex.Match[str] (the package ships no type hints)


class RegexTimeout(Exception):
    """A user-supplied pattern ran out of its budget on one call."""

    def __init__(self, pattern: str) -> None:
        # our text: AWS does not document a message for this
        super().__init__(f"The regular expression {_shown(pattern)} took too long to evaluate")
        self.pattern = pattern


def _shown(pattern: str, limit: int = 200) -> str:
    return pattern if len(pattern) <= limit else pattern[:limit] + "..."


class UserPattern:
    """A compiled user pattern; ``re.Pattern``'s methods, each call under the budget."""

    __slots__ = ("_rx", "pattern", "shown")

    def __init__(self, pattern: str, flags: int = 0, shown: str | None = None) -> None:
        self.pattern = pattern
        self.shown = pattern if shown is None else shown  # as the user wrote it (errors name it)
        self._rx = regex.compile(pattern, flags | regex.VERSION0)

    @property
    def groups(self) -> int:
        return int(self._rx.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._rx.groupindex)

    def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args, timeout=MATCH_BUDGET_S)
        except TimeoutError:
            raise RegexTimeout(self.shown) from None

    def search(self, text: str) -> Match | None:
        return self._run(self._rx.search, text)

    def match(self, text: str) -> Match | None:
        return self._run(self._rx.match, text)

    def fullmatch(self, text: str) -> Match | None:
        return self._run(self._rx.fullmatch, text)

    def finditer(self, text: str) -> list[Match]:
        """Every match (a list: the budget covers the whole scan)."""
        return self._run(lambda t, timeout: list(self._rx.finditer(t, timeout=timeout)), text)

    def sub(self, repl: str | Callable[[Match], str], text: str) -> str:
        return str(self._run(self._rx.sub, repl, text))


@functools.lru_cache(maxsize=512)
def compile(pattern: str, flags: int = 0, shown: str | None = None) -> UserPattern:  # mirrors re.compile
    """The compiled pattern (cached, as ``re`` caches); raises ``error`` for a bad one.
    ``shown``: the user's text when ``pattern`` was derived from it (a timeout names it)."""
    return UserPattern(pattern, flags, shown)


def escape(text: str) -> str:
    return str(regex.escape(text))


_warned: set[str] = set()
_warned_lock = threading.Lock()
_MAX_WARNED = 1024


def warn_once(exc: RegexTimeout, where: str) -> None:
    """Log (once per pattern) that a background evaluation treated a timeout as no match."""
    with _warned_lock:
        if exc.pattern in _warned:
            return
        if len(_warned) >= _MAX_WARNED:
            _warned.clear()
        _warned.add(exc.pattern)
    log.warning("%s: %s; treated as no match (budget %.2fs per match)", where, exc, MATCH_BUDGET_S)
