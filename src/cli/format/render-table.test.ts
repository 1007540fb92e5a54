import Table from "cli-table3";
import { describe, expect, it } from "vitest";
import pc from "picocolors";
import { renderTable } from "./render-table.js";

/** The same table drawn by cli-table3 in one piece. */
function whole(head: string[], rows: string[][], bold: (s: string) => string): string {
  const t = new Table({ head: head.map(bold), style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } });
  t.push(...rows);
  return t.toString();
}

describe("renderTable", () => {
  it("draws a long table in parts that join into exactly the table cli-table3 draws in one piece", () => {
    const c = pc.createColors(true);
    const head = ["path", "value", "author", "message"];
    // Colors, wide characters and a multi-line cell, in rows spread over several parts.
    const rows = Array.from({ length: 777 }, (_, i) => [
      `/list/${i}`,
      i % 97 === 0 ? c.red(String(i * 1000)) : String(i),
      i % 50 === 0 ? "日本語の作者" : "ann",
      i === 400 ? "two\nlines" : "",
    ]);
    const drawn = renderTable(head, rows, c);
    expect(drawn).toBe(whole(head, rows, c.bold));
    expect(drawn.split("\n")).toHaveLength(777 + 1 + 3);
  });

  it("draws a short table in one piece", () => {
    const c = pc.createColors(false);
    expect(renderTable(["a", "b"], [["1", "2"]], c)).toBe(whole(["a", "b"], [["1", "2"]], c.bold));
  });
});
