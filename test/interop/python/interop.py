"""The Python side of the interop tests (test/interop/*.test.ts), run with /usr/bin/python3
and PYTHONPATH=clients/python. Every subcommand prints JSON on stdout (one object per line
for `watch`) and exits non-zero, with the reason on stderr, when a check fails.

    interop.py set-rollout --addr A --key K --units '["u1", ...]'
    interop.py watch --addr A --key K [--prefix] [--start N] [--count N | --until R]
    interop.py all-rpcs --addr A --prefix P/
    interop.py eval-units --in FILE
    interop.py cache --addr A --prefix P [--bootstrap F]   (commands on stdin, as Go's `interop cache`)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import time

import grpc

from ctm import bucketing
from ctm.client import Client, CtmError, delete_op, set_op

CHECKS = 0


def check(cond: bool, what: str) -> None:
    global CHECKS
    CHECKS += 1
    if not cond:
        print(f"check failed: {what}", file=sys.stderr)
        sys.exit(1)


def emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# The plan of interop test 1: 30% first step (the scheduler's next step is an hour away),
# three weighted variants, the default salt (the key).
PLAN = {
    "stable": {"color": "gray"},
    "steps": {"start": 30, "increment": 10, "interval": "3600s", "target": 100},
    "variants": [
        {"name": "red", "weight": 50, "value": {"color": "red"}},
        {"name": "green", "weight": 30, "value": {"color": "green"}},
        {"name": "blue", "weight": 20, "value": {"color": "blue"}},
    ],
}


def cmd_set_rollout(a: argparse.Namespace) -> None:
    units = json.loads(a.units)
    with Client(a.addr) as c:
        e = c.set(a.key, {"color": "new"}, author="python", message="3-way test at 30%", rollout=PLAN)
    check(e.kind == "SET" and e.version >= 1, f"set answered {e}")
    plan = e.rollout["plan"]
    salt = plan.get("salt") or a.key
    check(salt == a.key, f"the default salt is the key, got {salt!r}")
    pct = plan["steps"]["start"]
    variants = [(v["name"], v["weight"]) for v in plan["variants"]]
    predictions = []
    for u in units:
        b = bucketing.bucket(salt, u)
        inside = bucketing.in_percentage(b, pct)
        predictions.append(
            {
                "unit": u,
                "bucket": b,
                "variant_bucket": bucketing.variant_bucket(salt, u),
                "variant": bucketing.pick_variant(salt, u, variants) if inside else "stable",
            }
        )
    emit({"revision": e.revision, "version": e.version, "salt": salt, "percent": pct, "predictions": predictions})


def cmd_watch(a: argparse.Namespace) -> None:
    seen = 0
    with Client(a.addr) as c:

        def on_retry(next_rev: int, code: object, delay: float) -> None:
            emit({"type": "retry", "next_revision": next_rev, "code": getattr(code, "name", None), "delay": round(delay, 3)})

        stream = c.watch(a.key, prefix=a.prefix, start_revision=a.start, max_retry_time=a.max_retry_time, on_retry=on_retry)
        emit({"type": "started", "start_revision": a.start})
        for e in stream:
            seen += 1
            emit({"type": "event", "revision": e.revision, "key": e.key, "version": e.version, "value": e.value, "kind": e.kind, "deleted": e.deleted})
            if (a.count and seen >= a.count) or (a.until and e.revision >= a.until):
                break
        stream.close()  # cancels the stream
    emit({"type": "done", "events": seen})


def cmd_all_rpcs(a: argparse.Namespace) -> None:
    p = a.prefix
    calls = set()
    with Client(a.addr) as c:
        # Set (and compare-and-set), Get.
        s1 = c.set(p + "svc", {"timeout": 5, "retries": 2, "tags": ["a"]}, author="py", message="first", expected_version=0)
        calls.add("Set")
        check(s1.version == 1 and s1.author == "py" and s1.kind == "SET" and s1.cause == "api", f"set: {s1}")
        try:
            c.set(p + "svc", 0, expected_version=0)
            check(False, "create-only set of an existing key must fail")
        except CtmError as err:
            check(err.code == grpc.StatusCode.ABORTED, f"CAS conflict is ABORTED, got {err.code}")
            check(err.trailers.get("ctm-actual") == "1", f"ctm-actual trailer, got {err.trailers}")
        s2 = c.set(p + "svc", {"timeout": 9, "tags": ["a", "b"], "new": True}, author="py2", message="second", expected_version=1)
        check(s2.version == 2 and s2.revision == s1.revision + 1, f"second set: {s2}")
        g = c.get(p + "svc")
        calls.add("Get")
        check(g.value == {"timeout": 9, "tags": ["a", "b"], "new": True} and g.reason == "STATIC", f"get: {g}")
        check(g.entry.version == 2 and g.revision >= s2.revision, f"get entry: {g.entry}")
        check(isinstance(g.value["timeout"], int), "integral numbers come back as int")

        # History, Diff, Blame.
        h = c.history(p + "svc", limit=1)
        calls.add("History")
        check([e.version for e in h.entries] == [2] and h.next_page_token != "", f"history page 1: {h}")
        h2 = c.history(p + "svc", limit=1, page_token=h.next_page_token)
        check([e.version for e in h2.entries] == [1] and h2.next_page_token == "", f"history page 2: {h2}")
        d = c.diff(p + "svc", 1, 2)
        calls.add("Diff")
        patch = sorted(d.as_json_patch(), key=lambda o: o["path"])
        check(
            patch
            == [
                {"op": "add", "path": "/new", "value": True},
                {"op": "remove", "path": "/retries"},
                {"op": "add", "path": "/tags/1", "value": "b"},
                {"op": "replace", "path": "/timeout", "value": 9},
            ],
            f"diff: {patch}",
        )
        check(d.from_entry.version == 1 and d.to_entry.version == 2, "diff from/to")
        b = c.blame(p + "svc")
        calls.add("Blame")
        by_path = {l.path: (l.version, l.author) for l in b.lines}
        check(by_path == {"/timeout": (2, "py2"), "/tags/0": (1, "py"), "/tags/1": (2, "py2"), "/new": (2, "py2")}, f"blame: {by_path}")
        check(not b.truncated, "blame: not truncated")
        tags = c.blame(p + "svc", path="/tags")
        check([(l.path, l.version) for l in tags.lines] == [("/tags/0", 1), ("/tags/1", 2)], f"blame path: {tags.lines}")

        # Rollback: to the previous version, then to a given one.
        r = c.rollback(p + "svc", author="oncall", message="bad")
        calls.add("Rollback")
        check(r.version == 3 and r.kind == "ROLLBACK" and r.rolled_back_to == 1 and r.value == s1.value, f"rollback: {r}")
        r2 = c.rollback(p + "svc", to_version=2)
        check(r2.version == 4 and r2.rolled_back_to == 2 and r2.value == s2.value, f"rollback to 2: {r2}")

        # Delete; Get is NOT_FOUND; GetAt by revision and by time still answer.
        time.sleep(0.02)
        mid = dt.datetime.now(dt.timezone.utc)
        time.sleep(0.02)
        de = c.delete(p + "svc", author="py", message="retire")
        calls.add("Delete")
        check(de.deleted and de.kind == "DELETE" and de.version == 5, f"delete: {de}")
        try:
            c.get(p + "svc")
            check(False, "get of a deleted key must fail")
        except CtmError as err:
            check(err.code == grpc.StatusCode.NOT_FOUND, f"get deleted: {err.code}")
        ga = c.get_at(p + "svc", revision=s1.revision)
        calls.add("GetAt")
        check(ga.value == s1.value and ga.entry.version == 1 and ga.at_revision == s1.revision, f"get_at revision: {ga}")
        gt = c.get_at(p + "svc", time=mid)
        check(gt.value == s2.value and gt.entry.version == 4 and gt.reason == "ROLLED_BACK", f"get_at time: {gt}")

        # Apply, Snapshot, RollbackPrefix.
        base = c.set(p + "pay/fee", 1)
        ap = c.apply([set_op(p + "pay/fee", 2, expected_version=1), set_op(p + "pay/limit", 500, expected_version=0), delete_op(p + "pay/fee")], author="batch", message="three")
        calls.add("Apply")
        check([(e.key, e.version, e.deleted) for e in ap] == [(p + "pay/fee", 2, False), (p + "pay/limit", 1, False), (p + "pay/fee", 3, True)], f"apply: {ap}")
        check([e.revision for e in ap] == [ap[0].revision, ap[0].revision + 1, ap[0].revision + 2], "apply revisions are consecutive")
        try:
            c.apply([set_op(p + "pay/zzz", 1), set_op(p + "pay/limit", 3, expected_version=9)])
            check(False, "a failing apply must fail")
        except CtmError as err:
            check(err.code == grpc.StatusCode.ABORTED, f"apply conflict: {err.code}")
        sn = c.snapshot(p + "pay/")
        calls.add("Snapshot")
        check(sn.as_dict() == {p + "pay/limit": 500}, f"snapshot now: {sn.as_dict()}")
        sb = c.snapshot(p + "pay/", revision=base.revision)
        check(sb.as_dict() == {p + "pay/fee": 1} and sb.at_revision == base.revision, f"snapshot at base: {sb}")
        rp = c.rollback_prefix(p + "pay/", revision=base.revision, author="oncall", message="undo")
        calls.add("RollbackPrefix")
        check(rp.at_revision == base.revision, f"rollback_prefix revision: {rp}")
        check(
            [(e.key, e.deleted, e.value, e.kind) for e in rp.entries]
            == [(p + "pay/fee", False, 1, "ROLLBACK"), (p + "pay/limit", True, None, "ROLLBACK")],
            f"rollback_prefix entries: {rp.entries}",
        )
        check(c.snapshot(p + "pay/").as_dict() == {p + "pay/fee": 1}, "after rollback_prefix")
        lk = c.list_keys(p + "pay/")
        calls.add("ListKeys")
        check([(k.entry.key, k.entry.value, k.rolling) for k in lk.keys] == [(p + "pay/fee", 1, False)] and lk.next_page_token == "", f"list_keys: {lk}")
        lc = c.list_changes(prefix=p + "pay/", author="oncall", kinds=["rollback"], limit=10)
        calls.add("ListChanges")
        check([(e.key, e.kind) for e in lc.entries] == [(p + "pay/limit", "ROLLBACK"), (p + "pay/fee", "ROLLBACK")], f"list_changes: {lc}")

        # Watch replays everything under the prefix from the first revision, in order.
        want = [s1.revision, s2.revision, r.revision, r2.revision, de.revision, base.revision] + [e.revision for e in ap] + [e.revision for e in rp.entries]
        got = []
        for e in c.watch(p, prefix=True, start_revision=s1.revision, max_retry_time=10):
            got.append(e.revision)
            if len(got) == len(want):
                break
        calls.add("Watch")
        check(got == want, f"watch replay: {got} != {want}")
        # A watch "from now on" (start_revision 0) sees the writes made after it registered:
        # a writer keeps writing until the watch has two of them, which must be consecutive.
        stop = threading.Event()

        def writer() -> None:
            with Client(a.addr) as w:
                i = 0
                while not stop.is_set() and i < 200:
                    w.set(p + "live", i, author="py")
                    i += 1
                    time.sleep(0.05)

        stream = c.watch(p + "live", start_revision=0, max_retry_time=10)
        t = threading.Thread(target=writer)
        t.start()
        try:
            first, second = next(stream), next(stream)
        finally:
            stop.set()
            stream.close()
            t.join()
        check(first.kind == "SET" and first.key == p + "live" and isinstance(first.value, int), f"live watch: {first}")
        check(second.value == first.value + 1 and second.version == first.version + 1, f"live watch is gap-free: {first} then {second}")

    emit({"language": "python", "calls": sorted(calls), "checks": CHECKS})


def cmd_eval_units(a: argparse.Namespace) -> None:
    """Resolves entries for many contexts with ctm.evaluate; the Go command of the same name says the format."""
    import base64

    from ctm.evaluate import EvalContext, Flag
    from ctm.v1 import record_pb2

    with open(a.input, encoding="utf-8") as f:
        doc = json.load(f)
    contexts = [EvalContext(c["unitId"], c["environment"], c["attributes"]) for c in doc["contexts"]]
    results = []
    for c in doc["cases"]:
        flag = Flag(record_pb2.Entry.FromString(base64.b64decode(c["entry"])))
        results.append([[r.value, r.variant, r.reason] for r in (flag.evaluate(x, c["now"]) for x in contexts)])
    emit({"results": results})


def cmd_cache(a: argparse.Namespace) -> None:
    """A ctm.cache.Cache driven over stdin; the lines it prints are those of Go's `interop cache`."""
    from ctm.cache import Cache

    lock = threading.Lock()

    def say(obj: dict) -> None:
        with lock:
            emit(obj)

    holder: dict = {}
    client = Client(a.addr)
    cache = Cache(
        client,
        a.prefix,
        bootstrap_file=a.bootstrap or None,
        on_change=lambda key, e: say({"type": "change", "key": key, "revision": e.revision if e is not None else 0, "deleted": e is None or e.deleted}),
        on_state=lambda connected, source: say({"type": "state", "connected": connected, "source": source, "revision": holder["cache"].revision if "cache" in holder else 0}),
    )
    holder["cache"] = cache
    for line in sys.stdin:
        parts = line.rstrip("\n").split(" ", 2)
        if parts[0] == "eval":
            results = []
            for unit in json.loads(parts[2]):
                r = cache.get(parts[1], unit)
                results.append({"unit": unit, "missing": True} if r is None else {"unit": unit, "value": r.value, "variant": r.variant, "reason": r.reason})
            say({"type": "eval", "key": parts[1], "revision": cache.revision, "source": cache.source, "connected": cache.connected, "results": results})
        elif parts[0] == "save":
            cache.save_snapshot(parts[1])
            say({"type": "saved", "path": parts[1]})
        elif parts[0] == "quit":
            break
    cache.close()
    client.close()


def cmd_eval_bench(a: argparse.Namespace) -> None:
    """A ctm.cache.Cache evaluating one key for many contexts; the protocol of Go's `interop eval-bench`."""
    from ctm.cache import Cache

    with open(a.contexts, encoding="utf-8") as f:
        contexts = [(c["unitId"], c["environment"], c["attributes"]) for c in json.load(f)]
    client = Client(a.addr)
    cache = Cache(client, a.prefix)
    check(cache.ready(30), "the cache is ready")
    check(cache.get(a.key, contexts[0][0]) is not None, f"the cache holds {a.key}")
    emit({"type": "ready"})
    sys.stdin.readline()
    n = 0
    start = time.monotonic()
    get = cache.get
    while time.monotonic() - start < a.seconds:
        for _ in range(100):
            unit, env, attrs = contexts[n % len(contexts)]
            get(a.key, unit, environment=env, attributes=attrs)
            n += 1
    emit({"type": "done", "evaluations": n, "seconds": time.monotonic() - start})
    cache.close()
    client.close()


def cmd_services(a: argparse.Namespace) -> None:
    """One call of every ctmd service through Client's service wrappers, checked."""
    c = Client(a.addr)
    c.set("svc/flag", False)
    c.set("svc/flag", True, rollout={"stable": False, "steps": {"start": 10, "increment": 10, "interval": "3600s", "target": 100}})
    st = c.rollouts.status(key="svc/flag")
    check(st.active and st.percentage == 10 and st.entry.rollout.plan.steps.start == 10, f"rollouts.status: {st}")
    ex = c.rollouts.explain(key="svc/flag", context={"unit_id": "user-1"})
    check(len(ex.trace) > 0, "rollouts.explain gives its trace")
    check(c.rollouts.pause(key="svc/flag").entry.kind == record_kind("ROLLOUT_PAUSED"), "rollouts.pause")
    c.validators.set_validator(validator={"name": "svc-range", "keys": ["svc/n"], "rules": [{"range": {"min": 0, "max": 9}}]})
    check([v.name for v in c.validators.list_validators().validators] == ["svc-range"], "validators.set_validator and list_validators")
    check(not c.validators.validate(key="svc/n", value=12).valid, "validators.validate refuses 12")
    c.health_checks.set_health_check(check={"name": "svc-health", "keys": ["svc/flag"], "pushed": {}, "max_error_rate": 0.5})
    check([h.name for h in c.health_checks.list_health_checks().checks] == ["svc-health"], "health_checks")
    c.health_checks.report_metrics(samples=[{"key": "svc/flag", "variant": "new", "requests": 10, "errors": 1}])
    check(c.access_log.query_access_log(key="svc/flag", limit=10) is not None, "access_log.query_access_log")
    check(len(c.access_log.summarize_access_log(key="svc/flag").buckets) == 60, "access_log.summarize_access_log: the last hour in 60 buckets")
    check(list(c.health_checks.get_health_history(key="svc/none").points) == [], "health_checks.get_health_history")
    check(c.admin.get_retention().oldest_revision == 1, "admin.get_retention")
    check(c.admin.verify().verification.ok, "admin.verify")
    check(c.admin.list_stale_keys() is not None, "admin.list_stale_keys")
    me = c.auth.who_am_i()
    check(not me.auth_enabled, f"auth.who_am_i says auth is off: {me}")
    check(list(c.auth.list_tokens().tokens) == [], "auth.list_tokens")
    check(list(c.auth.check_access(accesses=[{"verb": "VERB_WRITE", "key": "svc/flag"}]).allowed) == [True], "auth.check_access: auth off allows")
    try:
        c.rollouts.pause(key="svc/nope")
        check(False, "a missing key is an error")
    except CtmError as e:
        check(e.code.name == "NOT_FOUND", f"errors are CtmError with the daemon's code: {e}")
    services = {name: sorted(getattr(c, name).methods) for name in ("rollouts", "validators", "health_checks", "access_log", "admin", "auth")}
    c.close()
    emit({"services": services, "checks": CHECKS})


def record_kind(name: str) -> int:
    from ctm.v1 import record_pb2

    return record_pb2.RecordKind.Value(f"RECORD_KIND_{name}")


def cmd_retry_attempts(a: argparse.Namespace) -> None:
    """Against an address where nothing listens: attempts for a read, an unguarded write, a guarded one."""
    attempts = {"n": 0}

    class Count(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            attempts["n"] += 1
            return continuation(details, request)

    channel = grpc.intercept_channel(grpc.insecure_channel(a.addr), Count())
    c = Client(a.addr, channel=channel, timeout=20)
    out = {}
    for name, call in (("get", lambda: c.get("k")), ("set", lambda: c.set("k", 1)), ("guarded-set", lambda: c.set("k", 1, expected_version=0))):
        attempts["n"] = 0
        code = "OK"
        try:
            call()
        except CtmError as e:
            code = e.code.name
        out[name] = {"attempts": attempts["n"], "code": code}
    emit(out)


def cmd_retry_safe(a: argparse.Namespace) -> None:
    """ctm.retry.is_retry_safe for each {"method", "type", "request" (base64)}."""
    import base64

    from google.protobuf import symbol_database

    from ctm import retry
    from ctm.v1 import access_log_service_pb2, admin_service_pb2, auth_service_pb2, health_check_service_pb2, rollout_service_pb2, validator_service_pb2  # noqa: F401  (registers the types)

    db = symbol_database.Default()
    with open(a.input, encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for k in cases:
        msg = db.GetSymbol(k["type"])()
        msg.ParseFromString(base64.b64decode(k["request"]))
        out.append(retry.is_retry_safe(k["method"], msg))
    emit(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("set-rollout")
    s.add_argument("--addr", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--units", required=True, help="a JSON array of unit ids")
    w = sub.add_parser("watch")
    w.add_argument("--addr", required=True)
    w.add_argument("--key", required=True)
    w.add_argument("--prefix", action="store_true")
    w.add_argument("--start", type=int, default=0)
    w.add_argument("--count", type=int, default=0)
    w.add_argument("--until", type=int, default=0)
    w.add_argument("--max-retry-time", type=float, default=30.0)
    r = sub.add_parser("all-rpcs")
    r.add_argument("--addr", required=True)
    r.add_argument("--prefix", required=True)
    e = sub.add_parser("eval-units")
    e.add_argument("--in", dest="input", required=True)
    k = sub.add_parser("cache")
    k.add_argument("--addr", required=True)
    k.add_argument("--prefix", required=True)
    k.add_argument("--bootstrap", default="")
    b = sub.add_parser("eval-bench")
    b.add_argument("--addr", required=True)
    b.add_argument("--prefix", required=True)
    b.add_argument("--key", required=True)
    b.add_argument("--contexts", required=True)
    b.add_argument("--seconds", type=float, default=2.0)
    ra = sub.add_parser("retry-attempts")
    ra.add_argument("--addr", required=True)
    rs = sub.add_parser("retry-safe")
    rs.add_argument("--in", dest="input", required=True)
    sv = sub.add_parser("services")
    sv.add_argument("--addr", required=True)
    a = ap.parse_args()
    {"retry-attempts": cmd_retry_attempts, "retry-safe": cmd_retry_safe, "services": cmd_services, "set-rollout": cmd_set_rollout, "watch": cmd_watch, "all-rpcs": cmd_all_rpcs, "eval-units": cmd_eval_units, "cache": cmd_cache, "eval-bench": cmd_eval_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
