import { CtmError, failedPrecondition, invalidArgument, notFound } from "../domain/errors.js";
import type { JsonValue } from "../domain/json.js";
import type { Clock } from "../domain/clock.js";
import { checkKey, checkValue } from "../domain/limits.js";
import { buildRollout, type RolloutInput } from "../domain/rollout/build-rollout.js";
import type { LogRecord } from "../domain/record.js";
import type { Rollout } from "../domain/rollout/plan.js";
import { compileValidator, type CompiledValidator } from "../domain/validation/compiled-validator.js";
import { checkValidator, validatorFromJson, validatorToJson } from "../domain/validation/parse-validator.js";
import { RESERVED_PREFIX, VALIDATOR_PREFIX, type Validator, type Violation } from "../domain/validation/validator.js";
import type { LogStore } from "../storage/log-store.js";
import type { ConfigService, WriteMeta } from "./config-service.js";
import type { Metrics } from "./metrics.js";
import { candidates, type WriteGuard } from "./write-guard.js";

const MAX_LISTED = 20;

/**
 * Validators are keys under `_ctm/validators/`; this keeps them compiled in
 * memory (from the log, at start and on every commit) and guards writes.
 */
export class ValidatorService implements WriteGuard {
  private readonly active = new Map<string, CompiledValidator>();
  private readonly unsubscribe: () => void;
  private config: ConfigService | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly metrics?: Metrics,
  ) {
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
    if (key.startsWith(VALIDATOR_PREFIX)) {
      // A definition written with a plain Set gets the same checks as SetValidator (without force).
      const v = validatorFromJson(key.slice(VALIDATOR_PREFIX.length), value);
      const existing = this.existingViolations(v);
      if (existing.length > 0) throw refusedDefinition(v, existing);
      return;
    }
    const violations = this.violations(key, value, rollout, field);
    if (violations.length === 0) return;
    for (const v of new Set(violations.map((x) => x.validator))) this.metrics?.validatorRejections.inc({ validator: v });
    throw violationError(violations, field);
  }

  violations(key: string, value: JsonValue, rollout: Rollout | undefined, field = ""): Violation[] {
    if (key.startsWith(RESERVED_PREFIX)) return [];
    const out: Violation[] = [];
    for (const c of this.active.values()) {
      if (!c.matches(key)) continue;
      for (const cand of candidates(value, rollout, field)) out.push(...c.check(cand.value, cand.field));
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
    checkValidator(v);
    const existing = this.existingViolations(v);
    if (existing.length > 0 && !force) throw refusedDefinition(v, existing);
    // Forced: the guard must not refuse what the caller explicitly accepted.
    const record = await this.config!.setUnguarded({ key: VALIDATOR_PREFIX + v.name, value: validatorToJson(v), expectedVersion: meta.expectedVersion, ...meta });
    return { record, existing };
  }

  async delete(name: string, meta: WriteMeta): Promise<LogRecord> {
    if (!this.active.has(name)) throw notFound(`validator "${name}" does not exist`);
    return this.config!.delete({ key: VALIDATOR_PREFIX + name, ...meta });
  }

  /** Current values (and rollout candidates) of matching keys that `v` would refuse. */
  private existingViolations(v: Validator): Violation[] {
    const c = compileValidator(v);
    const out: Violation[] = [];
    for (const r of this.store.latestUnder("")) {
      if (r.deleted || r.key.startsWith(RESERVED_PREFIX) || !c.matches(r.key)) continue;
      for (const cand of candidates(r.value!, r.rollout, `${r.key}: `)) out.push(...c.check(cand.value, cand.field));
    }
    return out;
  }

  private load(r: LogRecord): void {
    const name = r.key.slice(VALIDATOR_PREFIX.length);
    if (r.deleted) {
      this.active.delete(name);
      return;
    }
    try {
      this.active.set(name, compileValidator(validatorFromJson(name, r.value)));
    } catch (e) {
      // Only checked definitions are written; a broken one is dropped rather than blocking every write.
      if (!(e instanceof CtmError)) throw e;
      this.active.delete(name);
    }
  }
}

/**
 * Error details travel in trailers (`grpc-message`, `ctm-violations`), and
 * clients refuse metadata above about 8 KiB in all: grpc-js then never
 * completes the call. The message lists at most MAX_LISTED violations in
 * MESSAGE_CHARS, the trailer as many as fit in TRAILER_BYTES, in order;
 * `ctm-violations-total` counts them all and Validate returns them all.
 */
const MESSAGE_CHARS = 2048;
const TRAILER_BYTES = 4096;

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
