"""Local evaluation: what ctmd serves a unit from an Entry at a moment, computed in process.

It follows the daemon's src/domain/rollout (evaluate.ts, schedule.ts, compiled-plan.ts) step for
step; test/vectors/evaluation.json, generated from that code, pins it. Needs protobuf only.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ctm.bucketing import bucket, in_percentage, pick_variant
from ctm.re2 import compile_re2
from ctm.v1 import record_pb2, rollout_pb2
from ctm.values import JSON, from_value

__all__ = ["EvalContext", "Evaluation", "Flag", "evaluate"]

STABLE = "stable"
NEW = "new"
_ROLLED_BACK_KINDS = {
    record_pb2.RECORD_KIND_ROLLBACK,
    record_pb2.RECORD_KIND_ROLLOUT_ABORTED,
    record_pb2.RECORD_KIND_AUTO_ROLLBACK,
}


@dataclass(frozen=True)
class EvalContext:
    """Who asks: the unit that is bucketed, its environment (rings), its attributes (rules)."""

    unit_id: str = ""
    environment: str = ""
    attributes: Mapping[str, str] = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Evaluation:
    """The value served, the variant ("stable", "new", a variant's name, "" when static), and why."""

    value: JSON
    variant: str
    reason: str


def _millis(ts) -> int:
    return ts.seconds * 1000 + math.floor(ts.nanos / 1e6)


def _duration_millis(d) -> int:
    return d.seconds * 1000 + math.floor(d.nanos / 1e6)


def _round_half_up(x: float) -> float:
    """JavaScript's Math.round: the nearest integer, ties toward +infinity."""
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


# --- versions: the npm `semver` package's strict parse and precedence, as the daemon reads them

_SEMVER = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:[0-9]*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9][0-9]*)(?:\.(?:[0-9]*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9][0-9]*))*))?"
    r"(?:\+[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)?",
    re.ASCII,
)
_MAX_SAFE = 2**53 - 1
# JavaScript's String.prototype.trim whitespace.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(chr(c) for c in range(0x2000, 0x200B))

Version = Tuple[Tuple[int, int, int], Tuple[Tuple[bool, float, str], ...]]


def _js_length(s: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in s)


# A fleet reports few versions: each string is parsed once (bounded; long strings are never kept).
_parsed: Dict[str, Optional[Version]] = {}
_MEMO_CHARS = 128
_VERSIONS_KEPT = 10_000
# Units whose facts (first matching unit-id rule, bucket, variant) a flag remembers.
UNIT_FACTS_PER_FLAG = 16_384


def parse_version(v: str) -> Optional[Version]:
    got = _parsed.get(v, False)
    if got is not False:
        return got  # type: ignore[return-value]
    parsed = _parse_version(v)
    if len(v) <= _MEMO_CHARS:
        if len(_parsed) >= _VERSIONS_KEPT:
            _parsed.clear()
        _parsed[v] = parsed
    return parsed


def _parse_version(v: str) -> Optional[Version]:
    if _js_length(v) > 256:
        return None
    m = _SEMVER.fullmatch(v.strip(_JS_SPACE))
    if m is None:
        return None
    main = tuple(int(m.group(i)) for i in (1, 2, 3))
    if any(n > _MAX_SAFE for n in main):
        return None
    pre = tuple((p.isdigit(), float(p) if p.isdigit() else 0.0, p) for p in m.group(4).split(".")) if m.group(4) else ()
    return main, pre  # type: ignore[return-value]


def compare_versions(a: Version, b: Version) -> int:
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    pa, pb = a[1], b[1]
    if not pa or not pb:
        # A version with a prerelease comes before the same version without one.
        return 0 if not pa and not pb else (1 if not pa else -1)
    for x, y in zip(pa, pb):
        if x[0] and y[0]:
            if x[1] != y[1]:
                return -1 if x[1] < y[1] else 1
        elif x[0] != y[0]:
            return -1 if x[0] else 1
        elif x[2] != y[2]:
            return -1 if x[2] < y[2] else 1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


# --- rules

Rule = Tuple[bool, Callable[[str, Mapping[str, str]], bool]]
_OP = rollout_pb2.AttributeOperator


def _compile_rule(r: rollout_pb2.TargetingRule) -> Rule:
    kind = r.WhichOneof("rule")
    if kind == "unit_id_regex":
        rx = compile_re2(r.unit_id_regex)
        return True, lambda unit, _attrs: rx.search(unit)
    if kind != "attribute":
        raise ValueError("a rule needs unit_id_regex or attribute")
    a = r.attribute
    name, values, op = a.attribute, list(a.values), a.operator
    want = values[0] if values else ""
    wanted = set(values)
    if op == _OP.Value("ATTRIBUTE_OPERATOR_EQUALS"):
        return False, lambda _u, m: name in m and m[name] == want
    if op == _OP.Value("ATTRIBUTE_OPERATOR_NOT_EQUALS"):
        return False, lambda _u, m: name not in m or m[name] != want
    if op == _OP.Value("ATTRIBUTE_OPERATOR_IN"):
        # An absent attribute is in no list.
        return False, lambda _u, m: name in m and m[name] in wanted
    if op == _OP.Value("ATTRIBUTE_OPERATOR_NOT_IN"):
        return False, lambda _u, m: name not in m or m[name] not in wanted
    want_version = parse_version(want)
    if want_version is None:
        raise ValueError(f"{want!r} is not a version")

    def cmp(m: Mapping[str, str]) -> Optional[int]:
        got = parse_version(m[name]) if name in m else None
        return None if got is None else compare_versions(got, want_version)

    def otherwise(c: Optional[int], missing: int) -> int:
        return missing if c is None else c

    tests: Dict[int, Callable[[str, Mapping[str, str]], bool]] = {
        _OP.Value("ATTRIBUTE_OPERATOR_SEMVER_EQ"): lambda _u, m: cmp(m) == 0,
        _OP.Value("ATTRIBUTE_OPERATOR_SEMVER_GT"): lambda _u, m: otherwise(cmp(m), -1) > 0,
        _OP.Value("ATTRIBUTE_OPERATOR_SEMVER_GTE"): lambda _u, m: otherwise(cmp(m), -1) >= 0,
        _OP.Value("ATTRIBUTE_OPERATOR_SEMVER_LT"): lambda _u, m: otherwise(cmp(m), 1) < 0,
        _OP.Value("ATTRIBUTE_OPERATOR_SEMVER_LTE"): lambda _u, m: otherwise(cmp(m), 1) <= 0,
    }
    if op not in tests:
        raise ValueError(f"unknown attribute operator {op}")
    return False, tests[op]


class Flag:
    """An Entry made ready to evaluate: its rules compiled once. Immutable; safe across threads."""

    def __init__(self, entry: record_pb2.Entry) -> None:
        self.entry = entry
        self.value: JSON = None if entry.deleted else from_value(entry.value)
        self._plan = entry.rollout.HasField("plan") if entry.HasField("rollout") else False
        if not self._plan:
            return
        p, s = entry.rollout.plan, entry.rollout.state
        self.stable: JSON = from_value(p.stable)
        self.stable_is_number = p.stable.WhichOneof("kind") == "number_value"
        self.value_is_number = entry.value.WhichOneof("kind") == "number_value"
        self.salt = p.salt
        self.early = set(p.early_adopters)
        self.pinned = {x.unit_id: x.serve for x in p.pinned}
        self.rules = [_compile_rule(r) for r in p.rules]
        # Per unit: the first unit-id rule it matches (-1: none), its bucket, its variant (None: not
        # yet asked). They depend on the unit alone, and the same users come back.
        self._facts: Dict[str, List[Any]] = {}
        self.variants = [(v.name, float(v.weight), from_value(v.value)) for v in p.variants]
        self.interpolate = p.interpolate
        self.started_at = _millis(s.started_at)
        self.paused_at: Optional[int] = (_millis(s.paused_at) if s.HasField("paused_at") else self.started_at) if s.paused else None
        self.shift = _duration_millis(s.shift)
        self.promoted = s.promoted_rings
        self.killed = s.killed
        self.activate_at = _millis(p.activate_at) if p.HasField("activate_at") else None
        self.rings: Optional[List[str]] = list(p.rings.order) if p.HasField("rings") else None
        self.ring_interval = _duration_millis(p.rings.interval) if p.HasField("rings") else 0
        which = p.WhichOneof("percentage")
        self.steps = p.steps if which == "steps" else None
        self.step_interval = _duration_millis(p.steps.interval) if which == "steps" else 0
        self.ramp: Optional[Tuple[float, float, int, int]] = None
        if which == "ramp":
            r = p.ramp
            dur = _duration_millis(r.duration) if r.HasField("duration") else None
            if r.HasField("start_time"):
                start = _millis(r.start_time)
            elif r.HasField("end_time") and dur is not None:
                start = _millis(r.end_time) - dur
            else:
                start = self.started_at
            end = _millis(r.end_time) if r.HasField("end_time") else start + (dur or 0)
            self.ramp = (getattr(r, "from"), r.to, start, end)

    def evaluate(self, context: Optional[EvalContext] = None, now_ms: Optional[int] = None) -> Evaluation:
        """Resolves the flag for a context at now_ms (milliseconds since the epoch; default: now)."""
        ctx = context or EvalContext()
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if not self._plan:
            reason = "rolled_back" if self.entry.kind in _ROLLED_BACK_KINDS else "static"
            return Evaluation(self.value, "", reason)
        if self.killed:
            return Evaluation(self.stable, STABLE, "rolled_back")
        t = (self.paused_at if self.paused_at is not None else now) + self.shift
        if self.activate_at is not None and t < self.activate_at:
            return Evaluation(self.stable, STABLE, "scheduled_not_yet")
        unit = ctx.unit_id
        serve = self.pinned.get(unit)
        if serve is not None:
            if serve == STABLE:
                return Evaluation(self.stable, STABLE, "pinned")
            if serve == NEW:
                return Evaluation(self.value, NEW, "pinned")
            for name, _w, value in self.variants:
                if name == serve:
                    return Evaluation(value, name, "pinned")
            return Evaluation(self.stable, STABLE, "pinned")
        if unit in self.early:
            return self._serve_new(unit, "early_adopter")
        attrs = ctx.attributes or {}
        facts = self._facts_of(unit)
        for i, (by_unit, test) in enumerate(self.rules):
            if (facts[0] == i) if by_unit else test(unit, attrs):
                return self._serve_new(unit, "rule_match", facts)
        if self.rings is not None:
            by_time = max(0, math.floor((t - self.started_at) / self.ring_interval)) if self.ring_interval > 0 else 0
            current = min(by_time + self.promoted, len(self.rings) - 1)
            mine = self.rings.index(ctx.environment) if ctx.environment in self.rings else -1
            if mine < 0 or mine > current:
                return Evaluation(self.stable, STABLE, "ring_not_reached")
        pct = self._percent_at(t)
        if self.interpolate and self.stable_is_number and self.value_is_number:
            a, b = float(self.stable), float(self.value)
            x = a + ((b - a) * pct) / 100
            if a.is_integer() and b.is_integer():
                x = _round_half_up(x)
            # Integral numbers come out as int, as from_value gives them.
            return Evaluation(int(x) if float(x).is_integer() and abs(x) <= 2**53 else x, NEW, "in_rollout")
        if not in_percentage(facts[1], pct):
            return Evaluation(self.stable, STABLE, "out_of_rollout")
        return self._serve_new(unit, "in_rollout", facts)

    def _facts_of(self, unit: str) -> List[Any]:
        f = self._facts.get(unit)
        if f is None:
            first = next((i for i, (by_unit, test) in enumerate(self.rules) if by_unit and test(unit, {})), -1)
            f = [first, bucket(self.salt, unit), None]
            if len(unit) <= _MEMO_CHARS:
                if len(self._facts) >= UNIT_FACTS_PER_FLAG:
                    self._facts.clear()
                self._facts[unit] = f
        return f

    def _serve_new(self, unit: str, reason: str, facts: Optional[List[Any]] = None) -> Evaluation:
        if not self.variants:
            return Evaluation(self.value, NEW, reason)
        f = facts if facts is not None else self._facts_of(unit)
        if f[2] is None:
            f[2] = pick_variant(self.salt, unit, [(n, w) for n, w, _v in self.variants]) or ""
        name = f[2]
        for n, _w, value in self.variants:
            if n == name:
                return Evaluation(value, n, "variant" if reason == "in_rollout" else reason)
        return Evaluation(self.value, NEW, reason)

    def _percent_at(self, t: int) -> float:
        if self.ramp is not None:
            frm, to, start, end = self.ramp
            if t <= start:
                return frm
            if t >= end:
                return to
            return frm + ((to - frm) * (t - start)) / (end - start)
        s = self.steps
        if s is None:
            return 100.0
        steps = max(0, math.floor((t - self.started_at) / self.step_interval))
        count = max(1, math.ceil(abs(s.target - s.start) / abs(s.increment) - 1e-9))
        # The last step lands on the target exactly, not on start + n * increment's rounding of it.
        if steps >= count:
            return s.target
        raw = s.start + steps * s.increment
        return min(raw, s.target) if s.increment >= 0 else max(raw, s.target)


def evaluate(entry: record_pb2.Entry, context: Optional[EvalContext] = None, now_ms: Optional[int] = None) -> Evaluation:
    """Resolves an Entry for a context at now_ms, as ctmd's Get does."""
    return Flag(entry).evaluate(context, now_ms)
