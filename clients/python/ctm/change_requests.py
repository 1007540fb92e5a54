"""ChangeRequestService from Python, typed: `Client.change_requests`.

    from ctm.client import Client, set_op

    with Client("127.0.0.1:7411") as ctm:
        cr = ctm.change_requests.create_change_request("Cap the fee", [set_op("payments/cap", 40)], author="ana")
        ctm.change_requests.approve_change_request(cr.id, author="bob")
        ctm.change_requests.apply_change_request(cr.id, author="ana").change_request.state   # "APPLIED"

A change request proposes sets and deletes against a base revision (0: the head now). It starts
in review (or as a draft its author edits, then submits); principals approve it (as many distinct ones as the protection policies covering its
keys ask, the author not among them unless every policy allows it); once approved it is applied
in one batch, refused with ABORTED (CtmError) when a key it touches changed after the base
revision: the request is then FAILED with `conflict`, and its author rebases it with
edit_change_request, which resets the approvals. With --auth off, `author=` names who acts;
with auth on, the token's principal does.

Calls go through the Client: its token, metadata, deadline and retry rule (ctm.retry: the two
reads are retried after UNAVAILABLE, the writes never), errors as CtmError. States are names
without their prefix ("IN_REVIEW", "APPROVED", "FAILED", ...), as Entry.kind is.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Union

from google.protobuf import json_format

from ctm.client import Entry, PatchOperation, TimeLike, _enum_name, _opt_value, _plan, _time_of, _timestamp
from ctm.v1 import change_request_service_pb2 as pb
from ctm.v1 import change_request_service_pb2_grpc as pb_grpc
from ctm.values import from_value, to_value

if TYPE_CHECKING:
    from ctm.client import Client

__all__ = ["ChangeRequests", "ChangeRequest", "ChangeReview", "KeyChange", "GetChangeRequestResult", "ApplyChangeRequestResult"]

JSON = Any
OperationLike = Union[Mapping[str, Any], pb.ChangeOperation]

_STATE_PREFIX = "CHANGE_REQUEST_STATE_"


@dataclass(frozen=True)
class ChangeReview:
    """One approval or rejection."""

    principal: str
    comment: str
    time: Optional[_dt.datetime]

    @classmethod
    def from_pb(cls, r: pb.ChangeReview) -> "ChangeReview":
        return cls(r.principal, r.comment, _time_of(r.time) if r.HasField("time") else None)


@dataclass(frozen=True)
class ChangeRequest:
    """A change request as its latest version says."""

    id: str
    title: str
    description: str
    author: str  # who proposed it (with --auth off: the author it named)
    operations: List[Dict[str, Any]]  # as set_op and delete_op make them: {"set": {"key", "value", "rollout"?}} or {"delete": {"key"}}
    base_revision: int
    state: str  # "DRAFT", "IN_REVIEW", "APPROVED", "SCHEDULED", "APPLIED", "FAILED", "REJECTED", "CANCELLED"
    approvals: List[ChangeReview]  # distinct principals, in the order they approved
    rejection: Optional[ChangeReview]
    conflict: str  # why the last apply was refused (state "FAILED")
    applied_revision: int
    policies: List[str]  # the policies that cover its keys now
    approvals_required: int
    version: int  # each state change is a new version of the request
    updated: Optional[_dt.datetime]
    scheduled_at: Optional[_dt.datetime]  # when ctmd applies it (state "SCHEDULED")

    @classmethod
    def from_pb(cls, c: pb.ChangeRequest) -> "ChangeRequest":
        return cls(
            id=c.id,
            title=c.title,
            description=c.description,
            author=c.author,
            operations=[_operation_dict(o) for o in c.operations],
            base_revision=c.base_revision,
            state=_enum_name(pb.ChangeRequestState, c.state, _STATE_PREFIX),
            approvals=[ChangeReview.from_pb(r) for r in c.approvals],
            rejection=ChangeReview.from_pb(c.rejection) if c.HasField("rejection") else None,
            conflict=c.conflict,
            applied_revision=c.applied_revision,
            policies=list(c.policies),
            approvals_required=c.approvals_required,
            version=c.version,
            updated=_time_of(c.updated) if c.HasField("updated") else None,
            scheduled_at=_time_of(c.scheduled_at) if c.HasField("scheduled_at") else None,
        )


@dataclass(frozen=True)
class KeyChange:
    """What a request would change in one key: RFC 6902 operations from the live value (None: a new key) to the proposed one."""

    key: str
    live: Optional[Entry]
    operations: List[PatchOperation]
    deleted: bool  # the request deletes the key


@dataclass(frozen=True)
class GetChangeRequestResult:
    change_request: ChangeRequest
    changes: List[KeyChange]  # per key, the diff against its live value
    revision: int  # header.revision


@dataclass(frozen=True)
class ApplyChangeRequestResult:
    change_request: ChangeRequest  # state "APPLIED"
    entries: List[Entry]  # the records written, in order
    revision: int


def _operation_dict(o: pb.ChangeOperation) -> Dict[str, Any]:
    if o.WhichOneof("operation") == "delete":
        return {"delete": {"key": o.delete.key}}
    body: Dict[str, Any] = {"key": o.set.key, "value": from_value(o.set.value) if o.set.HasField("value") else None}
    if o.set.HasField("rollout"):
        body["rollout"] = json_format.MessageToDict(o.set.rollout, preserving_proto_field_name=True)
    return {"set": body}


def _operation(op: OperationLike) -> pb.ChangeOperation:
    if isinstance(op, pb.ChangeOperation):
        return op
    if len(op) != 1 or next(iter(op)) not in ("set", "delete"):
        raise ValueError(f'an operation is {{"set": {{...}}}} or {{"delete": {{...}}}} (set_op, delete_op), got {op!r}')
    ((kind, body),) = op.items()
    extra = sorted(set(body) - ({"key", "value", "rollout"} if kind == "set" else {"key"}))
    if extra:
        # A change request is checked against its base revision as a whole, not key by key.
        raise ValueError(f"a change request's {kind} takes no {', '.join(extra)} (its base_revision guards every key)")
    if kind == "set":
        s = pb.ChangeSet(key=body["key"], value=to_value(body.get("value")))
        plan = _plan(body.get("rollout"))
        if plan is not None:
            s.rollout.CopyFrom(plan)
        return pb.ChangeOperation(set=s)
    return pb.ChangeOperation(delete=pb.ChangeDelete(key=body["key"]))


def _state(state: Optional[str]) -> int:
    if state is None:
        return 0
    name = state.upper()
    return pb.ChangeRequestState.Value(name if name.startswith(_STATE_PREFIX) else _STATE_PREFIX + name)


class ChangeRequests:
    """The RPCs of ChangeRequestService (see the module's doc)."""

    def __init__(self, client: "Client") -> None:
        self._client = client
        self._stub = pb_grpc.ChangeRequestServiceStub(client.channel)

    # Writes: never retried after UNAVAILABLE (none has a version guard).

    def create_change_request(
        self,
        title: str,
        operations: Iterable[OperationLike],
        *,
        description: str = "",
        base_revision: int = 0,
        draft: bool = False,
        author: str = "",
    ) -> ChangeRequest:
        """Propose operations (set_op, delete_op) written against base_revision (0: the head now); it
        starts "IN_REVIEW", or with draft=True "DRAFT", which its author edits until submitting it."""
        req = pb.CreateChangeRequestRequest(
            title=title, description=description, operations=[_operation(o) for o in operations], base_revision=base_revision, draft=draft, author=author
        )
        return ChangeRequest.from_pb(self._client._call(self._stub.CreateChangeRequest, req).change_request)

    def submit_change_request(self, id: str, *, author: str = "") -> ChangeRequest:
        """Put a draft in review ("IN_REVIEW"); its author only."""
        req = pb.SubmitChangeRequestRequest(id=id, author=author)
        return ChangeRequest.from_pb(self._client._call(self._stub.SubmitChangeRequest, req).change_request)

    def edit_change_request(
        self,
        id: str,
        *,
        title: str = "",
        description: str = "",
        operations: Optional[Iterable[OperationLike]] = None,
        base_revision: int = 0,
        author: str = "",
    ) -> ChangeRequest:
        """The author changes what it proposes (what is left empty stays as it was); the approvals
        reset and the base moves to base_revision (0: the head now): a rebase after a conflict. A
        draft stays a draft; anything else is "IN_REVIEW" again."""
        req = pb.EditChangeRequestRequest(
            id=id, title=title, description=description, operations=[_operation(o) for o in operations or ()], base_revision=base_revision, author=author
        )
        return ChangeRequest.from_pb(self._client._call(self._stub.EditChangeRequest, req).change_request)

    def approve_change_request(self, id: str, *, comment: str = "", author: str = "") -> ChangeRequest:
        """Add the caller's approval; "APPROVED" once enough distinct principals approved."""
        req = pb.ApproveChangeRequestRequest(id=id, comment=comment, author=author)
        return ChangeRequest.from_pb(self._client._call(self._stub.ApproveChangeRequest, req).change_request)

    def reject_change_request(self, id: str, *, comment: str = "", author: str = "") -> ChangeRequest:
        """End the request as "REJECTED"."""
        req = pb.RejectChangeRequestRequest(id=id, comment=comment, author=author)
        return ChangeRequest.from_pb(self._client._call(self._stub.RejectChangeRequest, req).change_request)

    def cancel_change_request(self, id: str, *, comment: str = "", author: str = "") -> ChangeRequest:
        """End the request as "CANCELLED"; its author only."""
        req = pb.CancelChangeRequestRequest(id=id, comment=comment, author=author)
        return ChangeRequest.from_pb(self._client._call(self._stub.CancelChangeRequest, req).change_request)

    def apply_change_request(self, id: str, *, at: Optional[TimeLike] = None, author: str = "") -> ApplyChangeRequestResult:
        """Write an approved request's operations in one batch. CtmError ABORTED when a key changed
        after its base revision: the request is then "FAILED" with conflict. With at (a
        timezone-aware datetime or RFC 3339) later than now, it is "SCHEDULED" instead, and ctmd
        applies it then (entries empty)."""
        req = pb.ApplyChangeRequestRequest(id=id, author=author)
        if at is not None:
            req.at.CopyFrom(_timestamp(at))
        r = self._client._call(self._stub.ApplyChangeRequest, req)
        return ApplyChangeRequestResult(ChangeRequest.from_pb(r.change_request), [Entry.from_pb(e) for e in r.entries], r.header.revision)

    # Reads: retried after UNAVAILABLE.

    def get_change_request(self, id: str) -> GetChangeRequestResult:
        """The request and, per key, its live entry and the RFC 6902 operations to the proposed value."""
        r = self._client._call(self._stub.GetChangeRequest, pb.GetChangeRequestRequest(id=id))
        changes = [
            KeyChange(
                key=k.key,
                live=Entry.from_pb(k.live) if k.HasField("live") else None,
                operations=[PatchOperation(o.op, o.path, getattr(o, "from"), _opt_value(o, "value")) for o in k.operations],
                deleted=k.deleted,
            )
            for k in r.changes
        ]
        return GetChangeRequestResult(ChangeRequest.from_pb(r.change_request), changes, r.header.revision)

    def list_change_requests(self, *, state: Optional[str] = None, prefix: str = "") -> List[ChangeRequest]:
        """Requests, newest first: all, or those in state ("IN_REVIEW", ...), or whose every key is under prefix."""
        r = self._client._call(self._stub.ListChangeRequests, pb.ListChangeRequestsRequest(state=_state(state), prefix=prefix))
        return [ChangeRequest.from_pb(c) for c in r.change_requests]
