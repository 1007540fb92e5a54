import Table from "cli-table3";
import stringWidth from "string-width";
import type { Colors } from "./colors.js";

const NO_ROW_LINES = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };
/**
 * cli-table3 lays a table out in time that grows with the square of its rows (10,000 rows took
 * 10 s): a longer table is drawn as tables of this many rows with the same column widths, joined.
 */
const CHUNK_ROWS = 250;
/** cli-table3's default padding: one space each side of a cell. */
const PADDING = 2;

/** A boxed table; the head is bold when colors are on. */
export function renderTable(head: string[], rows: (string | number)[][], c: Colors): string {
  const cells = rows.map((r) => r.map(String));
  const style = { head: [], border: [] };
  if (cells.length <= CHUNK_ROWS) {
    const table = new Table({ head: head.map((h) => c.bold(h)), style, chars: NO_ROW_LINES });
    table.push(...cells);
    return table.toString();
  }
  const colWidths = head.map((h) => widthOf(h));
  for (const r of cells) for (let i = 0; i < colWidths.length; i++) colWidths[i] = Math.max(colWidths[i]!, widthOf(r[i] ?? ""));
  for (let i = 0; i < colWidths.length; i++) colWidths[i]! += PADDING;
  const parts: string[][] = [];
  for (let at = 0; at < cells.length; at += CHUNK_ROWS) {
    const table = new Table({ head: at === 0 ? head.map((h) => c.bold(h)) : [], style, chars: NO_ROW_LINES, colWidths });
    table.push(...cells.slice(at, at + CHUNK_ROWS));
    parts.push(table.toString().split("\n"));
  }
  // Each part is [top border, (head,) rows..., bottom border]: the first keeps its top, the last its bottom.
  return parts.map((lines, i) => lines.slice(i === 0 ? 0 : 1, i === parts.length - 1 ? lines.length : -1).join("\n")).join("\n");
}

/** The widest line of a cell, as a terminal shows it (colors take no room, wide characters two). */
function widthOf(s: string): number {
  let w = 0;
  for (const line of s.split("\n")) w = Math.max(w, stringWidth(line));
  return w;
}

/** "label   value" lines with aligned values; multi-line values are indented under the first line. */
export function renderFields(fields: [string, string | undefined][], c: Colors): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const w = Math.max(0, ...shown.map(([l]) => l.length));
  return shown.map(([l, v]) => `${c.dim(l.padEnd(w))}  ${v.split("\n").join(`\n${" ".repeat(w + 2)}`)}`).join("\n");
}
