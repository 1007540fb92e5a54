"""Which calls may be retried, and how: the rule every ctm client follows (the TypeScript SDK's
retry.ts, the Go client's RetryInterceptor).

A call that fails with UNAVAILABLE is tried again, up to RETRY_ATTEMPTS attempts in all and
within its deadline, after min(RETRY_MAX_BACKOFF, RETRY_INITIAL_BACKOFF * 2^attempt) seconds of
which half is random, when retrying cannot apply it twice:
  - reads, always;
  - a write that carries expected_version (Set, Delete, Rollback, the rollout controls,
    SetValidator, SetHealthCheck), and Apply when every operation carries one: a retry of a
    write that did land fails with ABORTED instead of writing twice;
  - never RollbackPrefix, DeleteValidator, DeleteHealthCheck, ReportMetrics (the daemon adds
    the counts up), UploadAccessLog, or the writes of ChangeRequestService (none has a version
    guard: a retried CreateChangeRequest would propose the change twice); its GetChangeRequest
    and ListChangeRequests are reads.
UNAVAILABLE does not say whether the daemon committed a write before the connection broke,
hence the rule.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional

import grpc

RETRY_ATTEMPTS = 5
RETRY_INITIAL_BACKOFF = 0.1
RETRY_MAX_BACKOFF = 2.0

# Methods by their gRPC path's last two parts ("ConfigService/Get").
READS = frozenset(
    {
        "ConfigService/Get", "ConfigService/GetAt", "ConfigService/History", "ConfigService/Diff",
        "ConfigService/Blame", "ConfigService/Snapshot",
        "RolloutService/Status", "RolloutService/Explain",
        "ValidatorService/ListValidators", "ValidatorService/Validate",
        "HealthCheckService/ListHealthChecks", "AccessLogService/QueryAccessLog",
        "ConfigService/ListKeys", "ConfigService/ListChanges",
        "AccessLogService/SummarizeAccessLog", "HealthCheckService/GetHealthHistory",
        "AdminService/GetVerification", "AdminService/GetRetention", "AdminService/ListStaleKeys",
        "AuthService/ListTokens", "AuthService/ListRoles", "AuthService/WhoAmI", "AuthService/CheckAccess",
        "ChangeRequestService/GetChangeRequest", "ChangeRequestService/ListChangeRequests",
    }
)
NEVER = frozenset(
    {
        "ConfigService/RollbackPrefix", "ValidatorService/DeleteValidator", "HealthCheckService/DeleteHealthCheck",
        "HealthCheckService/ReportMetrics", "AccessLogService/UploadAccessLog",
        "ChangeRequestService/CreateChangeRequest", "ChangeRequestService/SubmitChangeRequest", "ChangeRequestService/EditChangeRequest",
        "ChangeRequestService/ApproveChangeRequest", "ChangeRequestService/RejectChangeRequest",
        "ChangeRequestService/CancelChangeRequest", "ChangeRequestService/ApplyChangeRequest",
    }
)


def _guarded(msg: Any) -> bool:
    try:
        return msg.HasField("expected_version")
    except ValueError:  # the message has no such field
        return False


def is_retry_safe(method: str, request: Any) -> bool:
    """Whether retrying method ("ConfigService/Set", or its full path) after UNAVAILABLE cannot apply it twice."""
    name = "/".join(method.strip("/").split("/")[-2:]).split(".")[-1]
    if name in READS:
        return True
    if name in NEVER:
        return False
    if name == "ConfigService/Apply":
        ops = list(request.operations)
        return bool(ops) and all(_guarded(getattr(op, op.WhichOneof("operation"))) for op in ops if op.WhichOneof("operation"))
    return _guarded(request)


def backoff(attempt: int) -> float:
    base = min(RETRY_MAX_BACKOFF, RETRY_INITIAL_BACKOFF * 2**attempt)
    return base * (0.5 + random.random() / 2)


def call_with_retry(call: Callable[..., Any], method: str, request: Any, *, timeout: Optional[float], metadata: Any) -> Any:
    """One unary call under the rule above; the deadline (timeout) covers every attempt."""
    deadline = None if timeout is None else time.monotonic() + timeout
    retry = is_retry_safe(method, request)
    attempt = 0
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            return call(request, timeout=left, metadata=metadata)
        except grpc.RpcError as err:
            attempt += 1
            delay = backoff(attempt - 1)
            if not (retry and err.code() == grpc.StatusCode.UNAVAILABLE and attempt < RETRY_ATTEMPTS and (deadline is None or time.monotonic() + delay < deadline)):
                raise
            time.sleep(delay)
