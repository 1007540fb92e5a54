/** "in 5m", "3h ago": how far `d` is from `now`, in the largest unit that reads well. */
export function relativeTime(d: Date | undefined, now = Date.now()): string {
  if (!d) return "";
  const ms = d.getTime() - now;
  // The sign comes from the time itself: 0.4 s ago rounds to 0 s, and is still in the past.
  const abs = Math.abs(Math.round(ms / 1000));
  const span = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : abs < 172_800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86_400)}d`;
  return ms > 0 ? `in ${span}` : `${span} ago`;
}
