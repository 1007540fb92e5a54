/**
 * An OpenFeature (server) provider backed by a ctm cache: every resolution is local (no RPC),
 * with the daemon's own evaluation. `@ctm/client/openfeature`.
 *
 *   await OpenFeature.setProviderAndWait(new CtmProvider(client));
 *   const on = await OpenFeature.getClient().getBooleanValue("checkout.v2", false, { targetingKey: "user-42" });
 *
 * Context: `targetingKey` is the unit id, the `environment` attribute the ring environment,
 * and every other string, number or boolean attribute an attribute for rules (as a string).
 *
 * Reasons (ctm -> OpenFeature; the exact ctm reason is flagMetadata.ctmReason):
 *   static                                  -> STATIC
 *   early_adopter, pinned, rule_match       -> TARGETING_MATCH
 *   in_rollout, out_of_rollout, variant     -> SPLIT
 *   scheduled_not_yet, ring_not_reached     -> DEFAULT  (the stable value: the rollout has not reached the unit)
 *   rolled_back: kill switch (a rollout)    -> DISABLED
 *   rolled_back: static after a rollback    -> STATIC
 * variant: ctm's ("stable", "new" or the variant's name; none for a static value).
 * flagMetadata: { ctmReason, version, revision }.
 */
import {
  ErrorCode,
  OpenFeature,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue as OfJsonValue,
  type Provider,
  type ResolutionDetails,
  type ResolutionReason,
} from "@openfeature/server-sdk";
import type { CtmCache } from "./cache.js";
import type { CtmClient } from "./client.js";
import type { Context } from "./convert.js";
import type { Evaluation, Reason } from "./evaluate.js";

/** The server SDK this provider is built against (the same OpenFeature singleton). */
export { OpenFeature, ProviderEvents, StandardResolutionReasons, ErrorCode };

export interface CtmProviderOptions {
  /** The context attribute that names the environment (default "environment"). */
  environmentAttribute?: string;
  /** How long initialize() waits for the cache's first data (default: no limit). */
  readyTimeoutMs?: number;
}

const REASONS: Record<Exclude<Reason, "rolled_back">, ResolutionReason> = {
  static: StandardResolutionReasons.STATIC,
  early_adopter: StandardResolutionReasons.TARGETING_MATCH,
  pinned: StandardResolutionReasons.TARGETING_MATCH,
  rule_match: StandardResolutionReasons.TARGETING_MATCH,
  in_rollout: StandardResolutionReasons.SPLIT,
  out_of_rollout: StandardResolutionReasons.SPLIT,
  variant: StandardResolutionReasons.SPLIT,
  scheduled_not_yet: StandardResolutionReasons.DEFAULT,
  ring_not_reached: StandardResolutionReasons.DEFAULT,
};

/** The OpenFeature reason of a ctm evaluation (see the table above). */
export function openFeatureReason(e: Pick<Evaluation, "reason" | "entry">): ResolutionReason {
  if (e.reason === "rolled_back") return e.entry.rollout ? StandardResolutionReasons.DISABLED : StandardResolutionReasons.STATIC;
  return REASONS[e.reason];
}

export class CtmProvider implements Provider {
  readonly metadata = { name: "ctm" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly cache: CtmCache;
  private unsubscribe: (() => void)[] = [];

  /** `source`: a client created with `cache`, or a cache. */
  constructor(
    source: CtmClient | CtmCache,
    private readonly opts: CtmProviderOptions = {},
  ) {
    const cache = "rollouts" in source ? source.cache : source;
    if (cache === undefined) throw new Error("CtmProvider needs a cache: new CtmClient({ address, cache: { prefix: \"...\" } })");
    this.cache = cache;
  }

  async initialize(): Promise<void> {
    await this.cache.ready({ timeoutMs: this.opts.readyTimeoutMs });
    this.unsubscribe.push(
      this.cache.onChange((c) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [c.key] })),
      this.cache.onState((s) => {
        // Stale while the daemon is unreachable (values are the last known); Ready when it is back.
        if (s.connected) this.events.emit(ProviderEvents.Ready);
        else if (s.source !== "none") this.events.emit(ProviderEvents.Stale, { message: s.error?.message ?? "ctmd unreachable: serving the last known values" });
      }),
    );
  }

  async onClose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, (v): v is boolean => typeof v === "boolean", "boolean"));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, (v): v is string => typeof v === "string", "string"));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, (v): v is number => typeof v === "number", "number"));
  }

  resolveObjectEvaluation<T extends OfJsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, (v): v is T => typeof v === "object" && v !== null, "object"));
  }

  /** The ctm context of an OpenFeature evaluation context. */
  toContext(ctx: EvaluationContext): Context {
    const envAttr = this.opts.environmentAttribute ?? "environment";
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx)) {
      if (k === "targetingKey" || k === envAttr) continue;
      if (typeof v === "string") attributes[k] = v;
      else if (typeof v === "number" || typeof v === "boolean") attributes[k] = String(v);
      else if (v instanceof Date) attributes[k] = v.toISOString();
    }
    const env = ctx[envAttr];
    return { unitId: ctx.targetingKey ?? "", environment: typeof env === "string" ? env : "", attributes };
  }

  private resolve<T>(flagKey: string, defaultValue: T, context: EvaluationContext, is: (v: unknown) => v is T, type: string): ResolutionDetails<T> {
    const r = this.cache.get(flagKey, this.toContext(context));
    if (r === undefined || r.value === undefined) {
      const why = this.cache.source === "none" ? "the ctm cache has no data yet" : `no key "${flagKey}" in the ctm cache`;
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: this.cache.source === "none" ? ErrorCode.PROVIDER_NOT_READY : ErrorCode.FLAG_NOT_FOUND,
        errorMessage: why,
      };
    }
    const flagMetadata = { ctmReason: r.reason, version: r.entry.version, revision: r.entry.revision };
    if (!is(r.value)) {
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.TYPE_MISMATCH,
        errorMessage: `"${flagKey}" is ${r.value === null ? "null" : Array.isArray(r.value) ? "an array" : typeof r.value}, not ${type === "object" ? "an object" : `a ${type}`}`,
        flagMetadata,
      };
    }
    const details: ResolutionDetails<T> = { value: r.value, reason: openFeatureReason(r), flagMetadata };
    if (r.variant !== "") details.variant = r.variant;
    return details;
  }
}
