import { settings } from "./settings.js";

/**
 * Runs two measurements in alternation, like pairedRuns but for any measurement (several h2load
 * runs at once, a watch fan-out): `rounds` rounds (default `settings.rounds`) of one run each, in
 * ABBA order, so a slow spell of this shared machine lands on both sides. Returns each side's
 * results by round.
 */
export async function pairedRounds<T>(base: (round: number) => Promise<T>, mine: (round: number) => Promise<T>, rounds = settings.rounds): Promise<{ base: T[]; mine: T[] }> {
  const out = { base: [] as T[], mine: [] as T[] };
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? (["base", "mine"] as const) : (["mine", "base"] as const)) {
      out[side].push(await (side === "base" ? base : mine)(round));
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * `settings.rounds` made even: on this machine the first run of a pair measured 10–15% faster
 * than the second whichever side it was (see the OFREP row in bench/README.md), so each side must
 * go first as often.
 */
export const balancedRounds = (): number => settings.rounds + (settings.rounds % 2);
