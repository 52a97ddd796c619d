"""When each access key was last used, for IAM's GetAccessKeyLastUsed and the credential report.

A consumer of the request recorder (emulator/gateway/recorder.py), like the audit log: it gets
the answered requests in batches, off the request path, and keeps per long-term access key the
last (date, service, region) it signed. Persisted next to the key store, in
``<data_dir>/keys_last_used.json`` (mode 0600), rewritten only when a batch changed something
(the date is kept to the minute, so a busy key rewrites it at most once a minute, whatever
services it calls).

The date is rounded down to the minute: AWS's examples of GetAccessKeyLastUsed show whole
minutes (``"LastUsedDate": "2015-06-16T22:45:00Z"``, AWS CLI reference,
get-access-key-last-used); AWS does not document the granularity (ours).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from emulator.gateway.authorize_requirements import iam_prefix

log = logging.getLogger("emulator")

# (epoch seconds, rounded down to the minute; service namespace, e.g. "dynamodb"; region)
LastUse = tuple[float, str, str]


class KeyUsage:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "keys_last_used.json"
        self._lock = threading.Lock()
        self._last: dict[str, LastUse] = {}
        # key id -> (minute, service name, region) of its last record: records repeating it
        # (nearly all) are skipped without building the stored tuple.
        self._seen: dict[str, tuple[float, str, str | None]] = {}
        self._load()

    def _read(self) -> dict[str, LastUse]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            return {k: (float(v[0]), str(v[1]), str(v[2])) for k, v in data.get("keys", {}).items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            log.warning("cannot read %s: access keys' last use starts afresh", self.path)
            return {}

    def _load(self) -> None:
        self._last = self._read()

    def _merge(self) -> None:
        """Keep the later use of each key that another process (a second gateway on the same
        data dir) wrote since: the file holds the latest of all of them."""
        for key_id, use in self._read().items():
            mine = self._last.get(key_id)
            if mine is None or use[0] > mine[0]:
                self._last[key_id] = use

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": {k: list(v) for k, v in self._last.items()}}, fh)
        os.replace(tmp, self.path)

    def consume(self, records: list[Any]) -> None:
        """A batch of answered requests from the recorder: (ctx, response, seconds, epoch)."""
        changed = False
        last = self._last
        seen = self._seen
        for ctx, _response, _elapsed, epoch in records:
            principal = ctx.principal
            service = ctx.service_name
            if principal is None or not service:
                continue  # unauthenticated, or not an AWS API call (the console, /_emulator)
            key_id = principal.access_key_id
            minute = float(int(epoch) // 60 * 60)
            region = ctx.region
            # The common case, a key calling what it called a moment ago: one tuple compare.
            quick = (minute, service, region)
            if seen.get(key_id) == quick:
                continue
            if key_id.startswith("ASIA"):
                continue  # STS session credentials: GetAccessKeyLastUsed knows long-term keys only
            seen[key_id] = quick
            use = (minute, iam_prefix(service, ctx.service), region or "us-east-1")
            before = last.get(key_id)
            if before != use:
                last[key_id] = use
                # Written when a key's minute moves on: a key used by several services in turn
                # would otherwise rewrite the file with every batch (each 20 ms). The service
                # and region of the same minute are kept in memory (answered from there) and
                # reach the file with the next minute's write.
                changed = changed or before is None or before[0] != use[0]
        if changed:
            with self._lock:
                try:
                    self._merge()
                    self._save()
                except OSError:
                    log.exception("cannot write %s", self.path)

    def get(self, access_key_id: str) -> LastUse | None:
        return self._last.get(access_key_id)

    def forget(self, keep: set[str]) -> None:
        """Drop what is known of keys other than ``keep`` (an IAM reset deletes users' keys)."""
        with self._lock:
            self._last = {k: v for k, v in self._last.items() if k in keep}
            self._seen.clear()
            self._save()
