export type LineOp = { op: "same"; a: string; b: string } | { op: "del"; a: string } | { op: "add"; b: string };

const MAX_CELLS = 4_000_000;

/** A line diff by longest common subsequence (common prefix and suffix trimmed first). */
export function lineDiff(a: string[], b: string[]): LineOp[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const head: LineOp[] = a.slice(0, pre).map((l) => ({ op: "same", a: l, b: l }));
  const tail: LineOp[] = a.slice(a.length - suf).map((l) => ({ op: "same", a: l, b: l }));
  return [...head, ...middle(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf)), ...tail];
}

function middle(a: string[], b: string[]): LineOp[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return [...a.map((l) => ({ op: "del" as const, a: l })), ...b.map((l) => ({ op: "add" as const, b: l }))];
  // lcs[i][j]: LCS length of a[i:] and b[j:].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[i] === b[j] ? lcs[at(i + 1, j + 1)]! + 1 : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
    }
  }
  const out: LineOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) out.push({ op: "same", a: a[i++]!, b: b[j++]! });
    else if (i < n && (j === m || lcs[at(i + 1, j)]! >= lcs[at(i, j + 1)]!)) out.push({ op: "del", a: a[i++]! });
    else out.push({ op: "add", b: b[j++]! });
  }
  return out;
}
