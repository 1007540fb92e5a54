import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson, CtmProcess } from "./run-ctm.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function start(args: string[] = []): Promise<Daemon> {
  const d = await Daemon.start({ args });
  cleanups.push(() => d.dispose());
  return d;
}

function watch(address: string, args: string[]): CtmProcess {
  const p = new CtmProcess(address, ["watch", ...args]);
  cleanups.push(() => p.kill());
  return p;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const head = async (a: string): Promise<number> => (await ctmJson(a, ["snapshot"])).header?.revision ?? 0; // proto JSON omits a 0

describe("ctm watch", () => {
  it("--json prints one Entry per line from --from, and --count ends it with exit 0", async () => {
    const d = await start();
    await ctm(d.address, ["set", "app/a", "1"]);
    await ctm(d.address, ["set", "other", "1"]);
    await ctm(d.address, ["set", "app/b", "2"]);
    const w = watch(d.address, ["--json", "app/", "--prefix", "--from", "1", "--count", "3"]);
    await ctm(d.address, ["delete", "app/a"]);
    expect(await w.exited).toBe(0);
    const events = w.lines.map((l) => JSON.parse(l));
    expect(events.map((e) => [e.key, e.revision, e.kind])).toEqual([
      ["app/a", 1, "RECORD_KIND_SET"],
      ["app/b", 3, "RECORD_KIND_SET"],
      ["app/a", 4, "RECORD_KIND_DELETE"],
    ]);
  });

  it("streams human lines until Ctrl-C (SIGINT), then exits 0", async () => {
    const d = await start();
    const w = watch(d.address, ["db.pool_size", "--from", String((await head(d.address)) + 1)]);
    await ctm(d.address, ["set", "db.pool_size", "20", "-m", "more"]);
    await w.untilLines(1);
    expect(w.lines[0]).toMatch(/^#1 \S+ SET +db\.pool_size v1 20 tester "more"$/);
    w.signal("SIGINT");
    expect(await w.exited).toBe(0);
  });

  it("resumes after the daemon restarts, without gaps or duplicates", async () => {
    const port = await freePort();
    const d = await start(["--listen", `127.0.0.1:${port}`]);
    const w = watch(d.address, ["--json", "k", "--from", "1", "--count", "4"]);
    await ctm(d.address, ["set", "k", "1"]);
    await ctm(d.address, ["set", "k", "2"]);
    await w.untilLines(2);
    await d.restart();
    expect(d.address).toBe(`127.0.0.1:${port}`);
    await w.untilStderr("reconnecting from revision 3");
    await ctm(d.address, ["set", "k", "3"]);
    await ctm(d.address, ["set", "k", "4"]);
    expect(await w.exited).toBe(0);
    expect(w.lines.map((l) => JSON.parse(l).revision)).toEqual([1, 2, 3, 4]);
    expect(w.stderr).toMatch(/^ctm: UNAVAILABLE: /m);
  });

  it("a daemon that cannot be reached at all exits 14", async () => {
    const port = await freePort();
    const w = new CtmProcess(`127.0.0.1:${port}`, ["watch", "k"]);
    cleanups.push(() => w.kill());
    expect(await w.exited).toBe(14);
    expect(w.stderr).toMatch(/^ctm: UNAVAILABLE: /);
  });
});
