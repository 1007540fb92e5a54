"""The Config Time Machine API, backed by ctmd.

Code written against the Config Time Machine library keeps its calls: `set`, `get(key, default,
user_id=...)`, `history`, `rollback`, `get_at_time`, `what_was_live`, `diff`, `blame`,
`snapshot`, A/B tests, validators, health checks, `on_change`, `watch` and `stop`. The data now
lives in ctmd: versioned, shared by every process, rolled out and rolled back by the daemon.
Reads are local: a Cache holds the keys and evaluates rollouts in process, so `get` costs no RPC
and keeps answering while ctmd is unreachable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from google.protobuf import json_format

from ctm.cache import Cache
from ctm.client import BlameResult, Client, CtmError, Entry, TimeLike, _timestamp
from ctm.v1 import health_check_service_pb2 as hc_pb
from ctm.v1 import health_check_service_pb2_grpc as hc_grpc
from ctm.v1 import validator_service_pb2 as val_pb
from ctm.v1 import validator_service_pb2_grpc as val_grpc
from ctm.values import JSON, to_value

__all__ = ["ConfigTimeMachine", "RolloutConfig", "RangeValidator", "TypeValidator", "EnumValidator"]


def _seconds(s: float) -> str:
    return f"{s:g}s"


@dataclass(frozen=True)
class RolloutConfig:
    """How a new value reaches users: a canary that grows in steps, a scheduled switch, or rings."""

    plan: Mapping[str, Any]

    @classmethod
    def canary(cls, percentage: float = 10, *, increment: float = 10, interval_seconds: float = 3600, target: float = 100, early_adopters: Sequence[str] = (), stable: JSON = None) -> "RolloutConfig":
        """percentage of units at first, increment more every interval, up to target."""
        plan: Dict[str, Any] = {"steps": {"start": percentage, "increment": increment, "interval": _seconds(interval_seconds), "target": target}, "early_adopters": list(early_adopters)}
        return cls(_with_stable(plan, stable))

    @classmethod
    def scheduled(cls, at: TimeLike, *, stable: JSON = None) -> "RolloutConfig":
        """Everyone keeps the stable value until `at`, then everyone gets the new one."""
        return cls(_with_stable({"activate_at": _timestamp(at).ToJsonString()}, stable))

    @classmethod
    def ring(cls, rings: Sequence[str], *, interval_seconds: float = 3600, stable: JSON = None) -> "RolloutConfig":
        """Environments in order (e.g. dev, staging, prod), one more every interval."""
        return cls(_with_stable({"rings": {"order": list(rings), "interval": _seconds(interval_seconds)}}, stable))


def _with_stable(plan: Dict[str, Any], stable: JSON) -> Dict[str, Any]:
    if stable is not None:
        plan["stable"] = stable
    return plan


@dataclass(frozen=True)
class RangeValidator:
    """A number between min and max (inclusive); either may be left open."""

    min: Optional[float] = None
    max: Optional[float] = None

    def rule(self) -> val_pb.ValidationRule:
        r = val_pb.ValidationRule()
        r.range.SetInParent()
        if self.min is not None:
            r.range.min = self.min
        if self.max is not None:
            r.range.max = self.max
        return r


_TYPES = {
    str: "VALUE_TYPE_STRING", "string": "VALUE_TYPE_STRING",
    float: "VALUE_TYPE_NUMBER", "number": "VALUE_TYPE_NUMBER",
    int: "VALUE_TYPE_INTEGER", "integer": "VALUE_TYPE_INTEGER",
    bool: "VALUE_TYPE_BOOLEAN", "boolean": "VALUE_TYPE_BOOLEAN",
    dict: "VALUE_TYPE_OBJECT", "object": "VALUE_TYPE_OBJECT",
    list: "VALUE_TYPE_ARRAY", "array": "VALUE_TYPE_ARRAY",
    type(None): "VALUE_TYPE_NULL", "null": "VALUE_TYPE_NULL",
}


@dataclass(frozen=True)
class TypeValidator:
    """A JSON type: a Python type (str, int, float, bool, dict, list) or its JSON name."""

    type: Any

    def rule(self) -> val_pb.ValidationRule:
        if self.type not in _TYPES:
            raise ValueError(f"TypeValidator: {self.type!r} is not a JSON type")
        return val_pb.ValidationRule(type=val_pb.ValueType.Value(_TYPES[self.type]))


@dataclass(frozen=True)
class EnumValidator:
    """One of the given values."""

    values: Sequence[JSON]

    def rule(self) -> val_pb.ValidationRule:
        return val_pb.ValidationRule(one_of=val_pb.AllowedValues(values=[to_value(v) for v in self.values]))


Validator = Union[RangeValidator, TypeValidator, EnumValidator]
_SCALE = 10_000  # error rates are reported as errors per this many requests


class ConfigTimeMachine:
    """Config Time Machine's calls on ctmd at `address`, for the keys under `prefix`."""

    def __init__(self, address: str = "127.0.0.1:7411", *, prefix: str = "", author: str = "", bootstrap_file: Optional[str] = None, ready_timeout: float = 10.0, **client_options: Any) -> None:
        self.client = Client(address, **client_options)
        self.author = author
        self._listeners: List[Callable[[str, JSON], None]] = []
        self._changed = threading.Condition()
        self._versions: Dict[str, int] = {}
        self._stop = threading.Event()
        self._reporters: List[threading.Thread] = []
        self.cache = Cache(self.client, prefix, bootstrap_file=bootstrap_file, on_change=self._changed_key)
        self.cache.ready(ready_timeout)

    # ---- writes

    def set(self, key: str, value: JSON, *, author: Optional[str] = None, message: str = "", rollout: Optional[RolloutConfig] = None, expected_version: Optional[int] = None) -> int:
        """Writes a new version (rolled out by `rollout` if given); returns its version."""
        e = self.client.set(key, value, author=author or self.author, message=message, expected_version=expected_version, rollout=dict(rollout.plan) if rollout else None)
        self._seen(e)
        return e.version

    def delete(self, key: str, *, author: Optional[str] = None, message: str = "") -> int:
        e = self.client.delete(key, author=author or self.author, message=message)
        self._seen(e)
        return e.version

    def rollback(self, key: str, to_version: Optional[int] = None, *, author: Optional[str] = None, message: str = "") -> int:
        """Restores a version's value as a new version (the one before the current by default)."""
        e = self.client.rollback(key, to_version, author=author or self.author, message=message)
        self._seen(e)
        return e.version

    def set_ab_test(self, key: str, variants: Mapping[str, JSON], weights: Optional[Mapping[str, int]] = None, *, stable: JSON = None, author: Optional[str] = None, message: str = "") -> int:
        """Serves every unit one of `variants` (name -> value), split by `weights` (equal by default)."""
        if not variants:
            raise ValueError("set_ab_test needs at least one variant")
        names = list(variants)
        plan: Dict[str, Any] = {"variants": [{"name": n, "weight": int((weights or {}).get(n, 1)), "value": variants[n]} for n in names]}
        first = variants[names[0]]
        plan["stable"] = first if stable is None else stable
        return self.set(key, first, author=author, message=message or f"A/B test: {', '.join(names)}", rollout=RolloutConfig(plan))

    # ---- reads (local: no RPC)

    def get(self, key: str, default: JSON = None, user_id: Optional[str] = None, *, environment: str = "", attributes: Optional[Mapping[str, str]] = None) -> JSON:
        """The value `user_id` is served now (rollouts evaluated locally), or default."""
        r = self.cache.get(key, user_id or "", environment=environment, attributes=attributes)
        if r is None and not self.cache.covers(key):
            try:
                got = self.client.get(key, context={"unit_id": user_id or "", "environment": environment, "attributes": dict(attributes or {})})
            except CtmError:
                return default
            return default if got.value is None else got.value
        return default if r is None or r.value is None else r.value

    def get_user_variant(self, key: str, user_id: str) -> Optional[str]:
        """The variant `user_id` gets ("stable", "new", an A/B variant's name), or None for an absent key."""
        r = self.cache.get(key, user_id)
        return None if r is None else r.variant

    # ---- time travel (the daemon's log)

    def history(self, key: str, limit: int = 0) -> List[Entry]:
        """Versions of key, newest first."""
        return list(self.client.history_all(key)) if limit <= 0 else self.client.history(key, limit=limit).entries

    def get_at_time(self, key: str, when: TimeLike, user_id: Optional[str] = None, default: JSON = None) -> JSON:
        """The value `user_id` was served at `when` (a datetime or RFC 3339 text)."""
        try:
            r = self.client.get_at(key, time=when, context={"unit_id": user_id or ""})
        except CtmError as e:
            if e.code.name == "NOT_FOUND":
                return default
            raise
        return default if r.value is None else r.value

    def what_was_live(self, when: TimeLike, prefix: str = "") -> Dict[str, JSON]:
        """Every key under prefix and its value at `when`."""
        return self.client.snapshot(prefix, time=when).as_dict()

    def snapshot(self, prefix: str = "") -> Dict[str, JSON]:
        """Every key under prefix and its current value."""
        return self.client.snapshot(prefix).as_dict()

    def diff(self, key: str, from_version: int, to_version: int = 0) -> List[Dict[str, Any]]:
        """RFC 6902 operations from one version to another (0: the current one)."""
        return self.client.diff(key, from_version, to_version).as_json_patch()

    def blame(self, key: str, path: str = "") -> BlameResult:
        return self.client.blame(key, path)

    # ---- safety

    def add_validator(self, keys: Union[str, Iterable[str]], *validators: Validator, name: Optional[str] = None, description: str = "") -> int:
        """Refuses writes to keys (globs such as "payments/*") whose value breaks a validator."""
        key_list = [keys] if isinstance(keys, str) else list(keys)
        v = val_pb.Validator(name=name or _name_of("validator", key_list), keys=key_list, rules=[x.rule() for x in validators], description=description)
        stub = val_grpc.ValidatorServiceStub(self.client.channel)
        r = stub.SetValidator(val_pb.SetValidatorRequest(validator=v, author=self.author), metadata=self.client.metadata, timeout=self.client.timeout)
        return r.entry.version

    def add_health_check(self, key: str, error_rate: Callable[[], float], *, max_error_rate: float = 0.05, interval_seconds: float = 10.0, window_seconds: float = 60.0, name: Optional[str] = None, action: str = "rollback") -> int:
        """Rolls key back (or pauses its rollout, action="pause") when error_rate() of the units on the
        new value goes above max_error_rate. This process reports error_rate() every interval."""
        check = hc_pb.HealthCheck(
            name=name or _name_of("health", [key]),
            keys=[key],
            max_error_rate=max_error_rate,
            min_samples=1,
            failures_to_act=1,
            action=hc_pb.HealthAction.Value(f"HEALTH_ACTION_{action.upper()}"),
        )
        check.pushed.SetInParent()
        json_format.ParseDict(_seconds(window_seconds), check.window)
        stub = hc_grpc.HealthCheckServiceStub(self.client.channel)
        r = stub.SetHealthCheck(hc_pb.SetHealthCheckRequest(check=check, author=self.author), metadata=self.client.metadata, timeout=self.client.timeout)
        t = threading.Thread(target=self._report, args=(stub, key, error_rate, interval_seconds), name=f"ctm-health {key}", daemon=True)
        t.start()
        self._reporters.append(t)
        return r.entry.version

    def report_error_rate(self, key: str, rate: float) -> None:
        """Reports one error rate (0..1) of key's new value now, as the health check's thread does."""
        stub = hc_grpc.HealthCheckServiceStub(self.client.channel)
        errors = round(min(1.0, max(0.0, rate)) * _SCALE)
        sample = hc_pb.MetricSample(key=key, variant="new", requests=_SCALE, errors=errors)
        stub.ReportMetrics(hc_pb.ReportMetricsRequest(samples=[sample]), metadata=self.client.metadata, timeout=self.client.timeout)

    def _report(self, stub: Any, key: str, error_rate: Callable[[], float], interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.report_error_rate(key, float(error_rate()))
            except Exception:  # a failed report is retried at the next tick; the check sees fewer samples
                pass

    # ---- changes

    def on_change(self, callback: Callable[[str, JSON], None]) -> None:
        """Calls callback(key, value) for every change the cache takes (value None for a delete)."""
        self._listeners.append(callback)

    def watch(self, key: str, timeout: Optional[float] = None) -> JSON:
        """Blocks until key changes (or timeout seconds pass: returns None); returns its new value."""
        with self._changed:
            start = self._versions.get(key, -1)
            if not self._changed.wait_for(lambda: self._versions.get(key, -1) != start, timeout):
                return None
        r = self.cache.get(key)
        return None if r is None else r.value

    def stop(self) -> None:
        """Stops the health reports, the cache and the connection."""
        self._stop.set()
        for t in self._reporters:
            t.join(timeout=5)
        self.cache.close()
        self.client.close()

    def __enter__(self) -> "ConfigTimeMachine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _seen(self, e: Entry) -> None:
        """A write waits until the cache holds it, so this process reads its own writes."""
        if self.cache.covers(e.key):
            self.cache.wait_for_revision(e.revision, timeout=self.client.timeout)

    def _changed_key(self, key: str, entry: Any) -> None:
        with self._changed:
            self._versions[key] = entry.revision if entry is not None else -2
            self._changed.notify_all()
        value = None
        cache = getattr(self, "cache", None)  # the first changes can come before the constructor returns
        if cache is not None and entry is not None and not entry.deleted:
            r = cache.get(key)
            value = None if r is None else r.value
        for cb in list(self._listeners):
            cb(key, value)


def _name_of(kind: str, keys: List[str]) -> str:
    base = "-".join(k.replace("/", "-").replace("*", "all") for k in keys)[:60].strip("-") or "all"
    return f"{kind}-{base}"
