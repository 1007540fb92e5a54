/**
 * Exponential backoff with jitter, and the rule for which calls may be retried.
 *
 * Retry rule (only on UNAVAILABLE, only while the call's deadline allows):
 *  - reads are idempotent and always retried: Get, GetAt, History, Diff, Blame, Snapshot,
 *    Rollout.Status, Rollout.Explain (and Watch, which resumes from the last revision + 1);
 *  - a write is retried only when it carries `expectedVersion`: Set, Delete, Rollback and
 *    the rollout controls (Pause, Resume, Promote, Abort, Kill). Apply only when every one of
 *    its operations carries `expectedVersion`. RollbackPrefix never (it has no version guard).
 *  - the safety services: ListValidators, Validate, ListHealthChecks and QueryAccessLog are
 *    reads (always); SetValidator and SetHealthCheck are writes (only with `expectedVersion`);
 *    DeleteValidator and DeleteHealthCheck (no version guard), ReportMetrics (the daemon adds
 *    the counts up: a retry would count them twice) and UploadAccessLog (would log the
 *    records twice) never.
 *  - ChangeRequestService: GetChangeRequest and ListChangeRequests are reads (always); its
 *    writes (Create, Submit, Edit, Approve, Reject, Cancel, Apply) carry no version guard:
 *    never (a retried Create would propose the change twice).
 *
 * Why: UNAVAILABLE does not say whether the daemon committed the write before the connection
 * broke. A blind retry could append a second version (and a second Rollback would go back
 * one version further). With compare-and-set, a retry of a write that did land fails with
 * ABORTED instead of writing twice; the SDK then sets `CtmError.maybeCommitted`.
 */
export interface BackoffPolicy {
  /** First delay. */
  initialBackoffMs: number;
  /** Cap on a delay. */
  maxBackoffMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** 0..1: the share of each delay that is random (0.5: a delay is in [base/2, base]). */
  jitter: number;
}

export interface RetryPolicy extends BackoffPolicy {
  /** Attempts per call, the first included (1 disables retries). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 2_000, multiplier: 2, jitter: 0.5 };
export const DEFAULT_WATCH_BACKOFF: BackoffPolicy = { initialBackoffMs: 100, maxBackoffMs: 5_000, multiplier: 2, jitter: 0.5 };

/** The delay before retry number `attempt` (0-based): min(max, initial * multiplier^attempt), jittered. */
export function backoffDelay(p: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(p.maxBackoffMs, p.initialBackoffMs * Math.pow(p.multiplier, attempt));
  const j = Math.min(1, Math.max(0, p.jitter));
  return base * (1 - j) + base * j * random();
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The RPCs that only read. */
export const READ_METHODS: ReadonlySet<string> = new Set([
  "Get",
  "GetAt",
  "History",
  "Diff",
  "Blame",
  "Snapshot",
  "Rollout.Status",
  "Rollout.Explain",
  "Validator.List",
  "Validator.Validate",
  "HealthCheck.List",
  "AccessLog.Query",
  "AccessLog.Summarize",
  "HealthCheck.GetHistory",
  "ListKeys",
  "ListChanges",
  "ChangeRequest.Get",
  "ChangeRequest.List",
]);

/** The RPCs that are never retried: writes with no version guard, and non-idempotent reports. */
export const NEVER_RETRIED: ReadonlySet<string> = new Set([
  "RollbackPrefix",
  "Validator.Delete",
  "HealthCheck.Delete",
  "HealthCheck.ReportMetrics",
  "AccessLog.Upload",
  "ChangeRequest.Create",
  "ChangeRequest.Submit",
  "ChangeRequest.Edit",
  "ChangeRequest.Approve",
  "ChangeRequest.Reject",
  "ChangeRequest.Cancel",
  "ChangeRequest.Apply",
]);

type Guarded = { expectedVersion?: number | undefined };
type ApplyLike = { operations?: { operation?: { value?: Guarded } | undefined }[] };

/** Whether retrying `method` with `request` after UNAVAILABLE cannot apply it twice (see the rule above). */
export function isRetrySafe(method: string, request: unknown): boolean {
  if (READ_METHODS.has(method)) return true;
  if (NEVER_RETRIED.has(method)) return false;
  if (method === "Apply") {
    const ops = (request as ApplyLike).operations ?? [];
    return ops.length > 0 && ops.every((op) => op.operation?.value?.expectedVersion !== undefined);
  }
  return (request as Guarded).expectedVersion !== undefined;
}
