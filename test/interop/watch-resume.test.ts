/**
 * Interop 2: the Python client's Watch resumes from a revision with no loss and no
 * duplicates: in a new process from the last revision seen + 1 (across a daemon restart),
 * and by itself, inside one running generator, when the daemon restarts under it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { api, connect, headRevision } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { freePort, pythonWatch, runPython, type JsonLine } from "./helpers.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function startDaemon(args: string[] = []) {
  const daemon = await Daemon.start({ args });
  cleanups.push(() => daemon.dispose());
  return daemon;
}

function tsClient(address: string) {
  const client = connect(address);
  cleanups.push(() => client.close());
  return { client, c: api(client) };
}

interface Written {
  revision: number;
  key: string;
  value: unknown;
}

/** Writes n values under feed/, with a write to an unwatched key between each. */
async function writeFeed(c: ReturnType<typeof api>, from: number, n: number): Promise<Written[]> {
  const out: Written[] = [];
  for (let i = from; i < from + n; i++) {
    const key = `feed/k${i % 3}`;
    const s = await c.set({ key, value: { i }, author: "ts" });
    out.push({ revision: s.entry!.revision, key, value: { i } });
    await c.set({ key: "other/noise", value: i });
  }
  return out;
}

const events = (lines: JsonLine[]) => lines.filter((l) => l.type === "event").map((l) => ({ revision: l.revision, key: l.key, value: l.value }));

describe("Python Watch resumes from a revision", () => {
  it("a new process resumes from last + 1 and sees exactly what it missed, across a restart", async () => {
    const daemon = await startDaemon();
    let { c } = tsClient(daemon.address);
    const first = await writeFeed(c, 0, 5);

    // Read 3 events, then stop.
    const r1 = await runPython(["watch", "--addr", daemon.address, "--key", "feed/", "--prefix", "--start", String(first[0]!.revision), "--count", "3"]);
    const seen1 = events(r1.stdout.trim().split("\n").map((l) => JSON.parse(l) as JsonLine));
    expect(seen1).toEqual(first.slice(0, 3));
    const last = seen1[2]!.revision as number;

    // Meanwhile: more writes, a restart (a new process on the same data, a new port), more writes.
    const before = await writeFeed(c, 5, 2);
    await daemon.restart();
    ({ c } = tsClient(daemon.address));
    const after = await writeFeed(c, 7, 2);
    const missed = [...first.slice(3), ...before, ...after];

    const r2 = await runPython(["watch", "--addr", daemon.address, "--key", "feed/", "--prefix", "--start", String(last + 1), "--until", String(after[1]!.revision)]);
    const lines2 = r2.stdout.trim().split("\n").map((l) => JSON.parse(l) as JsonLine);
    expect(events(lines2)).toEqual(missed);
    expect(lines2.filter((l) => l.type === "retry")).toEqual([]);
  });

  it("a running watch resumes by itself when the daemon restarts under it", async () => {
    // The daemon must come back on the same address for the same client to find it.
    const port = await freePort();
    const daemon = await startDaemon(["--listen", `127.0.0.1:${port}`]);
    expect(daemon.address).toBe(`127.0.0.1:${port}`);
    let { client, c } = tsClient(daemon.address);
    await c.set({ key: "feed/before", value: "not seen" });
    const from = (await headRevision(client)) + 1;

    const py = pythonWatch(["--addr", daemon.address, "--key", "feed/", "--prefix", "--start", String(from), "--count", "6", "--max-retry-time", "20"]);
    cleanups.push(() => py.kill());
    const a = await writeFeed(c, 0, 3);
    await py.until(() => py.of("event").length >= 3, "the first 3 events");
    expect(py.of("retry")).toEqual([]);

    // SIGTERM: the stream ends with UNAVAILABLE; the generator retries until the daemon is back.
    await daemon.restart();
    expect(daemon.address).toBe(`127.0.0.1:${port}`);
    ({ client, c } = tsClient(daemon.address));
    const b = await writeFeed(c, 3, 3);

    expect(await py.wait()).toBe(0);
    expect(events(py.lines)).toEqual([...a, ...b]);
    // It really resumed: a retry after UNAVAILABLE, from the revision after the last one seen.
    const retries = py.of("retry");
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]!.code).toBe("UNAVAILABLE");
    // From the revision after the last one seen (a progress heartbeat may only move it forward).
    expect(retries[0]!.next_revision).toBeGreaterThan(a[2]!.revision);
    expect(retries[0]!.next_revision).toBeLessThanOrEqual(b[0]!.revision);
    const firstRetry = py.lines.indexOf(retries[0]!);
    expect(py.lines.slice(0, firstRetry).filter((l) => l.type === "event")).toHaveLength(3);
    expect(py.lines.at(-1)).toEqual({ type: "done", events: 6 });
  });
});
