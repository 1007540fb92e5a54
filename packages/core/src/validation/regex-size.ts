/**
 * About how many instructions RE2 compiles `pattern` to, read from its text
 * without compiling: the same sums as RE2's own size check (a literal or a
 * class is 1, `x*` is 2 + x, `x{n,m}` is m * x + (m - n), an alternation adds
 * one per branch). Compiling is what costs (from 4 to 85 us an instruction:
 * `[\p{L}\p{N}]{1,999}` three times took half a second), so the estimate comes
 * first. It errs high, never low: an escape or class counts 1, unknown syntax
 * counts as literals, and RE2 refuses what is malformed afterwards.
 */
export function estimateProgramSize(pattern: string): number {
  // One frame per open group: the finished atoms' total, the last atom (a quantifier may still apply), branches.
  const frames = [{ total: 0, last: 0, branches: 1 }];
  let top = frames[0]!;
  const atom = (size: number) => {
    top.total += top.last;
    top.last = size;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const n = pattern[i + 1];
      if ((n === "p" || n === "P" || n === "x") && pattern[i + 2] === "{") i = closing(pattern, i + 2, "}");
      else if (n === "Q") {
        const end = pattern.indexOf("\\E", i + 2);
        const stop = end === -1 ? pattern.length : end;
        for (let j = i + 2; j < stop; j++) atom(1);
        i = end === -1 ? pattern.length : end + 1;
        continue;
      } else i += 1;
      atom(1);
    } else if (c === "[") {
      let j = i + 1;
      if (pattern[j] === "^") j++;
      if (pattern[j] === "]") j++;
      for (; j < pattern.length && pattern[j] !== "]"; j++) {
        if (pattern[j] === "\\") j++;
        else if (pattern[j] === "[" && pattern[j + 1] === ":") j = closing(pattern, j, "]");
      }
      i = j;
      atom(1);
    } else if (c === "(") {
      const flagsOnly = /^\(\?[a-zA-Z-]*\)/.exec(pattern.slice(i, i + 16));
      if (flagsOnly) {
        i += flagsOnly[0].length - 1;
        continue;
      }
      atom(0);
      top = { total: 0, last: 0, branches: 1 };
      frames.push(top);
    } else if (c === ")" && frames.length > 1) {
      const done = frames.pop()!;
      top = frames[frames.length - 1]!;
      top.last = 2 + done.total + done.last + (done.branches - 1);
    } else if (c === "|") {
      top.total += top.last + 1;
      top.last = 0;
      top.branches++;
    } else if (c === "*") top.last = 2 + top.last;
    else if (c === "+" || c === "?") top.last = 1 + top.last;
    else if (c === "{" && /^\{\d+(,\d*)?\}/.test(pattern.slice(i, i + 16))) {
      const [, min, comma, max] = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 16))!;
      const lo = Number(min);
      const hi = comma === undefined ? lo : max === "" ? -1 : Number(max);
      top.last = hi === -1 ? 1 + Math.max(1, lo) * top.last : Math.max(1, hi) * top.last + Math.max(0, hi - lo);
      i = closing(pattern, i, "}");
    } else atom(1);
  }
  // RE2 adds a start and a match instruction.
  let size = 2;
  for (const f of frames) size += f.total + f.last + (f.branches - 1);
  return size;
}

const closing = (s: string, from: number, ch: string): number => {
  const at = s.indexOf(ch, from);
  return at === -1 ? s.length : at;
};
