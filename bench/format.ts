const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatRate(n: number): string {
  return Number.isFinite(n) ? int.format(n) : "n/a";
}

/** Milliseconds with 3 significant digits (microseconds below 0.1 ms). */
export function formatMs(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  return n < 0.1 ? `${Number((n * 1000).toPrecision(3))} µs` : `${Number(n.toPrecision(3))} ms`;
}

export function formatRatio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}
