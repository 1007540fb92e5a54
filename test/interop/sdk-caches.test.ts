/**
 * The Go and Python SDKs' caches against a real daemon: it evaluates a rolling key locally exactly as the
 * daemon's Get does, unit by unit and with no RPC per evaluation; follows writes; keeps serving
 * its last values while the daemon is down; resumes after a restart with nothing missed or
 * repeated; and a new process starts from the snapshot file it saved, with no daemon at all.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutPlan } from "../../src/gen/ctm/v1/rollout.js";
import { reasonToJSON } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { freePort, GO_BUILD_MS, GoPath, LineProcess, PY_ENV, PY_INTEROP, PYTHON, type JsonLine } from "./helpers.js";

let gopath: GoPath;
let bin: string;
let work: string;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  gopath = await GoPath.create();
  bin = await gopath.build("ctm.dev/clients/go/cmd/interop");
  work = await mkdtemp(join(tmpdir(), "ctm-go-cache-"));
}, GO_BUILD_MS);

afterAll(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  await gopath?.dispose();
  await rm(work, { recursive: true, force: true });
});

const plan = (p: Partial<RolloutPlan>): RolloutPlan => ({ salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...p }) as RolloutPlan;
const UNITS = Array.from({ length: 400 }, (_, i) => (i % 5 === 0 ? `ünï-${i}` : i % 7 === 0 ? `🚀${i}` : `user-${i}`));
const rpcCount = (d: Daemon, method: string) => d.logs.filter((l) => l.msg === "rpc" && l.method === method).length;

const LANGUAGES = {
  Go: (args: string[]) => new LineProcess(bin, ["cache", ...args], gopath.env),
  Python: (args: string[]) => new LineProcess(PYTHON, [PY_INTEROP, "cache", ...args.map((a) => a.replace(/^-(?=[a-z])/, "--"))], PY_ENV),
};

async function evalLine(p: LineProcess, key: string, units: string[]): Promise<JsonLine> {
  const before = p.of("eval").length;
  p.send(`eval ${key} ${JSON.stringify(units)}`);
  await p.until(() => p.of("eval").length > before, `eval of ${key}`);
  return p.of("eval")[before]!;
}

describe.each(Object.keys(LANGUAGES) as (keyof typeof LANGUAGES)[])("%s Cache", (language) => {
  const goCache = (args: string[]): LineProcess => {
    const p = LANGUAGES[language](args);
    cleanups.push(() => p.kill());
    return p;
  };

  it("evaluates locally as the daemon does, follows writes, survives the daemon going away, and starts from its snapshot file", async () => {
    const port = await freePort();
    const daemon = await Daemon.start({ args: ["--listen", `127.0.0.1:${port}`] });
    cleanups.push(() => daemon.dispose());
    let client = connect(daemon.address);
    let c = api(client);
    await c.set({ key: "gc/flag", value: "off" });
    await c.set({
      key: "gc/flag",
      value: "on",
      rollout: plan({
        earlyAdopters: ["user-3"],
        rules: [{ rule: { $case: "unitIdRegex", value: "^ünï-1\\d+$" } }],
        variants: [
          { name: "a", weight: 60, value: "on-a" },
          { name: "b", weight: 40, value: "on-b" },
        ],
        percentage: { $case: "steps", value: { start: 35, increment: 10, interval: { seconds: 3600, nanos: 0 }, target: 95 } },
      }),
    });
    await c.set({ key: "gc/static", value: { limit: 1 } });
    await c.set({ key: "other/not-cached", value: 1 });

    const bootstrap = join(work, `bootstrap-${language}.json`);
    const go = goCache(["-addr", daemon.address, "-prefix", "gc/", "-bootstrap", bootstrap]);
    await go.until(() => go.of("state").some((s) => s.source === "daemon"), "the cache seeded from the daemon");

    // Unit by unit, the local answer is the daemon's, and asking costs the daemon nothing.
    const gets = rpcCount(daemon, "Get");
    const local = (await evalLine(go, "gc/flag", UNITS)).results as { unit: string; value: unknown; variant: string; reason: string }[];
    expect(rpcCount(daemon, "Get")).toBe(gets);
    for (const [i, unit] of UNITS.entries()) {
      const r = await c.get({ key: "gc/flag", context: { unitId: unit, environment: "", attributes: {}, requestId: "" } });
      expect(local[i], unit).toEqual({ unit, value: r.value, variant: r.variant, reason: reasonToJSON(r.reason).replace("REASON_", "").toLowerCase() });
    }
    const reasons = new Set(local.map((r) => r.reason));
    for (const want of ["early_adopter", "rule_match", "variant", "out_of_rollout"]) expect(reasons).toContain(want);

    // A write reaches the cache through its watch.
    const w1 = await c.set({ key: "gc/static", value: { limit: 2 } });
    await go.until(() => go.of("change").some((l) => l.revision === w1.entry!.revision), "the write reached the cache");
    expect((await evalLine(go, "gc/static", ["x"])).results).toEqual([{ unit: "x", value: { limit: 2 }, variant: "", reason: "static" }]);

    // The daemon goes away: the cache says so, and keeps serving what it had.
    await daemon.kill();
    client.close();
    await go.until(() => go.of("state").at(-1)?.connected === false, "the cache noticed");
    const offline = await evalLine(go, "gc/flag", UNITS);
    expect(offline.connected).toBe(false);
    expect(offline.results).toEqual(local);
    go.send(`save ${bootstrap}`);
    await go.until(() => go.of("saved").length === 1, "the snapshot file was written");

    // Back on the same address: the watch resumes from its last revision + 1.
    await daemon.launch();
    client = connect(daemon.address);
    c = api(client);
    cleanups.push(() => client.close());
    await go.until(() => go.of("state").at(-1)?.connected === true, "the cache reconnected");
    const w2 = await c.set({ key: "gc/static", value: { limit: 3 } });
    await c.delete({ key: "gc/flag" });
    const w3 = await c.set({ key: "gc/new", value: true });
    await go.until(() => go.of("change").some((l) => l.revision === w3.entry!.revision), "the writes after the restart reached the cache");
    const revisions = go.of("change").map((l) => l.revision as number);
    // Each revision once (the seed's changes carry their entries' own revisions, all below w1).
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions.filter((r) => r >= w1.entry!.revision)).toEqual([w1.entry!.revision, w2.entry!.revision, w2.entry!.revision + 1, w3.entry!.revision]);
    expect((await evalLine(go, "gc/flag", ["user-3"])).results).toEqual([{ unit: "user-3", missing: true }]);
    go.send("quit");
    expect(await go.wait()).toBe(0);

    // A new process with no daemon to reach serves the file it saved.
    const saved = JSON.parse(await readFile(bootstrap, "utf8")) as { revision: string | number; entries: { key: string }[] };
    expect(saved.entries.map((e) => e.key)).toEqual(["gc/flag", "gc/static"]);
    const nowhere = `127.0.0.1:${await freePort()}`;
    const cold = goCache(["-addr", nowhere, "-prefix", "gc/", "-bootstrap", bootstrap]);
    await cold.until(() => cold.of("state").some((s) => s.source === "bootstrap"), "the cache served the bootstrap file");
    const fromFile = await evalLine(cold, "gc/flag", UNITS);
    expect(fromFile.source).toBe("bootstrap");
    expect(fromFile.results).toEqual(local);
    cold.send("quit");
    expect(await cold.wait()).toBe(0);
  }, 120_000);
});
