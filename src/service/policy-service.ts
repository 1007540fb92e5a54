import { CHANGE_REQUEST_CAUSE, CHANGE_REQUEST_PREFIX } from "../domain/change/change-request.js";
import { failedPrecondition } from "../domain/errors.js";
import { passage, POLICY_PREFIX, protectionFromJson, type ProtectionPolicy } from "../domain/change/protection-policy.js";
import type { JsonValue } from "@ctm/core/json";
import type { Draft, LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";
import type { Metrics } from "./metrics.js";
import type { ErrorLog } from "./validator-service.js";
import type { WriteGuard } from "./write-guard.js";

/**
 * Protection policies are keys under `_ctm/policies/`; this keeps them in memory (from the log,
 * at start and on every commit), checks their documents on every write path, and decides each
 * draft a commit makes (ProtectedStore calls `pass`).
 */
export class PolicyService implements WriteGuard {
  private readonly policies = new Map<string, ProtectionPolicy>();
  private sorted: ProtectionPolicy[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    store: LogStore,
    private readonly metrics?: Metrics,
    private readonly logError?: ErrorLog,
    /** The structured log's warn call, for every write that broke the glass. */
    private readonly logWarn?: ErrorLog,
  ) {
    for (const r of store.latestUnder(POLICY_PREFIX)) this.load(r);
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) {
        if (r.key.startsWith(POLICY_PREFIX)) this.load(r);
        if (r.breakGlass) this.brokeGlass(r);
      }
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** A raw Set, Apply or Rollback of a policy gets the same checks. */
  checkWrite(key: string, value: JsonValue, _rollout: unknown, field: string): void {
    if (key.startsWith(POLICY_PREFIX)) protectionFromJson(key.slice(POLICY_PREFIX.length), value, `${field}value`);
  }

  checkRestore(key: string, value: JsonValue): void {
    this.checkWrite(key, value, undefined, "");
  }

  get active(): readonly ProtectionPolicy[] {
    return this.sorted;
  }

  /** The draft to write past the policies, marked when it broke the glass; throws FAILED_PRECONDITION naming the policy. */
  readonly pass = (draft: Draft, breakGlass: boolean): Draft => {
    // Every state change of a request is ChangeRequestService's: no Delete or Rollback rewrites one.
    if (draft.key.startsWith(CHANGE_REQUEST_PREFIX) && draft.cause !== CHANGE_REQUEST_CAUSE) throw failedPrecondition(`"${draft.key}" is written by ChangeRequestService only`);
    // Most stores protect nothing: the hot path pays one length check.
    const p = this.sorted.length === 0 ? ({ kind: "free" } as const) : passage(draft, this.sorted, breakGlass);
    if (p.kind === "refused") throw p.error;
    if (p.kind === "break_glass") return draft.breakGlass === true ? draft : { ...draft, breakGlass: true };
    if (draft.breakGlass === undefined) return draft;
    // Asked for, not needed: the record is not marked.
    const { breakGlass: _asked, ...plain } = draft;
    return plain;
  };

  private load(r: LogRecord): void {
    const name = r.key.slice(POLICY_PREFIX.length);
    if (r.deleted || r.value === undefined) this.policies.delete(name);
    else {
      try {
        this.policies.set(name, protectionFromJson(name, r.value));
      } catch (e) {
        // Every write path checks the document; one that fails today came from elsewhere.
        this.policies.delete(name);
        this.logError?.({ policy: name, version: r.version, err: e }, "a protection policy in the log cannot be read; it protects nothing until it is fixed");
      }
    }
    this.sorted = [...this.policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private brokeGlass(r: LogRecord): void {
    const covering = this.sorted.filter((p) => p.matches(r.key)).map((p) => p.name);
    for (const policy of covering.length > 0 ? covering : ["(removed)"]) this.metrics?.breakGlassWrites.inc({ policy });
    this.logWarn?.({ key: r.key, revision: r.revision, principal: r.principal, author: r.author, kind: r.kind, policies: covering }, "a protected key was written by breaking the glass");
  }
}
