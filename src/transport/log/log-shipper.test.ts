import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildJs } from "../../../test/helpers/build-js.js";
import { LogBatchFormatter } from "./log-batch-formatter.js";
import * as fromSource from "./log-shipper.js";

type ShipperModule = typeof fromSource;
type Shipper = InstanceType<ShipperModule["LogShipper"]>;
type Options = fromSource.LogShipperOptions;

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCE_URL = new URL("./log-shipper.ts", import.meta.url).href;
const BINDINGS = { component: "grpc" };

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A real temp file opened for writing; its fd is closed after the test. */
async function logFile(): Promise<{ path: string; fd: number }> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-log-"));
  const path = join(dir, "out.log");
  const fd = openSync(path, "w");
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => closeSync(fd));
  return { path, fd };
}

/** The file's lines, each checked to be one whole JSON object. */
function readLines(path: string): Record<string, unknown>[] {
  const text = readFileSync(path, "utf8");
  if (text === "") return [];
  expect(text.endsWith("\n")).toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const flushed = (s: Shipper): Promise<void> => new Promise((resolve) => s.flush(() => resolve()));

/** An RPC row or a main-logger line, as the test logged it. */
type Item = { row: true; method: string; key: string | undefined; durationMs: number } | { row: false; msg: string; level: number };
/** What a logged item reads as in the file, to compare orders with. */
const tag = (o: Record<string, unknown>): string => (o.msg === "rpc" ? `row ${String(o.method)} ${String(o.key)} ${String(o.durationMs)}` : `line ${String(o.level)} ${String(o.msg)}`);
const tagOf = (i: Item): string => (i.row ? `row ${i.method} ${String(i.key)} ${i.durationMs}` : `line ${i.level} ${i.msg}`);

function suite(name: string, load: () => ShipperModule) {
  describe(name, () => {
    const shipper = async (opts: Partial<Options> = {}): Promise<{ s: Shipper; path: string }> => {
      const { path, fd } = await logFile();
      const { LogShipper, LOG_SHIPPER_DEFAULTS } = load();
      const s = new LogShipper({ ...LOG_SHIPPER_DEFAULTS, fd, rpcBindings: BINDINGS, ...opts });
      // Closed before the fd is (cleanups run in reverse).
      cleanups.push(() => s.close());
      return { s, path };
    };

    it("writes each row as the JSON line pino would write on the serving thread, stamped when the row was added", async () => {
      const { s, path } = await shipper();
      const calls: { method: string; key: string | undefined; durationMs: number; before: number; after: number }[] = [];
      const add = (method: string, key: string | undefined, durationMs: number) => {
        const before = Date.now();
        s.ok(method, key, durationMs);
        calls.push({ method, key, durationMs, before, after: Date.now() });
      };
      add("/ctm.v1.ConfigService/Get", "checkout", 0.123);
      await sleep(5);
      add("/ctm.v1.ConfigService/Get", "static.key", 2);
      await sleep(5);
      add("/ctm.v1.ConfigService/Set", undefined, 17.5);
      add("/ctm.v1.ConfigService/Get", "", 0);
      await flushed(s);

      const raw = readFileSync(path, "utf8").split(/(?<=\n)/);
      const lines = readLines(path);
      expect(lines).toHaveLength(calls.length);
      lines.forEach((l, i) => {
        const c = calls[i]!;
        const expected: Record<string, unknown> = { level: 30, time: l.time, pid: process.pid, hostname: hostname(), component: "grpc", method: c.method, status: "OK", durationMs: c.durationMs, msg: "rpc" };
        if (c.key !== undefined) expected.key = c.key;
        expect(l).toEqual(expected);
        expect(l.time).toBeGreaterThanOrEqual(c.before);
        expect(l.time).toBeLessThanOrEqual(c.after);
        // Byte for byte what the serving thread's okLog.info({ key, durationMs }, "rpc") writes (see rpc-logger.ts).
        const out: string[] = [];
        pino({ timestamp: () => `,"time":${String(l.time)}` }, { write: (s: string) => void out.push(s) })
          .child(BINDINGS)
          .child({ method: c.method })
          .child({ status: "OK" })
          .info({ key: c.key, durationMs: c.durationMs }, "rpc");
        expect(raw[i]).toBe(out[0]);
      });
    });

    it("keeps main-logger lines and rows in the order they were logged", async () => {
      const { s, path } = await shipper();
      const log = pino({}, s);
      log.info("starting");
      s.ok("Get", "a", 1);
      s.ok("Get", "b", 2);
      log.warn({ detail: 1 }, "slow disk");
      s.ok("Set", "c", 3);
      log.error("oops");
      log.info("twice");
      s.ok("Get", "d", 4);
      await flushed(s);
      expect(readLines(path).map(tag)).toEqual(["line 30 starting", "row Get a 1", "row Get b 2", "line 40 slow disk", "row Set c 3", "line 50 oops", "line 30 twice", "row Get d 4"]);
    });

    it("writes each HTTP row as the line the HTTP face's pino would write, in its place among rows and lines", async () => {
      const http = { component: "http" };
      const { s, path } = await shipper({ httpBindings: http });
      const log = pino({}, s);
      const rows: fromSource.HttpRow[] = [
        { time: Date.now(), route: "ofrep", method: "POST", path: '/ofrep/v1/evaluate/flags/a"b\\ü', status: 200, durationMs: 0.25, requestId: "req-1", principal: undefined },
        { time: Date.now() + 1, route: "api", method: "POST", path: "/api/ctm.v1.ConfigService/Get", status: 404, durationMs: 3, requestId: "req-2", principal: "token:ci" },
      ];
      s.ok("Get", "a", 1);
      s.http(rows[0]!);
      log.info("between");
      s.http(rows[1]!);
      s.ok("Get", "b", 2);
      await flushed(s);
      const raw = readFileSync(path, "utf8").split(/(?<=\n)/);
      expect(readLines(path).map((o) => (o.msg === "http" ? `http ${String(o.requestId)}` : tag(o)))).toEqual(["row Get a 1", "http req-1", "line 30 between", "http req-2", "row Get b 2"]);
      for (const [i, r] of [[1, rows[0]!] as const, [3, rows[1]!] as const]) {
        // Byte for byte what HttpChain.track's log.info(...) writes through a child with the same bindings.
        const out: string[] = [];
        pino({ timestamp: () => `,"time":${String(r.time)}` }, { write: (x: string) => void out.push(x) })
          .child(http)
          .info({ route: r.route, method: r.method, path: r.path, status: r.status, durationMs: r.durationMs, requestId: r.requestId, ...(r.principal ? { principal: r.principal } : {}) }, "http");
        expect(raw[i]).toBe(out[0]);
      }
    });

    it("keeps the order across shipments of any size and timing", async () => {
      const op = fc.oneof(
        fc.record({ kind: fc.constant("row" as const), key: fc.constantFrom("a", "b", undefined), method: fc.constantFrom("Get", "Set") }),
        fc.record({ kind: fc.constant("line" as const), level: fc.constantFrom("info" as const, "warn" as const, "error" as const) }),
        fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 3 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3 }), async (ops, maxRows, maxDelayMs) => {
          const { s, path } = await shipper({ maxRows, maxDelayMs });
          const log = pino({}, s);
          const levels = { info: 30, warn: 40, error: 50 };
          const items: Item[] = [];
          for (const [n, o] of ops.entries()) {
            if (o.kind === "row") {
              s.ok(o.method, o.key, n);
              items.push({ row: true, method: o.method, key: o.key, durationMs: n });
            } else if (o.kind === "line") {
              log[o.level](`line-${n}`);
              items.push({ row: false, msg: `line-${n}`, level: levels[o.level] });
            } else await sleep(o.ms);
          }
          await flushed(s);
          const lines = readLines(path);
          // One worker per run: closed here, not all at the end (each holds a process exit hook).
          await s.close();
          expect(lines.map(tag)).toEqual(items.map(tagOf));
        }),
        { numRuns: 25 },
      );
    });

    it("flush(cb) calls back once everything logged before it is in the file", async () => {
      const { s, path } = await shipper({ maxDelayMs: 60_000 });
      const log = pino({}, s);
      const seen: { upTo: number; now: string[] }[] = [];
      const done: Promise<void>[] = [];
      const expected: string[] = [];
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 3; i++) {
          s.ok("Get", `k${round}.${i}`, i);
          expected.push(`row Get k${round}.${i} ${i}`);
        }
        log.info(`after round ${round}`);
        expected.push(`line 30 after round ${round}`);
        s.ok("Get", `tail${round}`, 9);
        expected.push(`row Get tail${round} 9`);
        const upTo = expected.length;
        done.push(
          new Promise<void>((resolve) =>
            s.flush(() => {
              // Read synchronously in the callback, checked below: all that was logged before flush() is there.
              seen.push({ upTo, now: readLines(path).map(tag) });
              resolve();
            }),
          ),
        );
        if (round % 2) await sleep(1);
      }
      await Promise.all(done);
      // Callbacks come in the order of the flushes, each after what was logged before its flush().
      expect(seen.map((x) => x.upTo)).toEqual([...seen.map((x) => x.upTo)].sort((a, b) => a - b));
      for (const { upTo, now } of seen) expect(now.slice(0, upTo)).toEqual(expected.slice(0, upTo));
      // pino's logger.flush(cb) goes through the same path.
      s.ok("Get", "via-pino", 1);
      await new Promise<void>((resolve, reject) => log.flush((e) => (e ? reject(e) : resolve())));
      expect(readLines(path).map(tag).at(-1)).toBe("row Get via-pino 1");
    });

    it("close() writes what is left", async () => {
      const { s, path } = await shipper({ maxRows: 1000, maxDelayMs: 60_000 });
      const log = pino({}, s);
      const expected: string[] = [];
      for (let i = 0; i < 10; i++) {
        s.ok("Get", `k${i}`, i);
        expected.push(`row Get k${i} ${i}`);
      }
      log.info("bye");
      s.ok("Get", "last", 10);
      expected.push("line 30 bye", "row Get last 10");
      await s.close();
      expect(readLines(path).map(tag)).toEqual(expected);
      // Closed, it writes on this thread: nothing logged later is lost either.
      s.ok("Get", "after-close", 11);
      await flushed(s);
      expect(readLines(path).map(tag)).toEqual([...expected, "row Get after-close 11"]);
    });

    it("delivers more rows than maxRows in one go, all of them, in order", async () => {
      const { s, path } = await shipper({ maxRows: 16, maxDelayMs: 60_000 });
      const n = 16 * 37 + 5;
      for (let i = 0; i < n; i++) s.ok("Get", `key-${i}`, i);
      await flushed(s);
      const lines = readLines(path);
      expect(lines).toHaveLength(n);
      expect(lines.map((l) => [l.key, l.durationMs])).toEqual(Array.from({ length: n }, (_, i) => [`key-${i}`, i]));
    });

    it("escapes keys and methods: quotes, backslashes, newlines, control and non-ASCII characters", async () => {
      const { s, path } = await shipper();
      const keys = [
        'say "hi"',
        "back\\slash",
        "line1\nline2\r\n",
        "tab\there",
        "nul\0byte",
        "\u0001\u001f\u007f",
        "\u2028\u2029",
        "ключ",
        "中文😀👩‍💻",
        "e\u0301",
        "",
        `${'"'.repeat(60)}\n${"ü".repeat(60)}`, // over 100 characters: pino's other escaping path
      ];
      const method = '/a"b\\c\n/d';
      keys.forEach((k, i) => s.ok(method, k, i));
      await flushed(s);
      const text = readFileSync(path, "utf8");
      // One line per row: every newline inside a key is escaped.
      expect(text.split("\n")).toHaveLength(keys.length + 1);
      const lines = readLines(path);
      expect(lines.map((l) => l.key)).toEqual(keys);
      expect(lines.every((l) => l.method === method)).toBe(true);
    });
  });
}

describe("LogBatchFormatter", () => {
  it("puts each line before the row it was logged before, and the rest after the last row", () => {
    const f = new LogBatchFormatter(BINDINGS);
    const text = f.format({
      rows: { time: [1, 2, 3], method: ["Get", "Set", "Get"], key: ["a", undefined, "c"], durationMs: [1, 2, 3] },
      lines: ['{"msg":"l0"}\n', '{"msg":"l1"}\n', '{"msg":"l2"}\n', '{"msg":"l3"}\n'],
      lineAt: [0, 2, 2, 3],
    });
    const out = text
      .slice(0, -1)
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => (o.msg === "rpc" ? `${String(o.time)} ${String(o.method)} ${String(o.key)}` : o.msg))).toEqual(["l0", "1 Get a", "2 Set undefined", "l1", "l2", "3 Get c", "l3"]);
    expect(out[1]).toEqual({ level: 30, time: 1, pid: process.pid, hostname: hostname(), component: "grpc", method: "Get", status: "OK", key: "a", durationMs: 1, msg: "rpc" });
    // Reused: a second batch starts empty.
    expect(f.format({ rows: { time: [], method: [], key: [], durationMs: [] }, lines: [], lineAt: [] })).toBe("");
  });
});

describe("LogShipper", () => {
  let built: string;
  let mod: ShipperModule;
  beforeAll(async () => {
    built = await buildJs(["src/transport/log/log-shipper.ts", "src/transport/log/log-worker.ts"]);
    mod = (await import(pathToFileURL(join(built, "out/transport/log/log-shipper.js")).href)) as ShipperModule;
  });
  afterAll(() => rm(built, { recursive: true, force: true }));

  suite("compiled, its worker under plain node", () => mod);

  describe("loaded from its TypeScript source (as vitest loads it)", () => {
    // The module starts log-worker.ts with execArgv ["--import", "tsx"]. On Node < 22.22.3
    // (< 24.11.1 on 24) tsx registers its loader only on the main thread, so the worker dies
    // with ERR_UNKNOWN_FILE_EXTENSION; what was shipped to it before that is lost.
    it("writes rows logged right after it was created", async () => {
      const { path, fd } = await logFile();
      const s = new fromSource.LogShipper({ ...fromSource.LOG_SHIPPER_DEFAULTS, fd, rpcBindings: BINDINGS });
      cleanups.push(() => s.close());
      for (let i = 0; i < 5; i++) s.ok("Get", `k${i}`, i);
      await flushed(s);
      expect(readLines(path).map((l) => l.key)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
    });
  });

  it("loses nothing it shipped to a worker that then died: flush() calls back only once it is written", async () => {
    const { path, fd } = await logFile();
    const s = new mod.LogShipper({ ...mod.LOG_SHIPPER_DEFAULTS, fd, rpcBindings: BINDINGS });
    cleanups.push(() => s.close());
    s.ok("Get", "before", 0);
    await flushed(s);
    expect(readLines(path).map((l) => l.key)).toEqual(["before"]);
    // The worker goes away (a crash, an OOM, a failed start all look the same to the shipper).
    void (s as unknown as { worker: Worker }).worker.terminate();
    for (let i = 0; i < 5; i++) s.ok("Get", `k${i}`, i);
    await flushed(s);
    expect(readLines(path).map((l) => l.key)).toEqual(["before", "k0", "k1", "k2", "k3", "k4"]);
  });

  it("close() removes the process exit hook it installed", async () => {
    const { fd } = await logFile();
    const before = process.listenerCount("exit");
    const s = new mod.LogShipper({ ...mod.LOG_SHIPPER_DEFAULTS, fd, rpcBindings: BINDINGS });
    expect(process.listenerCount("exit")).toBe(before + 1);
    await s.close();
    expect(process.listenerCount("exit")).toBe(before);
  });

  describe("at process exit (flushSync), in a real child process writing to its stdout", () => {
    /** A program that logs rows and lines through a LogShipper on fd 1 and exits at once. */
    const program = (shipperUrl: string, waitMs: number) => `
      import { pino } from "pino";
      import { LogShipper, LOG_SHIPPER_DEFAULTS } from ${JSON.stringify(shipperUrl)};
      const s = new LogShipper({ ...LOG_SHIPPER_DEFAULTS, fd: 1, rpcBindings: { component: "grpc" }, maxRows: 7 });
      const log = pino({}, s);
      if (${waitMs} > 0) await new Promise((r) => setTimeout(r, ${waitMs}));
      log.info("first");
      for (let i = 0; i < 60; i++) {
        s.ok("/ctm.v1.ConfigService/Get", "key-" + i, i);
        if (i % 10 === 9) log.warn("line-" + i);
      }
      log.info("last");
      process.exit(0);
    `;
    const expected = [
      "line 30 first",
      ...Array.from({ length: 60 }, (_, i) => [`row /ctm.v1.ConfigService/Get key-${i} ${i}`, ...(i % 10 === 9 ? [`line 40 line-${i}`] : [])]).flat(),
      "line 30 last",
    ];

    async function runChild(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
      const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
      return { code, stdout, stderr };
    }
    const lines = (stdout: string) => {
      expect(stdout.endsWith("\n")).toBe(true);
      return stdout
        .slice(0, -1)
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };

    for (const waitMs of [0, 300]) {
      it(`compiled: every line reaches stdout (exit ${waitMs === 0 ? "at once" : `after ${waitMs} ms`})`, async () => {
        const file = join(built, `exit-${waitMs}.mjs`);
        await writeFile(file, program("./out/transport/log/log-shipper.js", waitMs));
        const r = await runChild([file], built);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const out = lines(r.stdout);
        expect(out.map(tag)).toEqual(expected);
        expect(out.filter((l) => l.msg === "rpc").every((l) => l.component === "grpc" && l.status === "OK" && l.level === 30)).toBe(true);
      });
    }

    it("from the TypeScript source under node --import tsx: every line reaches stdout", async () => {
      const r = await runChild(["--import", "tsx", "--input-type=module", "-e", program(SOURCE_URL, 0)], ROOT);
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n").filter((l) => l !== "").map((l) => tag(JSON.parse(l) as Record<string, unknown>))).toEqual(expected);
      expect(r.stdout.endsWith("\n")).toBe(true);
    });
  });
});
