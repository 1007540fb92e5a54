import type { CheckState } from "../../src/gen/ctm/v1/health_check_service.js";
import { RecordKind, type Entry } from "../../src/gen/ctm/v1/record.js";
import type { RolloutPlan } from "../../src/gen/ctm/v1/rollout.js";
import type { api } from "../helpers/client.js";
import { eventually, healthApi, plan, seconds } from "../helpers/safety-clients.js";

export type Config = ReturnType<typeof api>;
export type Health = ReturnType<typeof healthApi>;

/** Steps that stay at `start`% for an hour: a rollout that is still rolling when the test ends. */
export const slowSteps = (start = 50): Partial<RolloutPlan> => ({
  percentage: { $case: "steps", value: { start, increment: 10, interval: seconds(3600), target: 100 } },
});

/** `key` = `stable`, then a rollout of `next` over it; resolves the rollout's entry. */
export async function rollOut(c: Config, key: string, stable: unknown, next: unknown, p: Partial<RolloutPlan> = slowSteps()): Promise<Entry> {
  await c.set({ key, value: stable, author: "ana", message: "initial" });
  const r = await c.set({ key, value: next, author: "ana", message: "roll out", rollout: plan(p) });
  return r.entry!;
}

export async function stateOf(h: Health, key: string, check: string): Promise<CheckState | undefined> {
  const l = await h.listHealthChecks({ key });
  return l.states.find((s) => s.key === key && s.check === check);
}

/** Polls ListHealthChecks until the check's state on `key` satisfies `cond`. */
export const waitState = (h: Health, key: string, check: string, cond: (s: CheckState) => boolean, ms = 20_000): Promise<CheckState> =>
  eventually(`state of ${check} on ${key}`, async () => {
    const s = await stateOf(h, key, check);
    return s && cond(s) ? s : undefined;
  }, ms);

/**
 * Waits until the check has judged `key` on `n` more ticks (distinct
 * `checked_at` values after now); resolves the states seen, oldest first.
 */
export async function ticks(h: Health, key: string, check: string, n: number, ms = 20_000): Promise<CheckState[]> {
  const since = (await stateOf(h, key, check))?.checkedAt?.getTime() ?? 0;
  const seen = new Map<number, CheckState>();
  await eventually(`${n} ticks of ${check} on ${key}`, async () => {
    const s = await stateOf(h, key, check);
    const t = s?.checkedAt?.getTime() ?? 0;
    if (s && t > since) seen.set(t, s);
    return seen.size >= n ? true : undefined;
  }, ms, 20);
  return [...seen.values()];
}

/** Polls History until its newest entry has `kind`; resolves that entry. */
export const waitKind = (c: Config, key: string, kind: RecordKind, ms = 20_000): Promise<Entry> =>
  eventually(`a ${RecordKind[kind]} record on ${key}`, async () => {
    const e = (await c.history({ key, limit: 1 })).entries[0];
    return e?.kind === kind ? e : undefined;
  }, ms);

export const latest = async (c: Config, key: string): Promise<Entry> => (await c.history({ key, limit: 1 })).entries[0]!;
