import { randomBytes } from "node:crypto";
import {
  applied,
  approved,
  cancelled,
  CHANGE_REQUEST_CAUSE,
  CHANGE_REQUEST_PREFIX,
  changeRequestFromJson,
  changeRequestToJson,
  checkApplicable,
  edited,
  failed,
  proposed,
  rejected,
  reviewRule,
  scheduled,
  submitted,
  type ChangeOp,
  type ChangeRequest,
  type ChangeState,
  type ReviewRule,
} from "../domain/change/change-request.js";
import type { Clock } from "../domain/clock.js";
import { diffValues, type PatchOp } from "../domain/diff.js";
import { CtmError, invalidArgument, notFound } from "../domain/errors.js";
import { checkKey, checkPrefix, checkText, checkValue, LIMITS } from "../domain/limits.js";
import { isLive, type Draft, type LogRecord } from "@ctm/core/record";
import type { LogStore } from "../storage/log-store.js";
import { currentPrincipal } from "./acting-principal.js";
import { prefixed, type ConfigService } from "./config-service.js";
import { buildRollout } from "../domain/rollout/build-rollout.js";
import type { PolicyService } from "./policy-service.js";

/** A request as its newest document says, with that document's record. */
export interface StoredChange {
  readonly id: string;
  readonly cr: ChangeRequest;
  readonly record: LogRecord;
  readonly rule: ReviewRule;
}

/** What a request would change in one key. */
export interface KeyChangeView {
  readonly key: string;
  readonly live: LogRecord | undefined;
  readonly ops: PatchOp[];
  readonly deleted: boolean;
}

export interface ChangeMeta {
  /** Who, with auth off; with auth on the caller's principal is. */
  author?: string;
  comment?: string;
}

const ID = /^[0-9a-f]{12}$/;
/** Who applies a scheduled request, as the rollout scheduler writes milestones. */
const SCHEDULER = "ctm-scheduler";

/** Who acts: the principal with auth on, else the author named. */
interface Caller {
  readonly who: string;
  readonly principal?: string;
}
const MAX_OPS = 1000;

/**
 * Change requests: proposals of operations on keys, reviewed and applied as one batch. Each
 * request is a document under `_ctm/change-requests/<id>` that only this service writes (the
 * protection gate refuses every other writer), one version per state change, so History shows
 * the whole review and a Watch on the prefix follows it. The rules are the domain's
 * (change-request.ts); the policies that cover a request's keys decide its review.
 */
export class ChangeRequestService {
  constructor(
    private readonly store: LogStore,
    private readonly config: ConfigService,
    private readonly policies: PolicyService,
    private readonly clock: Clock,
    /** The roles a principal holds; undefined with auth off (no roles to check). */
    private readonly rolesOf?: (principal: string) => readonly string[],
  ) {}

  /** The keys request `id` touches, for the call chain's authorization; [] when there is none. */
  keysOf(id: string): string[] {
    return changeRequestKeys(this.store)(id);
  }

  async create(req: { title: string; description: string; operations: readonly ChangeOp[]; baseRevision: number; draft?: boolean } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const operations = checkOps(req.operations, "operations", (k) => this.store.latest(k), this.clock.now());
    const title = checkTitle(req.title, "title");
    const description = checkText(req.description, "description", 16_384);
    const baseRevision = this.checkBase(req.baseRevision, "base_revision");
    let id = newId();
    while (this.store.latest(CHANGE_REQUEST_PREFIX + id)) id = newId();
    const cr = proposed({ title, description, author: who.who, operations, baseRevision }, req.draft === true);
    return this.write(id, undefined, cr, who, `${cr.state === "draft" ? "drafted" : "proposed"}: ${title}`);
  }

  submit(req: { id: string } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const cur = this.get(req.id);
    return this.write(cur.id, cur.record, submitted(cur.cr, who.who), who, "submitted for review");
  }

  get(id: string): StoredChange {
    const key = CHANGE_REQUEST_PREFIX + checkId(id);
    const record = this.store.latest(key);
    if (!record || !isLive(record)) throw notFound(`change request ${id} does not exist`);
    const cr = changeRequestFromJson(record.value);
    return { id, cr, record, rule: reviewRule(cr.operations, this.policies.active) };
  }

  /** Per key, from its live value to what the request proposes. */
  changes(cr: ChangeRequest): KeyChangeView[] {
    const last = new Map<string, ChangeOp>();
    for (const op of cr.operations) last.set(op.key, op);
    return [...last.values()].map((op) => {
      const live = this.store.latest(op.key);
      const now = isLive(live) ? live.value : undefined;
      return { key: op.key, live: isLive(live) ? live : undefined, ops: op.type === "set" ? diffValues(now, op.value) : [], deleted: op.type === "delete" };
    });
  }

  /** Newest change first; only requests whose every key is under `prefix`. */
  list(state: ChangeState | undefined, prefix: string): StoredChange[] {
    checkPrefix(prefix, "prefix");
    const out: StoredChange[] = [];
    for (const record of this.store.latestUnder(CHANGE_REQUEST_PREFIX)) {
      if (!isLive(record)) continue;
      // The scheduler asks every second for the scheduled ones: the others are not checked and parsed.
      const v = record.value;
      if (state !== undefined && (typeof v !== "object" || v === null || (v as { state?: unknown }).state !== state)) continue;
      let cr: ChangeRequest;
      try {
        cr = changeRequestFromJson(record.value);
      } catch {
        continue;
      }
      if (!cr.operations.every((op) => op.key.startsWith(prefix))) continue;
      out.push({ id: record.key.slice(CHANGE_REQUEST_PREFIX.length), cr, record, rule: reviewRule(cr.operations, this.policies.active) });
    }
    return out.sort((a, b) => b.record.revision - a.record.revision);
  }

  edit(req: { id: string; title?: string; description?: string; operations?: readonly ChangeOp[]; baseRevision: number } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const cur = this.get(req.id);
    const change = {
      ...(req.title ? { title: checkTitle(req.title, "title") } : {}),
      ...(req.description ? { description: checkText(req.description, "description", 16_384) } : {}),
      ...(req.operations && req.operations.length > 0 ? { operations: checkOps(req.operations, "operations", (k) => this.store.latest(k), this.clock.now()) } : {}),
      baseRevision: this.checkBase(req.baseRevision, "base_revision"),
    };
    const next = edited(cur.cr, who.who, change);
    return this.write(cur.id, cur.record, next, who, `edited (base revision ${next.baseRevision}); approvals reset`);
  }

  approve(req: { id: string } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const comment = checkText(req.comment ?? "", "comment", 4096);
    const cur = this.get(req.id);
    const next = approved(cur.cr, cur.rule, { principal: who.who, comment, time: this.clock.now() }, this.rolesOf);
    return this.write(cur.id, cur.record, next, who, `approved by ${who.who} (${next.approvals.length} of ${cur.rule.approvals})${comment ? `: ${comment}` : ""}`);
  }

  reject(req: { id: string } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const comment = checkText(req.comment ?? "", "comment", 4096);
    const cur = this.get(req.id);
    const next = rejected(cur.cr, { principal: who.who, comment, time: this.clock.now() });
    return this.write(cur.id, cur.record, next, who, `rejected by ${who.who}${comment ? `: ${comment}` : ""}`);
  }

  cancel(req: { id: string } & ChangeMeta): Promise<StoredChange> {
    const who = this.who(req);
    const comment = checkText(req.comment ?? "", "comment", 4096);
    const cur = this.get(req.id);
    return this.write(cur.id, cur.record, cancelled(cur.cr, who.who), who, `cancelled${comment ? `: ${comment}` : ""}`);
  }

  /**
   * Writes an approved request's operations and its applied document in one batch, guarded by
   * its base revision. A key changed since fails it with ABORTED, nothing of it written; the
   * request is then marked failed with the conflict, for its author to rebase.
   */
  async apply(req: { id: string; at?: number } & ChangeMeta): Promise<{ change: StoredChange; records: LogRecord[] }> {
    const who = this.who(req);
    const cur = this.get(req.id);
    if (req.at !== undefined && req.at > this.clock.now()) {
      const at = new Date(req.at).toISOString();
      return { change: await this.write(cur.id, cur.record, scheduled(cur.cr, req.at), who, `scheduled by ${who.who} for ${at}`), records: [] };
    }
    return this.applyAs(cur, who);
  }

  /**
   * Applies the scheduled requests that fell due, each as the scheduler. Run by the scheduler on
   * the leader only; each apply is guarded by the version of the request it read, so it is
   * applied once, also when a restart finds it due. One that conflicts is marked failed.
   */
  async applyDue(): Promise<{ id: string; records?: LogRecord[]; error?: unknown }[]> {
    const now = this.clock.now();
    const out: { id: string; records?: LogRecord[]; error?: unknown }[] = [];
    for (const s of this.list("scheduled", "")) {
      if ((s.cr.scheduledAt ?? Infinity) > now) continue;
      try {
        out.push({ id: s.id, records: (await this.applyAs(s, { who: SCHEDULER, principal: SCHEDULER })).records });
      } catch (error) {
        out.push({ id: s.id, error });
      }
    }
    return out.reverse();
  }

  private async applyAs(cur: StoredChange, who: Caller): Promise<{ change: StoredChange; records: LogRecord[] }> {
    const key = CHANGE_REQUEST_PREFIX + cur.id;
    const { cr } = cur;
    const done = applied(cr);
    const approvers = cr.approvals.map((a) => a.principal).join(", ");
    const appliedDoc = this.draft(key, done, who, `applied by ${who.who}`);
    try {
      const records = await this.config.applyChange(
        cr.operations,
        { author: cr.author, message: `change request ${cur.id} "${cr.title}", approved by ${approvers}`, changeRequest: cur.id, ...(who.principal === undefined ? {} : { principal: who.principal }) },
        (view) => {
          if (view.head(key)?.revision !== cur.record.revision) throw new CtmError("conflict", `change request ${cur.id} changed meanwhile; retry`);
          checkApplicable(cr, (k) => view.head(k));
        },
        () => [appliedDoc],
      );
      const record = records[records.length - 1]!;
      return { change: { ...cur, cr: done, record }, records: records.slice(0, -1) };
    } catch (e) {
      if (!(e instanceof CtmError) || e.code !== "conflict" || e.message.startsWith(`change request ${cur.id} changed`)) throw e;
      // The conflict stays on the request: its author sees why, and rebases by editing it.
      await this.write(cur.id, cur.record, failed(cr, e.message), who, `apply failed: ${e.message}`).catch(() => undefined);
      throw e;
    }
  }

  /** The principal with auth on; the author the caller named with auth off. Read before any await. */
  private who(meta: ChangeMeta): Caller {
    const principal = currentPrincipal();
    return { who: principal ?? checkText(meta.author || "anonymous", "author", LIMITS.authorChars), ...(principal === undefined ? {} : { principal }) };
  }

  private checkBase(base: number, field: string): number {
    if (!Number.isSafeInteger(base) || base < 0) throw invalidArgument(field, "must be a revision");
    if (base > this.store.headRevision) throw invalidArgument(field, `is ahead of the head revision ${this.store.headRevision}`);
    return base === 0 ? this.store.headRevision : base;
  }

  private draft(key: string, cr: ChangeRequest, by: Caller, message: string): Draft {
    return { key, value: changeRequestToJson(cr), deleted: false, author: by.who, message, kind: "set", cause: CHANGE_REQUEST_CAUSE, ...(by.principal === undefined ? {} : { principal: by.principal }) };
  }

  /** One state change: a new version of the document, on the version it was decided from. */
  private async write(id: string, from: LogRecord | undefined, cr: ChangeRequest, who: Caller, message: string): Promise<StoredChange> {
    const key = CHANGE_REQUEST_PREFIX + id;
    const draft = this.draft(key, cr, who, message);
    const [record] = await this.store.commit((view) => {
      if (view.head(key)?.revision !== from?.revision) throw new CtmError("conflict", `change request ${id} changed meanwhile; retry`);
      return [draft];
    });
    return { id, cr, record: record!, rule: reviewRule(cr.operations, this.policies.active) };
  }
}

/** The keys a request touches, read from its document (a read worker's follower has it too); [] when there is none. */
export const changeRequestKeys =
  (store: Pick<LogStore, "latest">) =>
  (id: string): string[] => {
    const r = ID.test(id) ? store.latest(CHANGE_REQUEST_PREFIX + id) : undefined;
    if (!r || !isLive(r)) return [];
    try {
      return [...new Set(changeRequestFromJson(r.value).operations.map((op) => op.key))];
    } catch {
      return [];
    }
  };

const newId = (): string => randomBytes(6).toString("hex");

function checkId(id: string): string {
  if (!ID.test(id)) throw invalidArgument("id", "must be a change request id: 12 hexadecimal digits");
  return id;
}

function checkTitle(title: string, field: string): string {
  const t = checkText(title, field, 200);
  if (t.trim() === "") throw invalidArgument(field, "is required");
  return t;
}

/**
 * Checks the operations' shape, and each rollout plan as Set would build it now (its clock
 * starts only when the request is applied, where it is built again).
 */
function checkOps(ops: readonly ChangeOp[], field: string, live: (key: string) => LogRecord | undefined, now: number): ChangeOp[] {
  if (ops.length === 0) throw invalidArgument(field, "must hold at least one operation");
  if (ops.length > MAX_OPS) throw invalidArgument(field, `must hold at most ${MAX_OPS}`);
  return ops.map((op, i): ChangeOp => {
    const f = `${field}[${i}].${op.type}.`;
    const key = checkKey(op.key, `${f}key`);
    if (key.startsWith(CHANGE_REQUEST_PREFIX)) throw invalidArgument(`${f}key`, "is a change request's own document");
    if (op.type === "delete") return { type: "delete", key };
    const value = checkValue(op.value, `${f}value`);
    if (op.rollout === undefined) return { type: "set", key, value };
    const current = live(key);
    const rollout = op.rollout;
    prefixed(f, () => buildRollout(rollout, { key, value, currentStable: rollout.stable === undefined && isLive(current) ? current.value : undefined, now }));
    return { type: "set", key, value, rollout };
  });
}
