/** The SDK's committed stubs (clients/ts/src/gen) are what clients/ts/buf.gen.yaml generates from proto/ now. */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { defer } from "./helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const GEN = join(ROOT, "clients/ts/src/gen");

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  return out.sort();
}

describe("generated stubs", () => {
  it("clients/ts/src/gen is fresh: regenerate with `npm run generate --prefix clients/ts` and commit", async () => {
    const out = await mkdtemp(join(tmpdir(), "ctm-sdk-gen-"));
    defer(() => rm(out, { recursive: true, force: true }));
    await promisify(execFile)(join(ROOT, "node_modules/.bin/buf"), ["generate", "--template", "clients/ts/buf.gen.yaml", "-o", out], { cwd: ROOT });
    const fresh = join(out, "clients/ts/src/gen");
    const names = await files(fresh);
    expect(names).toContain("ctm/v1/config_service.ts");
    expect(names).toContain("ctm/v1/rollout_service.ts");
    expect(await files(GEN)).toEqual(names);
    for (const n of names) expect(await readFile(join(GEN, n), "utf8"), n).toBe(await readFile(join(fresh, n), "utf8"));
  });
});
