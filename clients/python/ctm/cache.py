"""A local copy of a prefix that evaluates flags in process, as the TypeScript and Go caches do.

Seeded by Snapshot (every page, at one revision), then kept fresh by a Watch from that revision
+ 1 that resumes across disconnects (the rule every ctm client follows). `get` evaluates
rollouts locally with ctm.evaluate and costs no RPC. While ctmd is unreachable the cache keeps
serving the last values it had (or those of its bootstrap file) and keeps trying; when a watch
cannot resume (the store was replaced, or compacted past the cache's revision) it reads a fresh
Snapshot. Reads are safe from any thread.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from google.protobuf import json_format

from ctm.client import WATCH_INITIAL_BACKOFF, WATCH_MAX_BACKOFF, Client
from ctm.evaluate import EvalContext, Evaluation, Flag
from ctm.v1 import config_service_pb2 as pb
from ctm.v1 import record_pb2
from ctm.values import JSON

__all__ = ["Cache", "read_snapshot_file", "write_snapshot_file"]


def write_snapshot_file(path: str, revision: int, entries: Iterable[record_pb2.Entry]) -> None:
    """Writes a SnapshotResponse in proto3 JSON (the format every ctm SDK reads), atomically."""
    res = pb.SnapshotResponse(revision=revision, entries=list(entries))
    res.header.revision = revision
    text = json_format.MessageToJson(res, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_snapshot_file(path: str) -> Tuple[int, List[record_pb2.Entry]]:
    """Reads a bootstrap file: a SnapshotResponse in proto3 JSON, or a JSON array of its entries."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if isinstance(raw, list):
        entries = [json_format.ParseDict(e, record_pb2.Entry(), ignore_unknown_fields=True) for e in raw]
        revision = 0
    elif isinstance(raw, dict) and isinstance(raw.get("entries", []), list):
        res = json_format.ParseDict(raw, pb.SnapshotResponse(), ignore_unknown_fields=True)
        entries, revision = list(res.entries), res.revision or res.header.revision
    else:
        raise ValueError(f"{path}: not a ctm snapshot (a Snapshot response, or an array of entries)")
    for i, e in enumerate(entries):
        if not e.key or e.revision <= 0:
            raise ValueError(f"{path}: entries[{i}] needs a key and a positive revision")
    return revision or max((e.revision for e in entries), default=0), entries


class Cache:
    """Follows prefix (or exactly `keys`) of the daemon `client` talks to, in a background thread."""

    def __init__(
        self,
        client: Client,
        prefix: str = "",
        *,
        keys: Optional[Iterable[str]] = None,
        bootstrap_file: Optional[str] = None,
        on_change: Optional[Callable[[str, Optional[record_pb2.Entry]], None]] = None,
        on_state: Optional[Callable[[bool, str], None]] = None,
        on_error: Optional[Callable[[Exception], None]] = None,
    ) -> None:
        self._client = client
        self._keys = frozenset(keys) if keys is not None else None
        if self._keys is not None and prefix:
            raise ValueError("give prefix or keys, not both")
        self.prefix = os.path.commonprefix(sorted(self._keys)) if self._keys else prefix
        self._bootstrap = bootstrap_file
        self._on_change, self._on_state, self._on_error = on_change, on_state, on_error
        self._lock = threading.Lock()
        self._advanced = threading.Condition(self._lock)
        self._flags: Dict[str, Flag] = {}
        self.revision = 0
        self.source = "none"
        self.connected = False
        self.last_error: Optional[Exception] = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._call: Any = None
        self._thread = threading.Thread(target=self._run, name=f"ctm-cache {self.prefix!r}", daemon=True)
        self._thread.start()

    # ---- reads: local, no RPC

    def get(self, key: str, unit_id: str = "", *, environment: str = "", attributes: Optional[Mapping[str, str]] = None, now_ms: Optional[int] = None) -> Optional[Evaluation]:
        """What key resolves to for the unit now (or at now_ms); None for an absent key."""
        with self._lock:
            flag = self._flags.get(key)
        return None if flag is None else flag.evaluate(EvalContext(unit_id, environment, attributes or {}), now_ms)

    def value(self, key: str, default: JSON = None, unit_id: str = "", **context: Any) -> JSON:
        """The resolved value, or default when the key is absent."""
        r = self.get(key, unit_id, **context)
        return default if r is None or r.value is None else r.value

    def is_on(self, key: str, unit_id: str = "", **context: Any) -> bool:
        """Whether the flag resolves truthy (false for an absent key), as every ctm SDK reads a flag."""
        r = self.get(key, unit_id, **context)
        return r is not None and _truthy(r.value)

    def entry(self, key: str) -> Optional[record_pb2.Entry]:
        with self._lock:
            flag = self._flags.get(key)
        return None if flag is None else flag.entry

    def keys(self) -> List[str]:
        with self._lock:
            return sorted(self._flags)

    def covers(self, key: str) -> bool:
        """Whether this cache follows key."""
        return self._wants(key)

    def wait_for_revision(self, revision: int, timeout: Optional[float] = None) -> bool:
        """Waits until the cache reflects revision (a write's, say); False after timeout."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self.revision >= revision, timeout)

    def ready(self, timeout: Optional[float] = None) -> bool:
        """Waits until the cache holds data (bootstrap file or daemon); False after timeout."""
        return self._ready.wait(timeout)

    def save_snapshot(self, path: str) -> None:
        """Writes what the cache holds now as a bootstrap file; it works while the daemon is down."""
        with self._lock:
            entries = [self._flags[k].entry for k in sorted(self._flags)]
            revision = self.revision
        write_snapshot_file(path, revision, entries)

    def close(self) -> None:
        """Stops following the daemon and waits for the background thread."""
        self._stop.set()
        call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=10)

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- sync

    def _run(self) -> None:
        if self._bootstrap:
            try:
                revision, entries = read_snapshot_file(self._bootstrap)
                self._replace(entries, revision, "bootstrap")
            except FileNotFoundError:
                pass
            except Exception as e:  # an unreadable file is reported; the daemon may still answer
                self._report(e)
        attempt = 0
        while not self._stop.is_set():
            try:
                revision, entries = self._snapshot()
                self._replace(entries, revision, "daemon")
                attempt = 0
                for e in self._client.watch_entries(
                    self.prefix,
                    True,
                    revision + 1,
                    on_connect=lambda _head: self._set_connected(True),
                    on_retry=lambda *_: self._set_connected(False),
                    stop=self._stop,
                    on_call=self._hold_call,
                ):
                    self._apply(e)
            except Exception as e:  # the watch gave up, or the snapshot failed: keep serving, re-seed
                if self._stop.is_set():
                    return
                self._set_connected(False)
                self._report(e)
                base = min(WATCH_MAX_BACKOFF, WATCH_INITIAL_BACKOFF * 2**attempt)
                attempt += 1
                if self._stop.wait(base * (0.5 + random.random() / 2)):
                    return

    def _hold_call(self, call: Any) -> None:
        self._call = call
        if self._stop.is_set():
            call.cancel()

    def _snapshot(self) -> Tuple[int, List[record_pb2.Entry]]:
        c = self._client
        r = c.stub.Snapshot(pb.SnapshotRequest(prefix=self.prefix), metadata=c.metadata, timeout=c.timeout)
        revision, entries = r.revision, list(r.entries)
        while r.next_page_token:
            r = c.stub.Snapshot(pb.SnapshotRequest(prefix=self.prefix, page_token=r.next_page_token), metadata=c.metadata, timeout=c.timeout)
            entries.extend(r.entries)
        return revision, entries

    def _wants(self, key: str) -> bool:
        return key in self._keys if self._keys is not None else key.startswith(self.prefix)

    def _replace(self, entries: Iterable[record_pb2.Entry], revision: int, source: str) -> None:
        nxt: Dict[str, Flag] = {}
        for e in entries:
            if e.deleted or not self._wants(e.key):
                continue
            try:
                nxt[e.key] = Flag(e)
            except Exception as err:
                self._report(err)
        with self._lock:
            changed = [k for k, f in nxt.items() if k not in self._flags or self._flags[k].entry.revision != f.entry.revision]
            gone = [k for k in self._flags if k not in nxt]
            self._flags = nxt
            self.revision = revision
            source_changed = self.source != source
            self.source = source
            self._advanced.notify_all()
        self._ready.set()
        for k in sorted(changed):
            self._emit(k, nxt[k].entry)
        for k in gone:
            self._emit(k, None)
        if source_changed and self._on_state is not None:
            self._on_state(self.connected, source)

    def _apply(self, e: record_pb2.Entry) -> None:
        with self._lock:
            if e.revision <= self.revision:
                return
            self.revision = e.revision
            self._advanced.notify_all()
            if not self._wants(e.key):
                return
            if e.deleted:
                self._flags.pop(e.key, None)
            else:
                try:
                    self._flags[e.key] = Flag(e)
                except Exception as err:
                    self.last_error = err
                    return
        self._emit(e.key, e)

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            changed = self.connected != connected
            self.connected = connected
            source = self.source
        if changed and self._on_state is not None:
            self._on_state(connected, source)

    def _report(self, e: Exception) -> None:
        self.last_error = e
        if self._on_error is not None:
            self._on_error(e)

    def _emit(self, key: str, e: Optional[record_pb2.Entry]) -> None:
        if self._on_change is not None:
            self._on_change(key, e)


def _truthy(v: JSON) -> bool:
    """JavaScript's truthiness of a JSON value: lists and objects are on even when empty."""
    if isinstance(v, (list, dict)):
        return True
    return bool(v) and v == v
