const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatRate(n: number): string {
  return Number.isFinite(n) ? int.format(n) : "n/a";
}

/** Milliseconds with 3 significant digits (microseconds below 0.1 ms). */
export function formatMs(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  return n < 0.1 ? `${Number((n * 1000).toPrecision(3))} µs` : `${Number(n.toPrecision(3))} ms`;
}

/** a ÷ b, or `paired` when given: the median of per-round ratios, which is what paired rows report. */
export function formatRatio(a: number, b: number, paired?: number): string {
  const r = paired ?? a / b;
  return Number.isFinite(r) && (paired !== undefined || b > 0) ? `${r.toFixed(2)}×` : "n/a";
}

export function formatUs(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(0)} µs` : "n/a";
}
