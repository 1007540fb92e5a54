/**
 * The shared evaluation vectors (test/vectors/evaluation.json), from the TypeScript SDK's side:
 * each entry decoded from the bytes Get sends with the SDK's own stubs, then resolved locally.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { evaluateEntry } from "../../clients/ts/src/index.js";
import { Entry } from "../../clients/ts/src/gen/ctm/v1/record.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Vectors {
  records: { name: string; entry: string }[];
  cases: { record: number; context: { unitId: string; environment: string; attributes: Record<string, string> }; now: number; want: { value: unknown; variant: string; reason: string } }[];
}

const vectors = JSON.parse(readFileSync(resolve(ROOT, "test/vectors/evaluation.json"), "utf8")) as Vectors;

describe("evaluation vectors", () => {
  it("are what the daemon's own code answers today", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/gen-eval-vectors.ts", "--check"], { cwd: ROOT });
    expect(stdout).toMatch(/is current: 26 records, \d+ cases/);
  });

  it("every case resolves locally in the TypeScript SDK as the daemon resolves it", () => {
    const entries = vectors.records.map((r) => Entry.decode(Buffer.from(r.entry, "base64")));
    const wrong: string[] = [];
    for (const [i, c] of vectors.cases.entries()) {
      const got = evaluateEntry(entries[c.record]!, c.context, c.now);
      const mine = { value: got.value ?? null, variant: got.variant, reason: got.reason };
      if (JSON.stringify(mine) !== JSON.stringify(c.want)) wrong.push(`case ${i} (${vectors.records[c.record]!.name}, unit ${JSON.stringify(c.context.unitId)}): ${JSON.stringify(mine)} != ${JSON.stringify(c.want)}`);
    }
    expect(wrong).toEqual([]);
    expect(vectors.cases.length).toBeGreaterThan(1000);
  });
});
