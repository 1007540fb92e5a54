/**
 * The TypeScript SDK as users install it: `npm pack` builds it from its own sources (the
 * daemon's evaluation code comes as its synced copy in src/domain), and a new project that
 * installs the tarball, with @openfeature/server-sdk beside it as the peer it asks for, follows
 * a rolling key on a real daemon and evaluates it as the daemon does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonToJSON } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

const run = promisify(execFile);
const SDK = resolve(import.meta.dirname, "../../clients/ts");
const npm = (args: string[], cwd: string) => run("npm", [...args, "--no-fund", "--no-audit", "--prefer-offline", "--loglevel=error"], { cwd, timeout: 240_000 });
let work: string;
let daemon: Daemon;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ctm-sdk-pkg-"));
  daemon = await Daemon.start();
});
afterAll(async () => {
  await daemon?.dispose();
  await rm(work, { recursive: true, force: true });
});

describe("the TypeScript SDK package", () => {
  it("packs from its own sources, installs into a new project, and evaluates there as the daemon does", async () => {
    await run(process.execPath, [resolve(import.meta.dirname, "../../scripts/sync-sdk-domain.mjs"), "--check"]);
    await npm(["pack", "--pack-destination", work], SDK);
    const [tarball] = (await readdir(work)).filter((f) => f.endsWith(".tgz"));
    expect(tarball).toMatch(/^ctm-client-\d+\.\d+\.\d+\.tgz$/);
    const { stdout: listing } = await run("tar", ["-tzf", join(work, tarball!)]);
    for (const f of ["package/dist/index.js", "package/dist/openfeature.js", "package/dist/domain/rollout/evaluate.js", "package/dist/index.d.ts"]) expect(listing).toContain(f);
    expect(listing).not.toMatch(/package\/(src|test)\//);

    const project = join(work, "app");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await npm(["install", join(work, tarball!), "@openfeature/server-sdk@^1.23.0"], project);

    const c = api(connect(daemon.address));
    await c.set({ key: "pkg/flag", value: "off" });
    await c.set({ key: "pkg/flag", value: "on", rollout: { stable: "off", salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, allowPastStart: false, percentage: { $case: "steps", value: { start: 50, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 100 } } } });
    const units = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    await writeFile(
      join(project, "main.js"),
      `import { CtmClient } from "@ctm/client";
import { CtmProvider } from "@ctm/client/openfeature";
const client = new CtmClient({ address: ${JSON.stringify(daemon.address)}, cache: { prefix: "pkg/" } });
await client.ready();
const units = ${JSON.stringify(units)};
console.log(JSON.stringify({ provider: typeof CtmProvider, kind: client.cache.entry("pkg/flag").kind, answers: units.map((u) => { const r = client.cache.get("pkg/flag", { unitId: u }); return [r.value, r.reason]; }) }));
client.close();
`,
    );
    const out = JSON.parse((await run(process.execPath, ["main.js"], { cwd: project, timeout: 60_000 })).stdout) as { provider: string; kind: string; answers: [string, string][] };
    expect(out.provider).toBe("function");
    expect(out.kind).toBe("RECORD_KIND_SET");
    for (const [i, u] of units.entries()) {
      const r = await c.get({ key: "pkg/flag", context: { unitId: u, environment: "", attributes: {}, requestId: "" } });
      expect(out.answers[i], u).toEqual([r.value, reasonToJSON(r.reason).replace("REASON_", "").toLowerCase()]);
    }
    expect(new Set(out.answers.map((a) => a[0]))).toEqual(new Set(["on", "off"]));

    // From the directory of a checkout: npm links it and its prepare script builds it.
    const linked = join(work, "linked");
    await run("mkdir", ["-p", linked]);
    await writeFile(join(linked, "package.json"), JSON.stringify({ name: "linked", private: true, type: "module" }));
    await npm(["install", SDK], linked);
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", 'const m = await import("@ctm/client"); console.log(typeof m.CtmClient, typeof m.evaluateEntry)'], { cwd: linked });
    expect(stdout.trim()).toBe("function function");
  }, 300_000);
});
