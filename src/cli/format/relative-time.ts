/** "in 5m", "3h ago": how far `d` is from `now`, in the largest unit that reads well. */
export function relativeTime(d: Date | undefined, now = Date.now()): string {
  if (!d) return "";
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  const span = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : abs < 172_800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86_400)}d`;
  return s >= 0 ? `in ${span}` : `${span} ago`;
}
