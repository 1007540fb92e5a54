import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");

// Debian's Python, which has protobuf (the python3 first on PATH may not).
const PYTHON = "/usr/bin/python3";

describe("bucketing and evaluation are identical across languages", () => {
  it("the Python client passes every shared bucketing and evaluation vector", async () => {
    const { stdout, stderr } = await run(PYTHON, ["-m", "unittest", "discover", "-v", "-s", "clients/python/tests", "-t", "clients/python"], { cwd: ROOT });
    // unittest reports on stderr; it exits non-zero (and execFile rejects) on any failure.
    expect(stderr).toMatch(/^OK$/m);
    expect(stderr).toMatch(/Ran [1-9]\d* tests?/);
    expect(stderr).toContain("test_every_case (tests.test_evaluation_vectors.EvaluationVectors.test_every_case) ... ok");
    const doc = JSON.parse(await readFile(join(ROOT, "test/vectors/evaluation.json"), "utf8")) as { records: unknown[]; cases: unknown[] };
    expect(stdout).toContain(`${doc.records.length} records, ${doc.cases.length} cases`);
  });

  it("the Python evaluation test fails when a case disagrees", async () => {
    const doc = JSON.parse(await readFile(join(ROOT, "test/vectors/evaluation.json"), "utf8")) as { cases: { want: { variant: string } }[] };
    const i = doc.cases.findIndex((c) => c.want.variant === "a");
    expect(i).toBeGreaterThanOrEqual(0);
    doc.cases[i]!.want.variant = "b";
    const dir = await mkdtemp(join(tmpdir(), "ctm-vectors-"));
    try {
      const bad = join(dir, "evaluation.json");
      await writeFile(bad, JSON.stringify(doc));
      const r = await run(PYTHON, ["-m", "unittest", "tests.test_evaluation_vectors.EvaluationVectors"], { cwd: join(ROOT, "clients/python"), env: { ...process.env, CTM_EVALUATION_VECTORS: bad } }).then(
        () => ({ failed: false, stderr: "" }),
        (e: { stderr: string }) => ({ failed: true, stderr: e.stderr }),
      );
      expect(r.failed).toBe(true);
      expect(r.stderr).toContain(`case ${i} (`);
      expect(r.stderr).toContain("1 of");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the committed vectors are what the generator produces", async () => {
    await run(process.execPath, ["--import", "tsx", "scripts/gen-bucketing-vectors.mjs", "--check"], { cwd: ROOT });
  });
});
