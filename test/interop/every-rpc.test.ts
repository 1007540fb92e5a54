/**
 * Interop 3: the Python and the Go clients each call every ConfigService RPC against the real
 * daemon, check the answers themselves (exit 1 on a failed check), and TypeScript checks what
 * they left behind and that the daemon logged every method as served.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigServiceService } from "../../src/gen/ctm/v1/config_service.js";
import { RecordKind } from "../../src/gen/ctm/v1/record.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { GO_BUILD_MS, GoPath, run, runPython } from "./helpers.js";

/** Every RPC of the service, from the generated definition: a new RPC fails this test until both clients call it. */
const ALL_RPCS = Object.values(ConfigServiceService)
  .map((m) => m.path.split("/").pop()!)
  .sort();

let gopath: GoPath;
let goInterop: string;
beforeAll(async () => {
  gopath = await GoPath.create();
  goInterop = await gopath.build("ctm.dev/clients/go/cmd/interop");
}, GO_BUILD_MS);
afterAll(async () => {
  await gopath?.dispose();
});

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup() {
  const daemon = await Daemon.start();
  const client = connect(daemon.address);
  cleanups.push(() => daemon.dispose(), () => client.close());
  return { daemon, c: api(client) };
}

/**
 * The methods the daemon logged as served: unary calls with OK, Watch streams ended by the
 * client (CANCELLED; the line comes when the daemon sees the cancellation, so wait for it).
 */
async function expectServed(d: Daemon, methods: string[]) {
  const served = () =>
    new Set(d.logs.filter((l) => l.msg === "rpc" && (l.status === "OK" || (l.method === "Watch" && l.status === "CANCELLED"))).map((l) => String(l.method)));
  const deadline = Date.now() + 5_000;
  while (methods.some((m) => !served().has(m)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect([...served()].sort()).toEqual(expect.arrayContaining(methods));
}

async function expectLeftBehind(c: ReturnType<typeof api>, p: string, author: string) {
  const h = await c.history({ key: `${p}svc`, limit: 10 });
  expect(h.entries.map((e) => [e.version, e.kind, e.author])).toEqual([
    [5, RecordKind.RECORD_KIND_DELETE, author],
    [4, RecordKind.RECORD_KIND_ROLLBACK, "anonymous"],
    [3, RecordKind.RECORD_KIND_ROLLBACK, "oncall"],
    [2, RecordKind.RECORD_KIND_SET, `${author}2`],
    [1, RecordKind.RECORD_KIND_SET, author],
  ]);
  expect(h.entries[3]!.value).toEqual({ timeout: 9, tags: ["a", "b"], new: true });
  const snap = await c.snapshot({ prefix: `${p}pay/` });
  expect(snap.entries.map((e) => [e.key, e.value])).toEqual([[`${p}pay/fee`, 1]]);
}

describe("every ConfigService RPC from each language", () => {
  it("lists the fourteen RPCs", () => {
    expect(ALL_RPCS).toEqual(["Apply", "Blame", "Delete", "Diff", "Get", "GetAt", "History", "ListChanges", "ListKeys", "Rollback", "RollbackPrefix", "Set", "Snapshot", "Watch"]);
  });

  it("Python", async () => {
    const { daemon, c } = await setup();
    const out = JSON.parse((await runPython(["all-rpcs", "--addr", daemon.address, "--prefix", "py/"], 40_000)).stdout) as { calls: string[]; checks: number };
    expect(out.calls).toEqual(ALL_RPCS);
    expect(out.checks).toBeGreaterThan(25);
    await expectLeftBehind(c, "py/", "py");
    // The live watch: consecutive writes to py/live, the last one by the writer thread.
    const live = await c.history({ key: "py/live", limit: 1000 });
    expect(live.entries.length).toBeGreaterThanOrEqual(2);
    await expectServed(daemon, ALL_RPCS);
  });

  it("Go", async () => {
    const { daemon, c } = await setup();
    const out = JSON.parse((await run(goInterop, ["all-rpcs", "-addr", daemon.address, "-prefix", "go/"], { timeoutMs: 40_000 })).stdout) as { calls: string[]; checks: number };
    expect(out.calls).toEqual(ALL_RPCS);
    expect(out.checks).toBeGreaterThan(25);
    await expectLeftBehind(c, "go/", "go");
    await expectServed(daemon, ALL_RPCS);
  });
});
