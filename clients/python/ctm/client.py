"""A small Python client for ctmd's ctm.v1.ConfigService.

    from ctm.client import Client

    with Client("127.0.0.1:7411") as ctm:
        ctm.set("db.pool_size", 20, author="ana", message="more connections")
        print(ctm.get("db.pool_size").value)                  # 20
        for entry in ctm.watch("db.", prefix=True, start_revision=1):
            print(entry.revision, entry.key, entry.value)     # resumes across restarts

With --auth on, pass token= (sent on every call, watch included); for TLS, root_certificates=
(PEM bytes of the CA), plus certificate_chain= and private_key= for mTLS. See Client.

Values are plain Python JSON (None, bool, int/float, str, list, dict), converted to and from
google.protobuf.Value. Numbers travel as IEEE doubles, as in JSON: an integral number comes
back as an int, integers beyond 2**53 lose precision. Rollout plans and evaluation contexts
are given as dicts in the protobuf JSON form that grpcurl uses (see the README), or as the
generated messages. Failed calls raise CtmError with the gRPC status code.

The generated stubs are importable on their own: ctm.v1.config_service_pb2 (messages),
ctm.v1.config_service_pb2_grpc (ConfigServiceStub), likewise for the RolloutService.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import random
import re
import threading
import time as _time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import json_format, timestamp_pb2

from ctm.v1 import config_service_pb2 as pb
from ctm.v1 import config_service_pb2_grpc as pb_grpc
from ctm.v1 import record_pb2, rollout_pb2
from ctm.retry import call_with_retry
from ctm.values import from_value, to_value

if TYPE_CHECKING:
    from ctm.change_requests import ChangeRequests

__all__ = [
    "Client",
    "CtmError",
    "Entry",
    "GetResult",
    "GetAtResult",
    "HistoryPage",
    "DiffResult",
    "BlameLine",
    "BlameResult",
    "SnapshotResult",
    "RollbackPrefixResult",
    "set_op",
    "delete_op",
    "to_value",
    "from_value",
]

JSON = Any
TimeLike = Union[_dt.datetime, str]


# The resume rule every ctm client follows (the TypeScript SDK, Go, the CLI): a Watch that
# breaks with one of these codes is reopened from the last revision seen + 1, after a delay of
# min(max, initial * 2^attempt), of which half is random; any other code ends it.
WATCH_RESUME_CODES = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
)
WATCH_INITIAL_BACKOFF = 0.1
WATCH_MAX_BACKOFF = 5.0


# --- values -----------------------------------------------------------------------------




def _opt_value(msg: Any, name: str) -> JSON:
    return from_value(getattr(msg, name)) if msg.HasField(name) else None


def _timestamp(t: TimeLike) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    if isinstance(t, str):
        ts.FromJsonString(t)
    else:
        if t.tzinfo is None:
            raise ValueError("use a timezone-aware datetime (e.g. datetime.now(timezone.utc))")
        ts.FromDatetime(t)
    return ts


def _time_of(ts: timestamp_pb2.Timestamp) -> _dt.datetime:
    return ts.ToDatetime(tzinfo=_dt.timezone.utc)


def _enum_name(enum_type: Any, number: int, prefix: str) -> str:
    try:
        name = enum_type.Name(number)
    except ValueError:
        return str(number)
    return name[len(prefix):] if name.startswith(prefix) else name


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One immutable record of the log."""

    key: str
    value: JSON
    version: int
    revision: int
    time: Optional[_dt.datetime]
    author: str
    message: str
    kind: str  # "SET", "DELETE", "ROLLBACK", "ROLLOUT_MILESTONE", ...
    deleted: bool
    rolled_back_to: int
    cause: str
    rollout: Optional[Dict[str, Any]]  # the Rollout message in protobuf JSON form
    principal: str = ""  # who wrote it, authenticated ("token:ci", "cert:deployer"); "" with --auth off
    break_glass: bool = False  # written past a protection policy with the ctm-break-glass header
    change_request: str = ""  # the change request whose approved batch wrote it

    @classmethod
    def from_pb(cls, e: record_pb2.Entry) -> "Entry":
        return cls(
            key=e.key,
            value=_opt_value(e, "value"),
            version=e.version,
            revision=e.revision,
            time=_time_of(e.time) if e.HasField("time") else None,
            author=e.author,
            message=e.message,
            kind=_enum_name(record_pb2.RecordKind, e.kind, "RECORD_KIND_"),
            deleted=e.deleted,
            rolled_back_to=e.rolled_back_to,
            cause=e.cause,
            rollout=json_format.MessageToDict(e.rollout, preserving_proto_field_name=True) if e.HasField("rollout") else None,
            principal=e.principal,
            break_glass=e.break_glass,
            change_request=e.change_request,
        )


def _entry(msg: Any, name: str = "entry") -> Optional[Entry]:
    return Entry.from_pb(getattr(msg, name)) if msg.HasField(name) else None


@dataclass(frozen=True)
class GetResult:
    """What Get answered: the value for the context, which variant and why."""

    value: JSON
    variant: str  # "stable", "new", or a variant's name
    reason: str  # "STATIC", "IN_ROLLOUT", "VARIANT", ...
    entry: Entry
    revision: int  # header.revision: the store's head when answered


@dataclass(frozen=True)
class GetAtResult:
    value: JSON
    variant: str
    reason: str
    entry: Entry
    at_revision: int  # the revision the request resolved to
    revision: int  # header.revision


@dataclass(frozen=True)
class HistoryPage:
    entries: List[Entry]
    next_page_token: str  # "" when there is nothing more
    revision: int


@dataclass(frozen=True)
class KeySummary:
    entry: Entry
    rolling: bool  # a rollout is in progress
    reads: int  # Gets counted since the daemon began counting
    last_read: Optional[_dt.datetime]  # None when never read


@dataclass(frozen=True)
class KeysPage:
    keys: List[KeySummary]
    next_page_token: str  # "" on the last page
    revision: int


@dataclass(frozen=True)
class PatchOperation:
    op: str
    path: str
    from_: str
    value: JSON


@dataclass(frozen=True)
class DiffResult:
    from_entry: Optional[Entry]
    to_entry: Optional[Entry]
    operations: List[PatchOperation]
    revision: int

    def as_json_patch(self) -> List[Dict[str, Any]]:
        """The operations as an RFC 6902 JSON Patch document."""
        out = []
        for o in self.operations:
            d: Dict[str, Any] = {"op": o.op, "path": o.path}
            if o.op in ("move", "copy"):
                d["from"] = o.from_
            if o.op in ("add", "replace", "test"):
                d["value"] = o.value
            out.append(d)
        return out


@dataclass(frozen=True)
class BlameLine:
    path: str
    value: JSON
    version: int
    revision: int
    time: Optional[_dt.datetime]
    author: str
    message: str


@dataclass(frozen=True)
class BlameResult:
    entry: Entry
    lines: List[BlameLine]
    revision: int
    # More leaves than one answer lists (10,000 lines, about 1 MiB): the first ones are in lines.
    truncated: bool = False


@dataclass(frozen=True)
class SnapshotResult:
    at_revision: int
    entries: List[Entry]
    revision: int

    def as_dict(self) -> Dict[str, JSON]:
        return {e.key: e.value for e in self.entries}


@dataclass(frozen=True)
class RollbackPrefixResult:
    at_revision: int  # the revision restored to
    entries: List[Entry]  # the records appended; empty when nothing had changed
    revision: int


class CtmError(Exception):
    """A failed call: code is a grpc.StatusCode, trailers the ctm-* trailing metadata."""

    def __init__(self, code: grpc.StatusCode, details: str, trailers: Optional[Dict[str, str]] = None):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailers = trailers or {}

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "CtmError":
        trailers: Dict[str, str] = {}
        try:
            for k, v in err.trailing_metadata() or ():
                trailers[k] = v if isinstance(v, str) else v.decode("utf-8", "replace")
        except Exception:  # pragma: no cover - not every RpcError carries trailers
            pass
        return cls(err.code(), err.details() or "", trailers)


# --- apply operations -------------------------------------------------------------------


def set_op(key: str, value: JSON, expected_version: Optional[int] = None, rollout: "PlanLike" = None) -> Dict[str, Any]:
    """A set for Client.apply (with rollout, the value rolls out as in Client.set)."""
    op: Dict[str, Any] = {"key": key, "value": value}
    if expected_version is not None:
        op["expected_version"] = expected_version
    if rollout is not None:
        op["rollout"] = rollout
    return {"set": op}


def delete_op(key: str, expected_version: Optional[int] = None) -> Dict[str, Any]:
    """A delete for Client.apply."""
    op: Dict[str, Any] = {"key": key}
    if expected_version is not None:
        op["expected_version"] = expected_version
    return {"delete": op}


def _apply_operation(op: Union[Mapping[str, Any], pb.ApplyOperation]) -> pb.ApplyOperation:
    if isinstance(op, pb.ApplyOperation):
        return op
    if len(op) != 1 or next(iter(op)) not in ("set", "delete"):
        raise ValueError(f'an operation is {{"set": {{...}}}} or {{"delete": {{...}}}}, got {op!r}')
    (kind, body), = op.items()
    if kind == "set":
        s = pb.SetOperation(key=body["key"], value=to_value(body.get("value")))
        if body.get("expected_version") is not None:
            s.expected_version = int(body["expected_version"])
        plan = _plan(body.get("rollout"))
        if plan is not None:
            s.rollout.CopyFrom(plan)
        return pb.ApplyOperation(set=s)
    d = pb.DeleteOperation(key=body["key"])
    if body.get("expected_version") is not None:
        d.expected_version = int(body["expected_version"])
    return pb.ApplyOperation(delete=d)


ContextLike = Union[str, Mapping[str, Any], rollout_pb2.EvaluationContext, None]
PlanLike = Union[Mapping[str, Any], rollout_pb2.RolloutPlan, None]


def _context(ctx: ContextLike) -> Optional[rollout_pb2.EvaluationContext]:
    if ctx is None:
        return None
    if isinstance(ctx, rollout_pb2.EvaluationContext):
        return ctx
    if isinstance(ctx, str):
        return rollout_pb2.EvaluationContext(unit_id=ctx)
    return json_format.ParseDict(dict(ctx), rollout_pb2.EvaluationContext())


def _plan(plan: PlanLike) -> Optional[rollout_pb2.RolloutPlan]:
    if plan is None:
        return None
    if isinstance(plan, rollout_pb2.RolloutPlan):
        return plan
    return json_format.ParseDict(dict(plan), rollout_pb2.RolloutPlan())


# --- the client -------------------------------------------------------------------------

# Reconnect quickly after a daemon restart. gRPC's defaults start at 1 s, grow by 1.6x up to
# 120 s, and re-resolve the name at most every 30 s: measured here, a channel with them took
# over 8 s to notice a daemon that was back after 2 s; with these, well under a second.
# (Not grpc.min_reconnect_backoff_ms: gRPC core uses it as the connect timeout, 20 s by
# default, and a small one fails connections to a busy server.)
_DEFAULT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.dns_min_time_between_resolutions_ms", 100),
)


def grpc_target(address: str) -> Tuple[str, List[tuple]]:
    """The gRPC target and channel options for one ``host:port`` or several, comma-separated.

    Several (the replicas of one store) are a static list that gRPC balances round-robin,
    skipping the ones that do not answer, so calls fail over; they must be IP addresses
    (``10.0.0.1:7411``, ``[fd00::1]:7411``). For host names, give one DNS name that resolves to
    every replica (``dns:///ctm.internal:7411``), balanced the same way.
    """
    parts = [p.strip() for p in address.split(",") if p.strip()]
    if not parts:
        raise ValueError("no address given")
    round_robin = [("grpc.lb_policy_name", "round_robin")]
    if len(parts) == 1:
        return parts[0], (round_robin if parts[0].startswith("dns:") else [])
    hosts = []
    for p in parts:
        m = re.fullmatch(r"\[([^\]]+)\]:(\d+)", p) or re.fullmatch(r"([^:]+):(\d+)", p)
        family = _ip_family(m.group(1)) if m else 0
        if not family:
            raise ValueError(f"{p}: several addresses must each be an IP address with its port (for host names, give one DNS name that resolves to every replica)")
        hosts.append((m.group(1), m.group(2), family))
    if len({h[2] for h in hosts}) > 1:
        raise ValueError(f"{address}: give IPv4 or IPv6 addresses, not both")
    if hosts[0][2] == 4:
        return "ipv4:" + ",".join(f"{h}:{port}" for h, port, _ in hosts), round_robin
    return "ipv6:" + ",".join(f"[{h}]:{port}" for h, port, _ in hosts), round_robin


def _ip_family(host: str) -> int:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return 0


class Client:
    """A ConfigService client to target ("host:port"), over plaintext unless TLS is asked for.

    timeout is the deadline of each unary call in seconds; metadata is sent with every call
    (e.g. [("x-request-id", "...")], or [("ctm-break-glass", "<reason>")] to write keys a
    protection policy covers without a change request, for a principal with the break_glass right).

    token: a bearer token ("ctm_<id>_<secret>") for a ctmd started with --auth on, sent as
    "authorization: Bearer <token>" metadata on every call, watch streams included. Surrounding
    whitespace is trimmed (a token read from a file keeps its newline); None or "" sends none,
    and a ctmd with --auth off ignores it. Over plaintext the token travels in clear: use TLS
    for anything beyond loopback.

    TLS (a ctmd started with --tls-cert/--tls-key): root_certificates, certificate_chain and
    private_key are PEM bytes, as for grpc.ssl_channel_credentials. The channel is TLS when
    root_certificates or certificate_chain is given, or with tls=True (the system's CAs);
    certificate_chain and private_key (both) present a client certificate (mTLS,
    --tls-client-ca). server_name checks ctmd's certificate against another name than the
    target's host.

    Pass channel= to bring your own (interceptors, other credentials); token still applies.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:7411",
        *,
        timeout: Optional[float] = 30.0,
        metadata: Sequence[tuple] = (),
        token: Optional[str] = None,
        root_certificates: Optional[bytes] = None,
        certificate_chain: Optional[bytes] = None,
        private_key: Optional[bytes] = None,
        tls: bool = False,
        server_name: Optional[str] = None,
        channel: Optional[grpc.Channel] = None,
        options: Sequence[tuple] = _DEFAULT_OPTIONS,
    ):
        if (certificate_chain is None) != (private_key is None):
            raise ValueError("certificate_chain and private_key go together")
        secure = tls or root_certificates is not None or certificate_chain is not None
        if channel is not None and (secure or server_name is not None):
            raise ValueError("give channel= or the TLS arguments, not both")
        if root_certificates is not None and b"-----BEGIN CERTIFICATE-----" not in root_certificates:
            raise ValueError("root_certificates holds no PEM certificate (pass the file's bytes, not its name)")
        if server_name is not None and not secure:
            raise ValueError("server_name needs TLS (root_certificates=, certificate_chain= or tls=True)")
        self.target = target
        self.timeout = timeout
        md = tuple(metadata)
        token = (token or "").strip()
        if token:
            if any(not ("\x21" <= ch <= "\x7e") for ch in token):
                raise ValueError("the token must be printable ASCII without spaces (ctm_<id>_<secret>)")
            md = tuple(kv for kv in md if kv[0].lower() != "authorization") + (("authorization", f"Bearer {token}"),)
        self.metadata = md
        self._owns_channel = channel is None
        if channel is None:
            target, balanced = grpc_target(target)
            opts = list(options) + balanced
            if server_name is not None:
                opts.append(("grpc.ssl_target_name_override", server_name))
            if secure:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=root_certificates, private_key=private_key, certificate_chain=certificate_chain
                )
                channel = grpc.secure_channel(target, creds, options=opts)
            else:
                channel = grpc.insecure_channel(target, options=opts)
        self.channel = channel
        self.stub = pb_grpc.ConfigServiceStub(self.channel)
        self._services: Dict[str, Any] = {}

    def _service(self, name: str) -> Any:
        s = self._services.get(name)
        if s is None:
            from ctm.services import SERVICES, ServiceClient

            module, service = SERVICES[name]
            s = self._services[name] = ServiceClient(self.channel, module, service, self.metadata, self.timeout, CtmError.from_rpc_error)
        return s

    @property
    def rollouts(self) -> Any:
        """RolloutService: status, explain, pause, resume, promote, abort, kill."""
        return self._service("rollouts")

    @property
    def validators(self) -> Any:
        """ValidatorService: set_validator, delete_validator, list_validators, validate."""
        return self._service("validators")

    @property
    def health_checks(self) -> Any:
        """HealthCheckService: set_health_check, delete_health_check, list_health_checks, report_metrics, get_health_history."""
        return self._service("health_checks")

    @property
    def access_log(self) -> Any:
        """AccessLogService: query_access_log, upload_access_log, summarize_access_log."""
        return self._service("access_log")

    @property
    def admin(self) -> Any:
        """AdminService: verify, get_verification, compact, get_retention, list_stale_keys."""
        return self._service("admin")

    @property
    def auth(self) -> Any:
        """AuthService: create_token, list_tokens, revoke_token, set_role, delete_role, list_roles, who_am_i, check_access."""
        return self._service("auth")

    @property
    def change_requests(self) -> "ChangeRequests":
        """ChangeRequestService, typed: create_change_request, submit_change_request, get_change_request,
        list_change_requests, edit_change_request, approve_change_request, reject_change_request,
        cancel_change_request, apply_change_request (ctm.change_requests)."""
        s = self._services.get("change_requests")
        if s is None:
            from ctm.change_requests import ChangeRequests

            s = self._services["change_requests"] = ChangeRequests(self)
        return s

    def close(self) -> None:
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        """One unary call, retried after UNAVAILABLE only where that cannot apply it twice (ctm.retry)."""
        path = getattr(method, "_method", b"")
        name = path.decode() if isinstance(path, bytes) else str(path)
        try:
            return call_with_retry(method, name, request, timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as err:
            raise CtmError.from_rpc_error(err) from None

    # Writes ---------------------------------------------------------------------------

    def set(
        self,
        key: str,
        value: JSON,
        *,
        author: str = "",
        message: str = "",
        expected_version: Optional[int] = None,
        rollout: PlanLike = None,
    ) -> Entry:
        """Write a new version of key; with rollout, value rolls out gradually."""
        req = pb.SetRequest(key=key, value=to_value(value), author=author, message=message)
        if expected_version is not None:
            req.expected_version = expected_version
        plan = _plan(rollout)
        if plan is not None:
            req.rollout.CopyFrom(plan)
        return Entry.from_pb(self._call(self.stub.Set, req).entry)

    def delete(self, key: str, *, author: str = "", message: str = "", expected_version: Optional[int] = None) -> Entry:
        """Append a tombstone; returns it."""
        req = pb.DeleteRequest(key=key, author=author, message=message)
        if expected_version is not None:
            req.expected_version = expected_version
        return Entry.from_pb(self._call(self.stub.Delete, req).entry)

    def rollback(
        self,
        key: str,
        to_version: Optional[int] = None,
        *,
        author: str = "",
        message: str = "",
        expected_version: Optional[int] = None,
    ) -> Entry:
        """Append a version with an earlier version's value (default: the one before)."""
        req = pb.RollbackRequest(key=key, author=author, message=message)
        if to_version is not None:
            req.to_version = to_version
        if expected_version is not None:
            req.expected_version = expected_version
        return Entry.from_pb(self._call(self.stub.Rollback, req).entry)

    def apply(self, operations: Iterable[Union[Mapping[str, Any], pb.ApplyOperation]], *, author: str = "", message: str = "") -> List[Entry]:
        """Several sets and deletes (set_op/delete_op), all or nothing, consecutive revisions."""
        req = pb.ApplyRequest(operations=[_apply_operation(o) for o in operations], author=author, message=message)
        return [Entry.from_pb(e) for e in self._call(self.stub.Apply, req).entries]

    def rollback_prefix(
        self,
        prefix: str,
        *,
        time: Optional[TimeLike] = None,
        revision: Optional[int] = None,
        author: str = "",
        message: str = "",
    ) -> RollbackPrefixResult:
        """Restore every key under prefix to its state at a time or revision, atomically."""
        if (time is None) == (revision is None):
            raise ValueError("give exactly one of time= or revision=")
        req = pb.RollbackPrefixRequest(prefix=prefix, author=author, message=message)
        if time is not None:
            req.time.CopyFrom(_timestamp(time))
        else:
            req.revision = revision  # type: ignore[assignment]
        r = self._call(self.stub.RollbackPrefix, req)
        return RollbackPrefixResult(r.revision, [Entry.from_pb(e) for e in r.entries], r.header.revision)

    # Reads ----------------------------------------------------------------------------

    def get(self, key: str, context: ContextLike = None) -> GetResult:
        """The current value of key, resolved for context (a unit id, or a dict such as
        {"unit_id": "user-42", "environment": "prod", "attributes": {"app_version": "3.1.0"}})."""
        req = pb.GetRequest(key=key)
        ctx = _context(context)
        if ctx is not None:
            req.context.CopyFrom(ctx)
        r = self._call(self.stub.Get, req)
        return GetResult(
            value=_opt_value(r, "value"),
            variant=r.variant,
            reason=_enum_name(rollout_pb2.Reason, r.reason, "REASON_"),
            entry=Entry.from_pb(r.entry),
            revision=r.header.revision,
        )

    def get_at(
        self,
        key: str,
        *,
        time: Optional[TimeLike] = None,
        revision: Optional[int] = None,
        context: ContextLike = None,
    ) -> GetAtResult:
        """What key was (for context) at a time or a revision."""
        if (time is None) == (revision is None):
            raise ValueError("give exactly one of time= or revision=")
        req = pb.GetAtRequest(key=key)
        if time is not None:
            req.time.CopyFrom(_timestamp(time))
        else:
            req.revision = revision  # type: ignore[assignment]
        ctx = _context(context)
        if ctx is not None:
            req.context.CopyFrom(ctx)
        r = self._call(self.stub.GetAt, req)
        return GetAtResult(
            value=_opt_value(r, "value"),
            variant=r.variant,
            reason=_enum_name(rollout_pb2.Reason, r.reason, "REASON_"),
            entry=Entry.from_pb(r.entry),
            at_revision=r.revision,
            revision=r.header.revision,
        )

    def history(self, key: str, *, limit: int = 0, page_token: str = "") -> HistoryPage:
        """One page of key's records, newest first (limit 0: the server's default of 100)."""
        r = self._call(self.stub.History, pb.HistoryRequest(key=key, limit=limit, page_token=page_token))
        return HistoryPage([Entry.from_pb(e) for e in r.entries], r.next_page_token, r.header.revision)

    def history_all(self, key: str, *, page_size: int = 1000) -> Iterator[Entry]:
        """Every record of key, newest first, following page tokens."""
        token = ""
        while True:
            page = self.history(key, limit=page_size, page_token=token)
            yield from page.entries
            if not page.next_page_token:
                return
            token = page.next_page_token

    def list_keys(self, prefix: str = "", *, page_size: int = 0, page_token: str = "") -> KeysPage:
        """One page of the live keys under prefix, in key order, with reads and whether each rolls out."""
        r = self._call(self.stub.ListKeys, pb.ListKeysRequest(prefix=prefix, page_size=page_size, page_token=page_token))
        keys = [
            KeySummary(Entry.from_pb(k.entry), k.rolling, k.reads, _time_of(k.last_read) if k.HasField("last_read") else None)
            for k in r.keys
        ]
        return KeysPage(keys, r.next_page_token, r.header.revision)

    def list_changes(
        self, *, prefix: str = "", author: str = "", kinds: Iterable[str] = (), limit: int = 0, page_token: str = ""
    ) -> HistoryPage:
        """One page of records across keys, newest first. kinds are names such as "set" or "auto_rollback".

        A page may be short (even empty) with a token that goes on: each call reads a bounded
        stretch of the log."""
        numbers = [record_pb2.RecordKind.Value("RECORD_KIND_" + k.upper()) for k in kinds]
        req = pb.ListChangesRequest(prefix=prefix, author=author, kinds=numbers, limit=limit, page_token=page_token)
        r = self._call(self.stub.ListChanges, req)
        return HistoryPage([Entry.from_pb(e) for e in r.entries], r.next_page_token, r.header.revision)

    def diff(self, key: str, from_version: int = 0, to_version: int = 0) -> DiffResult:
        """RFC 6902 operations between two versions (0, 0: the last change)."""
        r = self._call(self.stub.Diff, pb.DiffRequest(key=key, from_version=from_version, to_version=to_version))
        ops = [PatchOperation(o.op, o.path, getattr(o, "from"), _opt_value(o, "value")) for o in r.operations]
        return DiffResult(_entry(r, "from"), _entry(r, "to"), ops, r.header.revision)

    def blame(self, key: str, path: str = "") -> BlameResult:
        """Which version last changed each leaf of the current value (under the JSON Pointer path)."""
        r = self._call(self.stub.Blame, pb.BlameRequest(key=key, path=path))
        lines = [
            BlameLine(
                path=l.path,
                value=_opt_value(l, "value"),
                version=l.version,
                revision=l.revision,
                time=_time_of(l.time) if l.HasField("time") else None,
                author=l.author,
                message=l.message,
            )
            for l in r.lines
        ]
        return BlameResult(Entry.from_pb(r.entry), lines, r.header.revision, r.truncated)

    def snapshot(
        self, prefix: str = "", *, time: Optional[TimeLike] = None, revision: Optional[int] = None, page_size: int = 0
    ) -> SnapshotResult:
        """Every live key under prefix, now or at a time or revision: every page, all read at
        the first page's revision."""
        if time is not None and revision is not None:
            raise ValueError("give at most one of time= or revision=")
        req = pb.SnapshotRequest(prefix=prefix, page_size=page_size)
        if time is not None:
            req.time.CopyFrom(_timestamp(time))
        elif revision is not None:
            req.revision = revision
        r = self._call(self.stub.Snapshot, req)
        entries = [Entry.from_pb(e) for e in r.entries]
        while r.next_page_token:
            r = self._call(self.stub.Snapshot, pb.SnapshotRequest(prefix=prefix, page_size=page_size, page_token=r.next_page_token))
            entries.extend(Entry.from_pb(e) for e in r.entries)
        return SnapshotResult(r.revision, entries, r.header.revision)

    # Watch ----------------------------------------------------------------------------

    def watch(
        self,
        key: str,
        prefix: bool = False,
        start_revision: int = 0,
        *,
        retry_codes: Sequence[grpc.StatusCode] = WATCH_RESUME_CODES,
        initial_backoff: float = WATCH_INITIAL_BACKOFF,
        max_backoff: float = WATCH_MAX_BACKOFF,
        max_retry_time: Optional[float] = None,
        on_retry: Optional[Callable[[int, Optional[grpc.StatusCode], float], None]] = None,
    ) -> Iterator[Entry]:
        """Yield every change of key (or of every key under it, with prefix) in revision order;
        watch_entries says how it resumes. The entries are Entry dataclasses."""
        for e in self.watch_entries(
            key, prefix, start_revision, retry_codes=retry_codes, initial_backoff=initial_backoff,
            max_backoff=max_backoff, max_retry_time=max_retry_time, on_retry=on_retry,
        ):
            yield Entry.from_pb(e)

    def watch_entries(
        self,
        key: str,
        prefix: bool = False,
        start_revision: int = 0,
        *,
        retry_codes: Sequence[grpc.StatusCode] = WATCH_RESUME_CODES,
        initial_backoff: float = WATCH_INITIAL_BACKOFF,
        max_backoff: float = WATCH_MAX_BACKOFF,
        max_retry_time: Optional[float] = None,
        on_retry: Optional[Callable[[int, Optional[grpc.StatusCode], float], None]] = None,
        on_connect: Optional[Callable[[int], None]] = None,
        stop: Optional[threading.Event] = None,
        on_call: Optional[Callable[[Any], None]] = None,
    ) -> Iterator[record_pb2.Entry]:
        """Yield every change of key (or of every key under it, with prefix) in revision order.

        start_revision is the first revision to send; 0 means "from now on". The stream
        resumes by itself when it breaks with one of retry_codes (by default the rule every
        ctm client follows: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
        ABORTED, INTERNAL and UNKNOWN) or ends: it reconnects after a jittered exponential
        backoff (initial_backoff doubling up to max_backoff, each delay in [half, all] of it) from the last
        revision it yielded + 1, so nothing is lost and nothing is delivered twice. Progress
        heartbeats move the resume point too. max_retry_time bounds how long it keeps
        failing without receiving anything before the last error is raised as CtmError
        (None: forever). on_retry(next_revision, code, delay) is called before each
        reconnect. Closing the generator (break, .close()) cancels the stream.

        The entries are protobuf Entry messages (what ctm.evaluate takes). on_connect(head)
        is told each time a stream is established; another thread stops the watch by setting
        stop and cancelling the call that on_call handed it.
        """
        created = pb.WatchStatus.Value("WATCH_STATUS_CREATED")
        events = pb.WatchStatus.Value("WATCH_STATUS_EVENTS")
        progress = pb.WatchStatus.Value("WATCH_STATUS_PROGRESS")
        next_rev = start_revision  # 0 until the first response tells us where "now" is
        backoff = initial_backoff
        failing_since: Optional[float] = None
        while True:
            code: Optional[grpc.StatusCode] = None
            last_error: Optional[grpc.RpcError] = None
            if stop is not None and stop.is_set():
                return
            call = self.stub.Watch(pb.WatchRequest(key=key, prefix=prefix, start_revision=next_rev), metadata=self.metadata)
            if on_call is not None:
                on_call(call)
            try:
                for resp in call:
                    failing_since = None
                    backoff = initial_backoff
                    if resp.status == created:
                        if next_rev == 0:
                            # "From now on" starts right after the head this response reports.
                            next_rev = resp.header.revision + 1
                        if on_connect is not None:
                            on_connect(resp.header.revision)
                    elif resp.status == events:
                        for e in resp.events:
                            if e.revision < next_rev:
                                continue  # never deliver a revision twice
                            next_rev = e.revision + 1
                            yield e
                    elif resp.status == progress and next_rev != 0:
                        # Everything up to header.revision has been delivered.
                        next_rev = max(next_rev, resp.header.revision + 1)
            except grpc.RpcError as err:
                if stop is not None and stop.is_set():
                    return
                code = err.code()
                if code not in retry_codes:
                    raise CtmError.from_rpc_error(err) from None
                last_error = err
            finally:
                call.cancel()
            now = _time.monotonic()
            if failing_since is None:
                failing_since = now
            elif max_retry_time is not None and now - failing_since > max_retry_time:
                if last_error is not None:
                    raise CtmError.from_rpc_error(last_error)
                raise CtmError(grpc.StatusCode.UNAVAILABLE, "watch kept ending without events")
            delay = backoff * (0.5 + random.random() / 2)
            if on_retry is not None:
                on_retry(next_rev, code, delay)
            if stop is not None:
                if stop.wait(delay):
                    return
            else:
                _time.sleep(delay)
            backoff = min(backoff * 2, max_backoff)
