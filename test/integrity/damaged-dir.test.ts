import { open as openFile, readdir, stat, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { AdminServiceClient } from "../../src/gen/ctm/v1/admin_service.js";
import { api, call, connect, headRevision, rejects } from "../helpers/client.js";
import { Daemon, runDaemonToExit } from "../helpers/daemon.js";
import { ctm } from "../cli/run-ctm.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const RECORDS = 600;

/** A daemon holding revisions 1..600 over 6 keys (k0..k5); the value of revision r is r. */
async function daemonWith600(): Promise<Daemon> {
  const d = await Daemon.start();
  cleanups.push(() => d.dispose());
  const client = connect(d.address);
  const c = api(client);
  for (let r = 1; r <= RECORDS; r++) await c.set({ key: `k${r % 6}`, value: r });
  client.close();
  return d;
}

const start = (dir: string) => runDaemonToExit(["--listen", "127.0.0.1:0", "--metrics-listen", "off", "--http-listen", "off", "--data-dir", dir]);
const ctmd = (...args: string[]) => runDaemonToExit(args);

/** One line on stderr, naming the cause, no stack, exit 1. */
function expectRefusal(r: { code: number | null; stderr: string; stdout: string }, cause: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ctmd: /);
  expect(lines[0]).toMatch(cause);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toMatch(/"msg":"listening"/);
}

/** LevelDB's write-ahead log: the largest NNNNNN.log file. */
async function walFile(dir: string): Promise<string> {
  const logs = (await readdir(dir)).filter((f) => /^\d+\.log$/.test(f));
  const sized = await Promise.all(logs.map(async (f) => ({ f, size: (await stat(join(dir, f))).size })));
  sized.sort((a, b) => b.size - a.size);
  expect(sized[0]!.size).toBeGreaterThan(50_000);
  return join(dir, sized[0]!.f);
}

async function overwrite(file: string, at: number, bytes: Buffer): Promise<void> {
  const fh = await openFile(file, "r+");
  try {
    await fh.write(bytes, 0, bytes.length, at);
  } finally {
    await fh.close();
  }
}

/** Garbage that is the same on every run. */
const garbage = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + 13) & 0xff));

/** After a repair: the store starts, its history is gap-free and every key reads its own revisions. */
async function expectWholeAfterRepair(d: Daemon, kept: number): Promise<void> {
  await d.launch();
  const client = connect(d.address);
  cleanups.push(() => client.close());
  const c = api(client);
  expect(await headRevision(client)).toBe(kept);
  for (let k = 0; k < 6; k++) {
    const h = await c.history({ key: `k${k}`, limit: 1000 });
    const versions = h.entries.map((e) => e.version);
    // Newest first, every version from the newest down to 1, and each value is its revision.
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => versions.length - i));
    for (const e of h.entries) expect(e.value).toBe(e.revision);
  }
  const at = await c.getAt({ key: "k1", at: { $case: "revision", value: kept } });
  expect(at.entry!.revision).toBeLessThanOrEqual(kept);
  expect(at.entry!.value).toBe(at.entry!.revision);
}

describe("a damaged data directory is refused with one line, or repaired explicitly; never served short", () => {
  it("LevelDB's CURRENT file missing: refused, the tables kept; repair restores every revision", async () => {
    const d = await daemonWith600();
    expect(await d.stop()).toBe(0);
    await unlink(join(d.dataDir, "CURRENT"));
    expectRefusal(await start(d.dataDir), /no CURRENT file.*ctmd repair/);
    const repaired = await ctmd("repair", "--data-dir", d.dataDir);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(`kept revisions 1..${RECORDS}`);
    expect(repaired.stdout).toContain("nothing was lost");
    await expectWholeAfterRepair(d, RECORDS);
  });

  it("the write-ahead log's last 100 bytes cut after kill -9: refused naming the lost revision; repair reports it", async () => {
    const d = await daemonWith600();
    // The head witness follows the head within a second.
    await new Promise((r) => setTimeout(r, 1500));
    await d.kill();
    const wal = await walFile(d.dataDir);
    await truncate(wal, (await stat(wal)).size - 100);
    expectRefusal(await start(d.dataDir), /acknowledged revisions \d+\.\.600 are missing/);
    const verify = await ctmd("verify", "--data-dir", d.dataDir);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/DAMAGED at revision \d+/);
    const repaired = await ctmd("repair", "--data-dir", d.dataDir, "--json");
    expect(repaired.code).toBe(0);
    const report = JSON.parse(repaired.stdout) as { kept: number; lost: { from: number; to: number }[]; lostCount: number };
    expect(report.kept).toBeGreaterThan(590);
    expect(report.lost).toEqual([{ from: report.kept + 1, to: RECORDS }]);
    expect(report.lostCount).toBe(RECORDS - report.kept);
    expect((await ctmd("verify", "--data-dir", d.dataDir)).code).toBe(0);
    await expectWholeAfterRepair(d, report.kept);
  });

  it("4 KiB of garbage in the middle of the write-ahead log after kill -9: refused; repair keeps the prefix before it", async () => {
    const d = await daemonWith600();
    await d.kill();
    const wal = await walFile(d.dataDir);
    await overwrite(wal, Math.floor((await stat(wal)).size / 2), garbage(4096));
    expectRefusal(await start(d.dataDir), /failed verification at revision \d+/);
    const repaired = await ctmd("repair", "--data-dir", d.dataDir, "--json");
    expect(repaired.code).toBe(0);
    const report = JSON.parse(repaired.stdout) as { kept: number; lost: { from: number; to: number }[]; lostRecords: { revision: number }[] };
    expect(report.kept).toBeGreaterThan(100);
    expect(report.kept).toBeLessThan(RECORDS);
    expect(report.lost).toEqual([{ from: report.kept + 1, to: RECORDS }]);
    // What is still readable past the damage is listed, so it can be redone by hand.
    expect(report.lostRecords.length).toBeGreaterThan(0);
    await expectWholeAfterRepair(d, report.kept);
  });

  it("garbage inside a table file: refused at start, named by ctmd verify, repaired explicitly", async () => {
    const d = await daemonWith600();
    // A clean stop leaves everything in table files.
    expect(await d.stop()).toBe(0);
    const tables = (await readdir(d.dataDir)).filter((f) => f.endsWith(".ldb"));
    expect(tables.length).toBeGreaterThan(0);
    const sizes = await Promise.all(tables.map(async (f) => (await stat(join(d.dataDir, f))).size));
    const table = join(d.dataDir, tables[sizes.indexOf(Math.max(...sizes))]!);
    await overwrite(table, Math.floor(Math.max(...sizes) / 3), garbage(4096));
    expectRefusal(await start(d.dataDir), /(failed verification|damaged)/);
    const verify = await ctmd("verify", "--data-dir", d.dataDir);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/DAMAGED/);
    const repaired = await ctmd("repair", "--data-dir", d.dataDir, "--json");
    expect(repaired.code).toBe(0);
    const report = JSON.parse(repaired.stdout) as { kept: number; lostCount: number };
    expect(report.kept + report.lostCount).toBe(RECORDS);
    await expectWholeAfterRepair(d, report.kept);
  });

  it("a directory held by another ctmd, or one that is not a store, is refused with one line", async () => {
    const d = await daemonWith600();
    expectRefusal(await start(d.dataDir), /in use by another ctmd/);
    const notAStore = await ctmd("verify", "--data-dir", join(d.dataDir, "access-log", "..", "nowhere"));
    expect(notAStore.code).toBe(1);
    expect(notAStore.stdout).toContain("holds no store");
  });
});

describe("verification is visible while ctmd serves", () => {
  it("the admin RPC checks the whole log on demand; metrics show the last result", async () => {
    const d = await daemonWith600();
    const admin = new AdminServiceClient(d.address, grpc.credentials.createInsecure());
    cleanups.push(() => admin.close());
    const r = await call(admin.verify.bind(admin), {});
    expect(r.verification).toMatchObject({ ok: true, fromRevision: 1, toRevision: RECORDS, recordsChecked: RECORDS, firstBadRevision: 0 });
    expect(r.verification!.headHash).toMatch(/^[0-9a-f]{64}$/);
    const last = await call(admin.getVerification.bind(admin), {});
    expect(last.verification!.headHash).toBe(r.verification!.headHash);
    const metricsAddress = String(d.logs.find((l) => l.msg === "listening")!.metrics);
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(text).toMatch(/^ctm_verify_ok 1$/m);
    expect(text).toMatch(new RegExp(`^ctm_verify_records_checked ${RECORDS}$`, "m"));
    expect(text).toMatch(/^ctm_verify_first_bad_revision 0$/m);
    // A refused call never writes: the head did not move.
    const client = connect(d.address);
    cleanups.push(() => client.close());
    const err = await rejects(api(client).get({ key: "missing" }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(await headRevision(client)).toBe(RECORDS);
  });

  it("ctm verify runs the check and shows the last one", async () => {
    const d = await daemonWith600();
    const table = await ctm(d.address, ["verify"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/result\s+intact/);
    expect(table.stdout).toMatch(new RegExp(`revisions\\s+1\\.\\.${RECORDS}`));
    const last = await ctm(d.address, ["--json", "verify", "--last"]);
    expect(last.code).toBe(0);
    expect(JSON.parse(last.stdout).verification).toMatchObject({ ok: true, toRevision: RECORDS });
  });

  it("a store found damaged while serving stops serving: DATA_LOSS for every call, NOT_SERVING, and the metrics say so", async () => {
    const first = await daemonWith600();
    expect(await first.stop()).toBe(0);
    // Start again with a tail check only, so no table block is read (and cached) before the damage.
    const d = await Daemon.start({ dataDir: first.dataDir, args: ["--verify-on-start", "tail", "--verify-interval-ms", "3600000"] });
    cleanups.push(() => d.kill());
    const tables = (await readdir(d.dataDir)).filter((f) => f.endsWith(".ldb"));
    const sizes = await Promise.all(tables.map(async (f) => (await stat(join(d.dataDir, f))).size));
    const table = join(d.dataDir, tables[sizes.indexOf(Math.max(...sizes))]!);
    await overwrite(table, Math.floor(Math.max(...sizes) / 3), garbage(4096));

    const bad = await ctm(d.address, ["verify"]);
    expect(bad.code).toBe(grpc.status.DATA_LOSS);
    expect(bad.stdout).toMatch(/DAMAGED at revision \d+/);
    const client = connect(d.address);
    cleanups.push(() => client.close());
    const err = await rejects(api(client).get({ key: "k1" }));
    expect(err.code).toBe(grpc.status.DATA_LOSS);
    expect(err.details).toMatch(/failed verification at revision \d+/);
    const write = await rejects(api(client).set({ key: "k1", value: 1 }));
    expect(write.code).toBe(grpc.status.DATA_LOSS);
    const metricsAddress = String(d.logs.find((l) => l.msg === "listening")!.metrics);
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    expect(text).toMatch(/^ctm_verify_ok 0$/m);
    expect(text).toMatch(/^ctm_verify_first_bad_revision [1-9]\d*$/m);
    expect(text).toMatch(/^ctm_store_healthy 0$/m);
  });
});
