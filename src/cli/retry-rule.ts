import { status } from "@grpc/grpc-js";

/**
 * Which unary calls the CLI retries after UNAVAILABLE: the rule every ctm client follows (the
 * TypeScript SDK's retry.ts, Python's ctm.retry, Go's IsRetrySafe), by gRPC path. Reads always;
 * a write only with expected_version (Apply when every operation has one), since a retry of a
 * write that did land then fails with ABORTED instead of writing twice; never the writes that
 * have no such guard or that add up (RollbackPrefix, the deletes of validators and health checks,
 * ReportMetrics, UploadAccessLog, and every write of ChangeRequestService: none carries a version,
 * so a retried CreateChangeRequest would propose the change twice, and a retried Approve or Apply
 * that had landed would be refused as if it had not). test/interop/resume-rule.test.ts holds them
 * to one answer.
 */
const READS = new Set([
  "ConfigService/Get", "ConfigService/GetAt", "ConfigService/History", "ConfigService/Diff", "ConfigService/Blame", "ConfigService/Snapshot",
  "ConfigService/ListKeys", "ConfigService/ListChanges", "AccessLogService/SummarizeAccessLog", "HealthCheckService/GetHealthHistory",
  "RolloutService/Status", "RolloutService/Explain", "ValidatorService/ListValidators", "ValidatorService/Validate",
  "HealthCheckService/ListHealthChecks", "AccessLogService/QueryAccessLog",
  "AdminService/GetVerification", "AdminService/GetRetention", "AdminService/ListStaleKeys",
  "AuthService/ListTokens", "AuthService/ListRoles", "AuthService/WhoAmI", "AuthService/CheckAccess",
  "ChangeRequestService/GetChangeRequest", "ChangeRequestService/ListChangeRequests",
]);
const NEVER = new Set([
  "ConfigService/RollbackPrefix", "ValidatorService/DeleteValidator", "HealthCheckService/DeleteHealthCheck",
  "HealthCheckService/ReportMetrics", "AccessLogService/UploadAccessLog",
  "ChangeRequestService/CreateChangeRequest", "ChangeRequestService/SubmitChangeRequest", "ChangeRequestService/EditChangeRequest",
  "ChangeRequestService/ApproveChangeRequest", "ChangeRequestService/RejectChangeRequest",
  "ChangeRequestService/CancelChangeRequest", "ChangeRequestService/ApplyChangeRequest",
]);

export const RETRY = { attempts: 5, initialBackoffMs: 100, maxBackoffMs: 2_000, multiplier: 2, jitter: 0.5 } as const;

type Guarded = { expectedVersion?: number | undefined };
type ApplyLike = { operations?: { operation?: { value?: Guarded } | undefined }[] };

/** Whether retrying the call at `path` ("/ctm.v1.ConfigService/Set") after UNAVAILABLE cannot apply it twice. */
export function isRetrySafe(path: string, request: unknown): boolean {
  const [service = "", method = ""] = path.replace(/^\//, "").split("/");
  const name = `${service.slice(service.lastIndexOf(".") + 1)}/${method}`;
  if (READS.has(name)) return true;
  if (NEVER.has(name)) return false;
  if (name === "ConfigService/Apply") {
    const ops = (request as ApplyLike).operations ?? [];
    return ops.length > 0 && ops.every((op) => op.operation?.value?.expectedVersion !== undefined);
  }
  return (request as Guarded).expectedVersion !== undefined;
}

/** Whether to try again after `code` on attempt `attempt` (1-based), and after how long. */
export function retryDelay(path: string, request: unknown, code: number, attempt: number): number | undefined {
  if (code !== status.UNAVAILABLE || attempt >= RETRY.attempts || !isRetrySafe(path, request)) return undefined;
  const base = Math.min(RETRY.maxBackoffMs, RETRY.initialBackoffMs * RETRY.multiplier ** (attempt - 1));
  return base * (1 - RETRY.jitter) + base * RETRY.jitter * Math.random();
}
