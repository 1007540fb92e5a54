import { InvalidArgumentError } from "commander";

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** "72h", "1h30m", "90s", "1.5d", "250ms", or a plain number of seconds; positive. */
export function parseDurationMs(text: string): number {
  const t = text.trim();
  const parts = /^\d+(\.\d+)?$/.test(t) ? [["", t, "s"]] : [...t.matchAll(/(\d+(?:\.\d+)?)(ms|d|h|m|s)/g)];
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * UNIT_MS[m[2]!]!, 0);
  const whole = /^\d+(\.\d+)?$/.test(t) || parts.map((m) => m[0]).join("") === t;
  if (!whole || parts.length === 0 || !(ms > 0) || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(`"${text}" is not a positive duration like 30s, 5m, 72h or 1h30m`);
  }
  return ms;
}

/** The protobuf Duration of a number of milliseconds. */
export const toPbDuration = (ms: number): { seconds: number; nanos: number } => ({
  seconds: Math.trunc(ms / 1000),
  nanos: Math.round((ms % 1000) * 1e6),
});

/** "3600s" -> "1h", for people. */
export function formatDuration(d: { seconds: number; nanos: number } | undefined): string {
  if (!d) return "-";
  let s = d.seconds + d.nanos / 1e9;
  const out: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    if (s >= size) {
      out.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || out.length === 0) out.push(`${Number(s.toFixed(3))}s`);
  return out.join("");
}
