import type { Colors } from "./colors.js";
import { lineDiff } from "./line-diff.js";

interface Row {
  left?: string;
  right?: string;
  mark: " " | "|" | "<" | ">";
}

/** Pairs a line diff into rows like `diff --side-by-side`: runs of removals and additions face each other. */
function rows(a: string[], b: string[]): Row[] {
  const out: Row[] = [];
  let dels: string[] = [];
  let adds: string[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
      const [l, r] = [dels[k], adds[k]];
      out.push({ left: l, right: r, mark: l !== undefined && r !== undefined ? "|" : l !== undefined ? "<" : ">" });
    }
    [dels, adds] = [[], []];
  };
  for (const op of lineDiff(a, b)) {
    if (op.op === "del") dels.push(op.a);
    else if (op.op === "add") adds.push(op.b);
    else {
      flush();
      out.push({ left: op.a, right: op.b, mark: " " });
    }
  }
  flush();
  return out;
}

const fit = (s: string, w: number): string => (s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s.padEnd(w));

/**
 * Column widths for a terminal `width` wide: neither side is cut when both fit; otherwise
 * a side narrower than half keeps its width and the other side gets all the rest.
 */
function columns(naturalLeft: number, naturalRight: number, width: number | undefined): [number, number] {
  if (width === undefined) return [naturalLeft, Infinity];
  const room = Math.max(20, width - 3);
  if (naturalLeft + naturalRight <= room) return [naturalLeft, naturalRight];
  const half = Math.floor(room / 2);
  const left = Math.max(10, Math.min(naturalLeft, Math.max(half, room - naturalRight)));
  return [left, Math.max(10, room - left)];
}

/**
 * Two texts side by side under "--- from" and "+++ to" titles, removed lines red on the
 * left, added lines green on the right, changed rows marked | (removed only <, added only >).
 * `width` (the terminal's) bounds the two columns together; without it nothing is cut.
 */
export function sideBySide(left: string, right: string, titles: [string, string], c: Colors, width?: number): string {
  const a = left === "" ? [] : left.split("\n");
  const b = right === "" ? [] : right.split("\n");
  const natural = (ls: string[]) => Math.max(1, ...ls.map((l) => l.length));
  const [wl, wr] = columns(natural(a), natural(b), width);
  const lines = [c.red(`--- ${titles[0]}`), c.green(`+++ ${titles[1]}`)];
  for (const r of rows(a, b)) {
    const l = fit(r.left ?? "", wl);
    const rt = r.right ?? "";
    const rCut = rt.length > wr ? fit(rt, wr) : rt;
    const paint = r.mark === " " ? [(s: string) => s, (s: string) => s] : [c.red, c.green];
    lines.push(`${paint[0]!(l)} ${r.mark === " " ? " " : c.yellow(r.mark)} ${paint[1]!(rCut)}`.trimEnd());
  }
  return lines.join("\n");
}
