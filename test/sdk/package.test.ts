/**
 * The TypeScript SDK as users install it. It builds from its own sources; the evaluation code it
 * shares with the daemon is one package, @ctm/core (packages/core), that both import. `npm pack`
 * of the two workspaces gives two tarballs; a new project that installs them, with
 * @openfeature/server-sdk beside them as the peer the SDK asks for, follows a rolling key on a
 * real daemon and evaluates it as the daemon does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonToJSON } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const SDK = join(ROOT, "clients/ts");
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
    await npm(["pack", "--workspace", "@ctm/core", "--workspace", "@ctm/client", "--pack-destination", work], ROOT);
    const tarballs = (await readdir(work)).filter((f) => f.endsWith(".tgz")).sort();
    expect(tarballs).toEqual([expect.stringMatching(/^ctm-client-\d+\.\d+\.\d+\.tgz$/), expect.stringMatching(/^ctm-core-\d+\.\d+\.\d+\.tgz$/)]);
    const [client, core] = tarballs as [string, string];
    const list = async (t: string) => (await run("tar", ["-tzf", join(work, t)])).stdout;
    const sdkFiles = await list(client);
    for (const f of ["package/dist/index.js", "package/dist/openfeature.js", "package/dist/evaluate.js", "package/dist/index.d.ts"]) expect(sdkFiles).toContain(f);
    // No copy of the daemon's code: the SDK's evaluation is @ctm/core's.
    expect(sdkFiles).not.toMatch(/package\/dist\/(domain|rollout)\//);
    expect(await readFile(join(SDK, "dist/evaluate.js"), "utf8")).toContain('from "@ctm/core/rollout/evaluate"');
    expect((await run("tar", ["-xOzf", join(work, client), "package/package.json"])).stdout).toContain('"@ctm/core": "0.1.0"');
    const coreFiles = await list(core);
    for (const f of ["package/dist/rollout/evaluate.js", "package/dist/rollout/evaluate.d.ts", "package/dist/bucketing.js"]) expect(coreFiles).toContain(f);
    for (const files of [sdkFiles, coreFiles]) expect(files).not.toMatch(/package\/(src|test)\/|\.test\.|tsbuildinfo/);

    const project = join(work, "app");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await npm(["install", join(work, core), join(work, client), "@openfeature/server-sdk@^1.23.0"], project);

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
    // The daemon and the SDK run the same evaluation module, not two copies of it.
    const resolveFrom = async (dir: string) => realpath(new URL((await run(process.execPath, ["--input-type=module", "-e", 'console.log(import.meta.resolve("@ctm/core/rollout/evaluate"))'], { cwd: dir })).stdout.trim()).pathname);
    const daemonEvaluate = await resolveFrom(join(ROOT, "dist/src"));
    expect(daemonEvaluate).toBe(join(ROOT, "packages/core/dist/rollout/evaluate.js"));
    expect(await resolveFrom(join(linked, "node_modules/@ctm/client"))).toBe(daemonEvaluate);
  }, 300_000);
});
