"""The seeds' Python API (ctm.timemachine, ctm.hanoi, ctm.slowroll) against a real ctmd.

    seeds_check.py --addr A

Every call of the three APIs is made and checked against what the daemon itself answers; it
prints {"calls": [...], "checks": N} and exits 1 with the reason on stderr when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import threading
import time

from ctm.client import Client, CtmError
from ctm.hanoi import Hanoi, set_current_id
from ctm.slowroll import SlowRoll
from ctm.timemachine import ConfigTimeMachine, EnumValidator, RangeValidator, RolloutConfig, TypeValidator

CHECKS = 0
CALLS: set = set()


def check(cond: bool, what: str) -> None:
    global CHECKS
    CHECKS += 1
    if not cond:
        print(f"check failed: {what}", file=sys.stderr)
        sys.exit(1)


def served(client: Client, key: str, unit: str):
    return client.get(key, context={"unit_id": unit})


def until(cond, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            check(False, f"{what} within {timeout} s")
        time.sleep(0.05)


def time_machine(addr: str, direct: Client) -> None:
    ctm = ConfigTimeMachine(addr, prefix="tm/", author="ana")
    changes = []
    ctm.on_change(lambda k, v: changes.append((k, v)))
    CALLS.update(["on_change"])

    v1 = ctm.set("tm/limit", 10, message="first")
    before_second = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    v2 = ctm.set("tm/limit", 20, message="second")
    CALLS.add("set")
    check((v1, v2) == (1, 2), f"versions {v1}, {v2}")
    check(ctm.get("tm/limit") == 20, "get reads its own write")
    check(ctm.get("tm/missing", "dflt") == "dflt", "get of an absent key gives the default")
    check(ctm.get("other/not-under-prefix", "x") == "x", "a key outside the prefix is asked of the daemon")
    CALLS.add("get")
    check(("tm/limit", 20) in changes, f"on_change saw the write: {changes}")

    hist = ctm.history("tm/limit")
    check([e.version for e in hist] == [2, 1] and hist[1].message == "first", f"history newest first: {hist}")
    CALLS.add("history")
    check(ctm.get_at_time("tm/limit", before_second) == 10, "get_at_time")
    check(ctm.what_was_live(before_second, "tm/") == {"tm/limit": 10}, "what_was_live")
    CALLS.update(["get_at_time", "what_was_live"])
    check(ctm.diff("tm/limit", 1, 2) == [{"op": "replace", "path": "", "value": 20}], f"diff: {ctm.diff('tm/limit', 1, 2)}")
    CALLS.add("diff")
    check(len(ctm.blame("tm/limit").lines) >= 1, "blame")
    CALLS.add("blame")
    v3 = ctm.rollback("tm/limit")
    check(v3 == 3 and ctm.get("tm/limit") == 10, "rollback restores the version before")
    CALLS.add("rollback")
    check(ctm.snapshot("tm/") == {"tm/limit": 10}, "snapshot")
    CALLS.add("snapshot")

    # A canary: each user gets what the daemon serves them.
    ctm.set("tm/checkout", "old")
    ctm.set("tm/checkout", "new", rollout=RolloutConfig.canary(40, increment=10, interval_seconds=3600))
    users = [f"user-{i}" for i in range(300)]
    for u in users:
        want = served(direct, "tm/checkout", u)
        check(ctm.get("tm/checkout", user_id=u) == want.value, f"canary value for {u}")
        check(ctm.get_user_variant("tm/checkout", u) == want.variant, f"canary variant for {u}")
    check({ctm.get("tm/checkout", user_id=u) for u in users} == {"old", "new"}, "a canary serves both values")
    CALLS.add("get_user_variant")
    ctm.set("tm/launch", "soon", rollout=RolloutConfig.scheduled(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1), stable="later"))
    check(ctm.get("tm/launch", user_id="u") == "later", "a scheduled rollout serves the stable value before its time")
    ctm.set("tm/ring", 2, rollout=RolloutConfig.ring(["dev", "prod"], interval_seconds=3600, stable=1))
    check(ctm.get("tm/ring", user_id="u", environment="dev") == 2 and ctm.get("tm/ring", user_id="u", environment="prod") == 1, "a ring rollout")
    CALLS.add("RolloutConfig")

    ctm.set_ab_test("tm/color", {"red": "#f00", "blue": "#00f"}, {"red": 1, "blue": 1})
    seen = {}
    for u in users:
        seen.setdefault(ctm.get_user_variant("tm/color", u), set()).add(ctm.get("tm/color", user_id=u))
    check(seen == {"red": {"#f00"}, "blue": {"#00f"}}, f"an A/B test splits units between its variants: {seen}")
    CALLS.add("set_ab_test")

    ctm.add_validator("tm/percent", RangeValidator(0, 100), TypeValidator(int))
    ctm.add_validator("tm/mode", EnumValidator(["fast", "safe"]))
    for key, bad in (("tm/percent", 150), ("tm/percent", 1.5), ("tm/mode", "slow")):
        try:
            ctm.set(key, bad)
            check(False, f"{key}={bad!r} should be refused")
        except CtmError as e:
            check(e.code.name == "INVALID_ARGUMENT", f"{key}={bad!r}: {e}")
    check(ctm.set("tm/percent", 50) == 1 and ctm.set("tm/mode", "safe") == 1, "valid values are written")
    CALLS.add("add_validator")

    # A health check: this process reports a 90% error rate of the canary; ctmd rolls it back.
    ctm.set("tm/risky", "old")
    ctm.set("tm/risky", "new", rollout=RolloutConfig.canary(50))
    ctm.add_health_check("tm/risky", lambda: 0.9, max_error_rate=0.1, interval_seconds=0.2, window_seconds=5)
    until(lambda: direct.get("tm/risky").entry.kind == "AUTO_ROLLBACK", "the health check rolled the canary back")
    check(direct.get("tm/risky").value == "old", "rolled back to the stable value")
    CALLS.add("add_health_check")

    # watch(key, timeout): None when nothing changes, the new value when something does.
    check(ctm.watch("tm/limit", timeout=0.3) is None, "watch times out with None")
    threading.Timer(0.3, lambda: direct.set("tm/limit", 99)).start()
    check(ctm.watch("tm/limit", timeout=10) == 99, "watch returns the new value")
    CALLS.add("watch")
    ctm.stop()
    CALLS.add("stop")


def hanoi(addr: str, direct: Client) -> None:
    direct.set("flags/new-ui", False)
    direct.set("flags/new-ui", True, rollout={"stable": False, "steps": {"start": 30, "increment": 10, "interval": "3600s", "target": 100}, "variants": [{"name": "a", "weight": 1, "value": True}, {"name": "b", "weight": 1, "value": True}]})
    h = Hanoi(addr, prefix="flags/")
    units = [f"u{i}" for i in range(300)]
    for u in units:
        want = served(direct, "flags/new-ui", u)
        check(h.is_enabled("new-ui", u) == bool(want.value), f"is_enabled for {u}")
        check(h.variant("new-ui", u) == want.variant, f"variant for {u}")
    check(not h.is_enabled("no-such-flag", "u1") and h.variant("no-such-flag", "u1") is None, "an unknown flag is off")
    CALLS.update(["hanoi.is_enabled", "hanoi.variant"])

    @h.check("new-ui", unit_arg="user_id", otherwise="off")
    def page(user_id: str) -> str:
        return "on"

    @h.check("new-ui", otherwise=lambda: "off")
    def current() -> str:
        return "on"

    for u in units[:50]:
        check(page(u) == ("on" if h.is_enabled("new-ui", u) else "off"), f"check by argument for {u}")
    CALLS.add("hanoi.check")

    on = next(u for u in units if h.is_enabled("new-ui", u))
    off = next(u for u in units if not h.is_enabled("new-ui", u))
    results = {}

    def in_thread(unit: str) -> None:
        set_current_id(unit)
        time.sleep(0.05)  # both threads have set their unit before either reads it
        results[unit] = current()

    threads = [threading.Thread(target=in_thread, args=(u,)) for u in (on, off)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(results == {on: "on", off: "off"}, f"each thread sees its own current id: {results}")

    @h.check("new-ui", otherwise="off")
    async def current_async() -> str:
        return "on"

    async def task(unit: str) -> str:
        set_current_id(unit)
        await asyncio.sleep(0.01)
        return await current_async()

    async def both():
        return await asyncio.gather(task(on), task(off))

    check(asyncio.run(both()) == ["on", "off"], "each asyncio task sees its own current id")
    CALLS.add("hanoi.set_current_id")
    h.close()


def slowroll(addr: str, direct: Client) -> None:
    s = SlowRoll(addr, prefix="sr/")
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    s.set_feature("checkout", "v2", stable=False, new=True, end_time=end, duration="2h", early_adopters=["alice"])
    check(s.get_value("checkout", "v2", "alice") is True, "an early adopter gets the new value")
    units = [f"s{i}" for i in range(300)]
    for u in units:
        check(s.get_value("checkout", "v2", u) == served(direct, "sr/checkout/v2", u).value, f"get_value for {u}")
    check({s.get_value("checkout", "v2", u) for u in units} == {True, False}, "half-way through the ramp both values are served")
    check(s.get_value("checkout", "nope", "x", "dflt") == "dflt", "an unknown feature gives the default")
    CALLS.add("slowroll.get_value")
    s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    a = ap.parse_args()
    direct = Client(a.addr)
    time_machine(a.addr, direct)
    hanoi(a.addr, direct)
    slowroll(a.addr, direct)
    direct.close()
    print(json.dumps({"calls": sorted(CALLS), "checks": CHECKS}))


if __name__ == "__main__":
    main()
