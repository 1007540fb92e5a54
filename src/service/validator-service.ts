import { CtmError, failedPrecondition, invalidArgument, notFound } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import type { Clock } from "../domain/clock.js";
import { checkKey, checkValue } from "../domain/limits.js";
import { buildRollout, type RolloutInput } from "../domain/rollout/build-rollout.js";
import type { LogRecord } from "@ctm/core/record";
import type { Rollout } from "@ctm/core/rollout/plan";
import { compileValidator, warmUpSchemas, type CompiledValidator } from "../domain/validation/compiled-validator.js";
import { checkGlob, globMatcher } from "../domain/validation/key-glob.js";
import { checkValidator, validatorFromJson, validatorToJson } from "../domain/validation/parse-validator.js";
import { checkReservedWrite } from "../domain/validation/reserved-document.js";
import { WRITE_CHECK_BUDGET } from "../domain/validation/schema-cost.js";
import { HEALTH_CHECK_PREFIX, RESERVED_PREFIX, VALIDATOR_PREFIX, type Validator, type Violation } from "../domain/validation/validator.js";
import type { LogStore } from "../storage/log-store.js";
import type { ConfigService, WriteMeta } from "./config-service.js";
import type { Metrics } from "./metrics.js";
import { candidates, type WriteGuard } from "./write-guard.js";
import { currentPrincipal } from "./acting-principal.js";

const MAX_LISTED = 20;

/** The structured log's error call (pino's signature), for what no request is there to answer. */
export type ErrorLog = (fields: Record<string, unknown>, message: string) => void;

/** A definition in the log that today's checks refuse (written before them, or by an older ctmd). */
interface BrokenValidator {
  name: string;
  version: number;
  reason: string;
  /** The keys it claims, when they can still be read; otherwise every key. */
  matches: (key: string) => boolean;
}

/**
 * Validators are keys under `_ctm/validators/`; this keeps them compiled in
 * memory (from the log, at start and on every commit) and guards writes.
 */
export class ValidatorService implements WriteGuard {
  private readonly active = new Map<string, CompiledValidator>();
  /**
   * Definitions that cannot be compiled. They fail closed: a write to a key one
   * of them covers is refused with FAILED_PRECONDITION naming it, because a
   * check that silently stopped running is worse than a loud refusal. Fixing
   * (SetValidator, a raw Set of a valid definition) or deleting it lifts that.
   */
  private readonly broken = new Map<string, BrokenValidator>();
  private readonly unsubscribe: () => void;
  private config: ConfigService | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly metrics?: Metrics,
    private readonly logError?: ErrorLog,
  ) {
    metrics?.observe("ctm_validators_broken", "Validator definitions in the log that cannot be compiled; writes to the keys they cover are refused", () => this.broken.size);
    warmUpSchemas();
    for (const r of store.latestUnder(VALIDATOR_PREFIX)) this.load(r);
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) if (r.key.startsWith(VALIDATOR_PREFIX)) this.load(r);
    });
  }

  /** The ConfigService that writes validator keys (wired after both exist). */
  attach(config: ConfigService): void {
    this.config = config;
  }

  close(): void {
    this.unsubscribe();
  }

  checkWrite(key: string, value: JsonValue, rollout: Rollout | undefined, field: string): void {
    if (key.startsWith(RESERVED_PREFIX)) {
      const name = checkReservedWrite(key, rollout !== undefined, field);
      if (!key.startsWith(VALIDATOR_PREFIX)) return; // health checks: HealthService checks its own
      // A definition written with a plain Set gets the same checks as SetValidator (without force).
      const v = validatorFromJson(name, value, `${field}value`);
      const existing = this.existingViolations(compileValidator(v));
      if (existing.length > 0) throw refusedDefinition(v, existing);
      return;
    }
    const violations = this.violations(key, value, rollout, field);
    if (violations.length === 0) return;
    for (const v of new Set(violations.map((x) => x.validator))) this.metrics?.validatorRejections.inc({ validator: v });
    throw violationError(violations, field);
  }

  checkRestore(key: string, value: JsonValue): void {
    // Existing values are not held against a restored definition: a rollback acts as force does.
    if (key.startsWith(VALIDATOR_PREFIX)) validatorFromJson(checkReservedWrite(key, false, ""), value);
    else if (key.startsWith(RESERVED_PREFIX) && !key.startsWith(HEALTH_CHECK_PREFIX)) checkReservedWrite(key, false, "");
  }

  /** Every rule of every validator covering `key` draws from one budget: one write's checks are bounded. */
  violations(key: string, value: JsonValue, rollout: Rollout | undefined, field = ""): Violation[] {
    if (key.startsWith(RESERVED_PREFIX)) return [];
    for (const b of this.broken.values()) if (b.matches(key)) throw brokenError(b, key);
    const budget = { left: WRITE_CHECK_BUDGET };
    const out: Violation[] = [];
    for (const c of this.active.values()) {
      if (!c.matches(key)) continue;
      for (const cand of candidates(value, rollout, field)) out.push(...c.check(cand.value, cand.field, budget));
    }
    return out;
  }

  /** Dry run: the violations of a value and a rollout's candidates, writing nothing. */
  validate(key: string, value: JsonValue | undefined, input: RolloutInput | undefined): Violation[] {
    checkKey(key);
    const v = checkValue(value);
    // The same default stable as Set: the current stable value (a rolling key's
    // plan.stable, not its new value); none for a missing or deleted key.
    const latest = this.store.latest(key);
    const currentStable = latest === undefined || latest.deleted ? undefined : latest.rollout ? latest.rollout.plan.stable : latest.value;
    const rollout = input && buildRollout(input, { key, value: v, currentStable, now: this.clock.now() });
    return this.violations(key, v, rollout);
  }

  list(key: string): Validator[] {
    const all = [...this.active.values()];
    return (key === "" ? all : all.filter((c) => c.matches(checkKey(key)))).map((c) => c.validator);
  }

  async set(v: Validator, force: boolean, meta: WriteMeta & { expectedVersion?: number }): Promise<{ record: LogRecord; existing: Violation[] }> {
    // Read now: the check of current values below yields, and by then other calls run.
    const principal = meta.principal ?? currentPrincipal();
    checkValidator(v);
    const value = validatorToJson(v);
    // The stored document must read back as this definition: the same checks as a raw Set.
    validatorFromJson(v.name, value, "validator");
    const existing = await this.existingInSlices(compileValidator(v));
    if (existing.length > 0 && !force) throw refusedDefinition(v, existing);
    // Forced: the guard must not refuse what the caller explicitly accepted.
    const record = await this.config!.setUnguarded({ key: VALIDATOR_PREFIX + v.name, value, expectedVersion: meta.expectedVersion, ...meta, principal });
    return { record, existing };
  }

  async delete(name: string, meta: WriteMeta): Promise<LogRecord> {
    // A broken definition can be deleted too: that is how an operator lifts its refusals.
    if (!this.active.has(name) && !this.broken.has(name)) throw notFound(`validator "${name}" does not exist`);
    return this.config!.delete({ key: VALIDATOR_PREFIX + name, ...meta });
  }

  /**
   * Current values (and rollout candidates) of matching keys that `c` would
   * refuse, for a raw Set of a definition (inside the commit): all of them
   * share one write's budget; past it the definition is refused, pointing at
   * SetValidator.
   */
  private existingViolations(c: CompiledValidator): Violation[] {
    const budget = { left: WRITE_CHECK_BUDGET };
    const out: Violation[] = [];
    try {
      for (const r of this.store.latestUnder("")) {
        if (r.deleted || r.key.startsWith(RESERVED_PREFIX) || !c.matches(r.key)) continue;
        for (const cand of candidates(r.value!, r.rollout, `${r.key}: `)) out.push(...c.check(cand.value, cand.field, budget));
      }
    } catch (e) {
      if (!(e instanceof CtmError) || e.code !== "invalid_argument") throw e;
      throw failedPrecondition(`validator "${c.validator.name}": checking the current values it covers takes more than one write may spend; use SetValidator, which checks them in slices`);
    }
    return out;
  }

  /**
   * The same for SetValidator: each current value has its own budget (one too
   * big to check counts as a violation, as it would refuse its next write),
   * and the event loop is let go between slices of the store.
   */
  private async existingInSlices(c: CompiledValidator): Promise<Violation[]> {
    const out: Violation[] = [];
    let spent = 0;
    for (const r of this.store.latestUnder("")) {
      if (r.deleted || r.key.startsWith(RESERVED_PREFIX) || !c.matches(r.key)) continue;
      for (const cand of candidates(r.value!, r.rollout, `${r.key}: `)) {
        const budget = { left: WRITE_CHECK_BUDGET };
        try {
          out.push(...c.check(cand.value, cand.field, budget));
        } catch (e) {
          if (!(e instanceof CtmError) || e.code !== "invalid_argument") throw e;
          out.push({ validator: c.validator.name, field: cand.field, path: "", rule: 0, message: e.message.slice(cand.field.length + 2) });
        }
        spent += WRITE_CHECK_BUDGET - budget.left;
      }
      if (spent > WRITE_CHECK_BUDGET) {
        spent = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return out;
  }

  private load(r: LogRecord): void {
    const name = r.key.slice(VALIDATOR_PREFIX.length);
    this.active.delete(name);
    this.broken.delete(name);
    if (r.deleted) return;
    try {
      this.active.set(name, compileValidator(validatorFromJson(name, r.value)));
    } catch (e) {
      if (!(e instanceof CtmError)) throw e;
      const b: BrokenValidator = { name, version: r.version, reason: e.message, matches: claimedKeys(r.value) };
      this.broken.set(name, b);
      this.logError?.({ validator: name, key: r.key, version: r.version, revision: r.revision, reason: e.message }, "validator cannot be compiled: writes to the keys it covers are refused until it is fixed or deleted");
    }
  }
}

/** What a broken definition meant to cover: its globs if they still compile, else every key. */
function claimedKeys(value: JsonValue | undefined): (key: string) => boolean {
  const keys = (value as { keys?: unknown } | null | undefined)?.keys;
  try {
    if (Array.isArray(keys) && keys.length > 0) return globMatcher(keys.map((k, i) => checkGlob(String(k), `keys[${i}]`)));
  } catch {
    // Unreadable globs: the definition could cover anything.
  }
  return () => true;
}

function brokenError(b: BrokenValidator, key: string): CtmError {
  return failedPrecondition(
    `validator "${b.name}" (version ${b.version} of ${VALIDATOR_PREFIX}${b.name}) cannot be compiled, so writes to "${key}" and other keys it covers are refused until it is fixed or deleted: ${b.reason}`,
  );
}

/**
 * Error details travel in trailers (`grpc-message`, `ctm-violations`), and
 * clients refuse metadata above about 8 KiB in all: grpc-js then never
 * completes the call. The message lists at most MAX_LISTED violations in
 * MESSAGE_CHARS, the trailer as many as fit in TRAILER_BYTES, in order;
 * `ctm-violations-total` counts them all and Validate returns them all.
 * The transport cuts every detail at 1,024 characters (status-table.ts): the
 * trailer stays below that, so it is always whole JSON.
 */
const MESSAGE_CHARS = 2048;
const TRAILER_BYTES = 1000;

function describe(vs: Violation[]): string {
  let out = "";
  let shown = 0;
  for (const v of vs.slice(0, MAX_LISTED)) {
    const line = `[${v.validator}] ${v.field}${v.path}: ${v.message}`;
    const next = shown === 0 ? line : `${out}; ${line}`;
    if (next.length > MESSAGE_CHARS && shown > 0) break;
    out = next.length > MESSAGE_CHARS ? `${next.slice(0, MESSAGE_CHARS)}...` : next;
    shown++;
  }
  return out + (vs.length > shown ? `; and ${vs.length - shown} more (Validate lists them all)` : "");
}

function trailers(vs: Violation[]): Record<string, string | number> {
  let shown = vs;
  let json = JSON.stringify(shown);
  while (Buffer.byteLength(json) > TRAILER_BYTES) {
    const keep = Math.min(shown.length - 1, Math.floor((shown.length * TRAILER_BYTES) / Buffer.byteLength(json)));
    shown = shown.slice(0, Math.max(0, keep));
    json = JSON.stringify(shown);
  }
  return { violations: json, violationsTotal: vs.length };
}

function violationError(vs: Violation[], field: string): CtmError {
  const err = invalidArgument(vs[0]!.field, `violates ${vs.length} rule${vs.length === 1 ? "" : "s"}: ${describe(vs)}`);
  return new CtmError(err.code, err.message, vs[0]!.field || `${field}value`, trailers(vs));
}

function refusedDefinition(v: Validator, existing: Violation[]): CtmError {
  const e = failedPrecondition(`validator "${v.name}" is violated by current values (use force to add it anyway): ${describe(existing)}`);
  return new CtmError(e.code, e.message, "validator", trailers(existing));
}
