"""The Python side of test/interop/python-change-requests.test.ts, run with /usr/bin/python3 and
PYTHONPATH=clients/python against a ctmd with --auth off (each call's author= is who acts).
It walks change requests through Client.change_requests under a policy that asks two approvals
for P*, checks every answer itself (exit 1, the reason on stderr, on a failed check), and prints
{"id": <the applied request>, "rejected": <id>, "cancelled": <id>, "scheduled": <id>, "draft": <id>, "checks": N}.

    change_requests_check.py --addr A --prefix P/
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any, Callable

import grpc

from ctm.change_requests import ChangeRequest
from ctm.client import Client, CtmError, delete_op, set_op

CHECKS = 0


def check(cond: bool, what: str) -> None:
    global CHECKS
    CHECKS += 1
    if not cond:
        print(f"check failed: {what}", file=sys.stderr)
        sys.exit(1)


def refused(f: Callable[[], Any], code: grpc.StatusCode, what: str) -> CtmError:
    try:
        f()
    except CtmError as e:
        check(e.code == code, f"{what}: {code.name}, not {e.code.name}: {e.details}")
        return e
    check(False, f"{what}: expected {code.name}")
    raise AssertionError  # unreachable: check exits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--prefix", required=True)
    a = ap.parse_args()
    p = a.prefix
    fee = f"{p}fee"
    with Client(a.addr, timeout=20) as c, Client(a.addr, timeout=20, metadata=[("ctm-break-glass", "incident 7: fee cap by hand")]) as glass:
        cr = c.change_requests
        c.set(fee, {"pct": 1.5, "cap": 30}, author="ana")
        c.set(f"_ctm/policies/{p.strip('/')}", {"keys": [f"{p}**"], "approvals": 2}, author="ana")
        refused(lambda: c.set(fee, 1, author="ana"), grpc.StatusCode.FAILED_PRECONDITION, "a direct write to a protected key")

        created = cr.create_change_request(
            "Raise the cap", [set_op(fee, {"pct": 1.5, "cap": 40}), set_op(f"{p}new", None)], description="for the sale", author="ana"
        )
        check(isinstance(created, ChangeRequest) and created.id != "", f"create answers the request: {created}")
        check(created.state == "IN_REVIEW" and created.approvals == [] and created.author == "ana", f"a new request is in review: {created}")
        check(created.policies == [p.strip("/")] and created.approvals_required == 2, f"the covering policy asks two: {created}")
        check(created.base_revision >= 2, f"base revision 0 means the head now: {created.base_revision}")
        check(created.operations == [{"set": {"key": fee, "value": {"pct": 1.5, "cap": 40}}}, {"set": {"key": f"{p}new", "value": None}}], f"operations: {created.operations}")

        got = cr.get_change_request(created.id)
        by_key = {k.key: k for k in got.changes}
        check(got.change_request.id == created.id and set(by_key) == {fee, f"{p}new"}, f"get: {got}")
        check(by_key[fee].live is not None and by_key[fee].live.value == {"pct": 1.5, "cap": 30}, f"the live entry: {by_key[fee]}")
        check([(o.op, o.path, o.value) for o in by_key[fee].operations] == [("replace", "/cap", 40)], f"RFC 6902 to the proposed value: {by_key[fee].operations}")
        check(by_key[f"{p}new"].live is None and not by_key[fee].deleted, f"a new key has no live entry: {by_key[f'{p}new']}")

        refused(lambda: cr.approve_change_request(created.id, author="ana"), grpc.StatusCode.PERMISSION_DENIED, "the author approving")
        one = cr.approve_change_request(created.id, author="bob", comment="ok")
        check(one.state == "IN_REVIEW" and [(r.principal, r.comment) for r in one.approvals] == [("bob", "ok")], f"one approval of two: {one}")
        refused(lambda: cr.approve_change_request(created.id, author="bob"), grpc.StatusCode.FAILED_PRECONDITION, "a second approval by bob")
        two = cr.approve_change_request(created.id, author="cy")
        check(two.state == "APPROVED" and [r.principal for r in two.approvals] == ["bob", "cy"], f"approved by two: {two}")
        check([x.id for x in cr.list_change_requests(state="APPROVED")] == [created.id], "list by state")

        # The key changes after the base revision (past the policy, with the break-glass header).
        broke = glass.set(fee, {"pct": 1.5, "cap": 35}, author="oncall")
        check(broke.break_glass and broke.version == 2, f"the header broke the glass: {broke}")
        e = refused(lambda: cr.apply_change_request(created.id, author="ana"), grpc.StatusCode.ABORTED, "a conflicting apply")
        check(fee in e.details, f"ABORTED names the key: {e.details}")
        failed = cr.get_change_request(created.id).change_request
        check(failed.state == "FAILED" and fee in failed.conflict, f"the request failed with its conflict: {failed}")
        check(c.get(fee).value == {"pct": 1.5, "cap": 35}, "nothing of the batch was written")

        refused(lambda: cr.edit_change_request(created.id, author="bob"), grpc.StatusCode.PERMISSION_DENIED, "an edit by another than the author")
        rebased = cr.edit_change_request(created.id, operations=[set_op(fee, {"pct": 1.5, "cap": 40})], author="ana")
        check(rebased.state == "IN_REVIEW" and rebased.approvals == [] and rebased.conflict == "", f"an edit resets the approvals: {rebased}")
        check(rebased.title == "Raise the cap" and len(rebased.operations) == 1, f"an edit keeps the title and takes the operations: {rebased}")
        check(rebased.base_revision >= broke.revision, f"the base moved to the head: {rebased.base_revision} < {broke.revision}")

        cr.approve_change_request(created.id, author="bob")
        cr.approve_change_request(created.id, author="cy")
        applied = cr.apply_change_request(created.id, author="ana")
        check(applied.change_request.state == "APPLIED", f"applied: {applied.change_request}")
        check([(x.key, x.version, x.value, x.change_request) for x in applied.entries] == [(fee, 3, {"pct": 1.5, "cap": 40}, created.id)], f"the batch: {applied.entries}")
        check(applied.change_request.applied_revision >= applied.entries[0].revision, "applied_revision is the batch's")
        check(c.get(fee).value == {"pct": 1.5, "cap": 40}, "the value is live")

        # Reject and cancel; list by prefix.
        r = cr.create_change_request("r", [set_op(f"{p}r", 1)], author="ana")
        x = cr.create_change_request("x", [delete_op(f"{p}x")], author="ana")
        check(x.operations == [{"delete": {"key": f"{p}x"}}], f"a delete: {x.operations}")
        rejected = cr.reject_change_request(r.id, author="bob", comment="not now")
        check(rejected.state == "REJECTED" and rejected.rejection is not None and rejected.rejection.principal == "bob", f"rejected: {rejected}")
        refused(lambda: cr.cancel_change_request(x.id, author="bob"), grpc.StatusCode.PERMISSION_DENIED, "a cancel by another than the author")
        check(cr.cancel_change_request(x.id, author="ana").state == "CANCELLED", "cancelled by its author")
        # A draft: edited by its author (it stays a draft), reviewed once its author submits it.
        d = cr.create_change_request("draft", [set_op(f"{p}d", 1)], draft=True, author="ana")
        check(d.state == "DRAFT", f"a draft: {d}")
        refused(lambda: cr.approve_change_request(d.id, author="bob"), grpc.StatusCode.FAILED_PRECONDITION, "approving a draft")
        check(cr.edit_change_request(d.id, operations=[set_op(f"{p}d", 2)], author="ana").state == "DRAFT", "an edited draft stays one")
        refused(lambda: cr.submit_change_request(d.id, author="bob"), grpc.StatusCode.PERMISSION_DENIED, "a submit by another than the author")
        submitted = cr.submit_change_request(d.id, author="ana")
        check(submitted.state == "IN_REVIEW" and submitted.operations == [{"set": {"key": f"{p}d", "value": 2}}], f"submitted: {submitted}")
        cr.reject_change_request(d.id, author="bob")

        # A later `at` schedules the apply: ctmd applies it then (here it is cancelled first).
        later = cr.create_change_request("later", [set_op(f"{p}later", True)], author="ana")
        cr.approve_change_request(later.id, author="bob")
        cr.approve_change_request(later.id, author="cy")
        at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=1)
        scheduled = cr.apply_change_request(later.id, at=at, author="ana")
        check(scheduled.change_request.state == "SCHEDULED" and scheduled.change_request.scheduled_at == at and scheduled.entries == [], f"scheduled: {scheduled}")
        check(cr.cancel_change_request(later.id, author="ana", comment="not needed").state == "CANCELLED", "a scheduled request is cancelled")
        check([y.id for y in cr.list_change_requests(prefix=p)] == [later.id, d.id, x.id, r.id, created.id], "list by prefix, newest change first")
        refused(lambda: cr.get_change_request("000000000000"), grpc.StatusCode.NOT_FOUND, "an unknown id")
        # A set may carry a rollout plan, as in Client.apply: shown as given, built when applied.
        plan = {"stable": False, "steps": {"start": 10, "increment": 10, "interval": "300s", "target": 100}}
        ro = cr.create_change_request("roll", [set_op("pyro/flag", True, rollout=plan)], author="ana")
        check(ro.operations[0]["set"]["rollout"]["steps"]["start"] == 10, f"the plan is shown as given: {ro.operations}")
        cr.approve_change_request(ro.id, author="bob")
        cr.approve_change_request(ro.id, author="cy")
        check(cr.apply_change_request(ro.id, author="ana").entries[0].rollout is not None, "the applied record rolls the value out")
        try:
            cr.create_change_request("v", [set_op(fee, 1, expected_version=3)], author="ana")
            check(False, "a set with expected_version is refused")
        except ValueError:
            check(True, "a set with expected_version is refused")
    sys.stdout.write(json.dumps({"id": created.id, "rejected": r.id, "cancelled": x.id, "scheduled": later.id, "draft": d.id, "checks": CHECKS}) + "\n")


if __name__ == "__main__":
    main()
