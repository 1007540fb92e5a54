/**
 * Interop 4: the Go bucketing port (clients/go/ctm) passes every shared known-answer vector,
 * run with `go test` in GOPATH mode, and the test does fail on a wrong answer.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GoPath, ROOT } from "./helpers.js";

const VECTORS = join(ROOT, "test/vectors/bucketing.json");
let gopath: GoPath;
beforeAll(async () => {
  gopath = await GoPath.create();
});
afterAll(async () => {
  await gopath?.dispose();
});

describe("Go bucketing", () => {
  it("go test of clients/go/ctm passes every vector", async () => {
    const doc = JSON.parse(await readFile(VECTORS, "utf8")) as { cases: unknown[]; thresholds: unknown[]; variants: { picks: unknown[] }[] };
    const { code, output } = await gopath.test(["-v", "-count=1", "ctm.dev/clients/go/ctm"], { CTM_BUCKETING_VECTORS: VECTORS });
    expect(output).toMatch(/^ok\s+ctm\.dev\/clients\/go\/ctm/m);
    expect(code, output).toBe(0);
    for (const t of ["TestMurmur3Published", "TestRoundHalfUp", "TestVectors", "TestEveryThresholdSideIsCovered", "TestThresholds", "TestVariantPicks"]) {
      expect(output).toContain(`--- PASS: ${t} `);
    }
    // It really walked the whole file.
    expect(output).toContain(`${doc.cases.length} cases, ${doc.cases.length * 10} checks`);
    expect(output).toContain(`${doc.thresholds.length} thresholds`);
    expect(output).toContain(`${doc.variants.length} variant sets, ${doc.variants.reduce((n, s) => n + s.picks.length, 0)} picks`);
  });

  it("fails when a vector disagrees (a non-ASCII case with its bucket moved by one)", async () => {
    const doc = JSON.parse(await readFile(VECTORS, "utf8")) as { cases: { unit_id: string; bucket: number }[] };
    const i = doc.cases.findIndex((c) => /[^\x00-\x7f]/.test(c.unit_id));
    expect(i).toBeGreaterThanOrEqual(0);
    doc.cases[i]!.bucket += 1;
    const dir = await mkdtemp(join(tmpdir(), "ctm-vectors-"));
    try {
      const bad = join(dir, "bucketing.json");
      await writeFile(bad, JSON.stringify(doc));
      const { code, output } = await gopath.test(["-count=1", "-run", "TestVectors", "ctm.dev/clients/go/ctm"], { CTM_BUCKETING_VECTORS: bad });
      expect(code).not.toBe(0);
      expect(output).toContain("--- FAIL: TestVectors");
      expect(output).toContain(`want ${doc.cases[i]!.bucket}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
