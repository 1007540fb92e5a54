"""The slowroll API, backed by ctmd: `get_value(section, name, unit)`.

A slowroll feature (`stable`, `new`, `early_adopters`, `end_time`, `duration`) is a ctm key
`<prefix><section>/<name>` holding the new value with a 0 -> 100% ramp rollout that ends at
end_time (`ctm import` writes them from a slowroll file; `set_feature` writes one). get_value
resolves it locally, as ctmd would now: early adopters get the new value, then a growing share of
units by their bucket, and everyone once the ramp ends.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ctm.cache import Cache
from ctm.client import Client, TimeLike, _timestamp

__all__ = ["SlowRoll"]


class SlowRoll:
    """Features under `prefix` on the ctmd at `address`."""

    def __init__(self, address: str = "127.0.0.1:7411", *, prefix: str = "", bootstrap_file: Optional[str] = None, ready_timeout: float = 10.0, **client_options: Any) -> None:
        self.prefix = prefix
        self.client = Client(address, **client_options)
        self.cache = Cache(self.client, prefix, bootstrap_file=bootstrap_file)
        self.cache.ready(ready_timeout)

    def key(self, section: str, name: str) -> str:
        return f"{self.prefix}{section}/{name}"

    def get_value(self, section: str, name: str, unit: str, default: Any = None) -> Any:
        """The value unit is served now, or default for an unknown feature."""
        return self.cache.value(self.key(section, name), default, unit)

    def set_feature(self, section: str, name: str, *, stable: Any, new: Any, end_time: TimeLike, duration: str, early_adopters: Sequence[str] = (), author: str = "", message: str = "") -> int:
        """Writes a feature as slowroll defines it; duration is "72h", "90m", "45s"... Returns the version."""
        # The ramp is where end_time and duration put it, even when that began in the past.
        plan = {"stable": stable, "early_adopters": list(early_adopters), "ramp": {"from": 0, "to": 100, "end_time": _timestamp(end_time).ToJsonString(), "duration": _duration(duration)}, "allow_past_start": True}
        e = self.client.set(self.key(section, name), new, author=author, message=message, rollout=plan)
        self.cache.wait_for_revision(e.revision, timeout=self.client.timeout)
        return e.version

    def close(self) -> None:
        self.cache.close()
        self.client.close()

    def __enter__(self) -> "SlowRoll":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _duration(d: str) -> str:
    """slowroll's "1h30m" as a protobuf Duration ("5400s")."""
    import re

    if re.fullmatch(r"\d+(\.\d+)?", d):
        return f"{d}s"
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", d)
    if not d or parts is None:
        raise ValueError(f"duration {d!r}: use seconds or a form such as 72h, 90m, 1h30m, 45s")
    h, m, s = (int(x) if x else 0 for x in parts.groups())
    return f"{h * 3600 + m * 60 + s}s"
