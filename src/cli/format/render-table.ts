import Table from "cli-table3";
import type { Colors } from "./colors.js";

const NO_ROW_LINES = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** A boxed table; the head is bold when colors are on. */
export function renderTable(head: string[], rows: (string | number)[][], c: Colors): string {
  const table = new Table({ head: head.map((h) => c.bold(h)), style: { head: [], border: [] }, chars: NO_ROW_LINES });
  table.push(...rows.map((r) => r.map(String)));
  return table.toString();
}

/** "label   value" lines with aligned values; multi-line values are indented under the first line. */
export function renderFields(fields: [string, string | undefined][], c: Colors): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const w = Math.max(0, ...shown.map(([l]) => l.length));
  return shown.map(([l, v]) => `${c.dim(l.padEnd(w))}  ${v.split("\n").join(`\n${" ".repeat(w + 2)}`)}`).join("\n");
}
