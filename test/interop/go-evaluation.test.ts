/**
 * The Go SDK's local evaluation (clients/go/ctm/evaluate.go) against the shared evaluation
 * vectors, run with `go test` in GOPATH mode; and the test does fail on a wrong answer.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GoPath, ROOT } from "./helpers.js";

const VECTORS = join(ROOT, "test/vectors/evaluation.json");
let gopath: GoPath;
beforeAll(async () => {
  gopath = await GoPath.create();
});
afterAll(async () => {
  await gopath?.dispose();
});

interface Doc {
  records: unknown[];
  cases: { record: number; context: { unitId: string }; want: { variant: string; reason: string } }[];
}

describe("Go local evaluation", () => {
  it("go test resolves every case of the evaluation vectors as the daemon does", async () => {
    const doc = JSON.parse(await readFile(VECTORS, "utf8")) as Doc;
    const { code, output } = await gopath.test(["-v", "-count=1", "-run", "TestEvaluationVectors|TestSemverEdges", "ctm.dev/clients/go/ctm"], { CTM_EVALUATION_VECTORS: VECTORS });
    expect(code, output).toBe(0);
    expect(output).toContain("--- PASS: TestEvaluationVectors ");
    expect(output).toContain("--- PASS: TestSemverEdges ");
    expect(output).toContain(`${doc.records.length} records, ${doc.cases.length} cases`);
  });

  it("fails when a case disagrees (a non-ASCII unit's reason changed)", async () => {
    const doc = JSON.parse(await readFile(VECTORS, "utf8")) as Doc;
    const i = doc.cases.findIndex((c) => /[^\x00-\x7f]/.test(c.context.unitId) && c.want.reason === "in_rollout");
    expect(i).toBeGreaterThanOrEqual(0);
    doc.cases[i]!.want.reason = "out_of_rollout";
    const dir = await mkdtemp(join(tmpdir(), "ctm-vectors-"));
    try {
      const bad = join(dir, "evaluation.json");
      await writeFile(bad, JSON.stringify(doc));
      const { code, output } = await gopath.test(["-count=1", "-run", "TestEvaluationVectors", "ctm.dev/clients/go/ctm"], { CTM_EVALUATION_VECTORS: bad });
      expect(code).not.toBe(0);
      expect(output).toContain(`case ${i} (`);
      expect(output).toContain("1 of");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
