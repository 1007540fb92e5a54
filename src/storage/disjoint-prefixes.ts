/**
 * `prefixes` sorted, without repeats and without any that another of them covers: reading under
 * each of these reads every name under any of `prefixes`, and each once.
 */
export function disjointPrefixes(prefixes: readonly string[]): string[] {
  const out: string[] = [];
  // Sorted, the names a prefix covers follow it directly: only the last one kept can cover the next.
  for (const p of [...prefixes].sort()) if (out.length === 0 || !p.startsWith(out[out.length - 1]!)) out.push(p);
  return out;
}
