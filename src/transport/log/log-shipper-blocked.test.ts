import { execFile } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LOG_SHIPPER_DEFAULTS, LogShipper } from "./log-shipper.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/**
 * A real pipe nobody reads yet: a FIFO opened read-write (so opening does not block), whose
 * writer blocks once the kernel's buffer (64 KiB) is full, like stdout into a stopped reader.
 */
async function blockedPipe(): Promise<{ writeFd: number; drain: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), "ctm-fifo-"));
  const path = join(dir, "out");
  await promisify(execFile)("mkfifo", [path]);
  const writeFd = openSync(path, "r+");
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => closeSync(writeFd));
  cleanups.push(() => closeSync(readFd));
  const buf = Buffer.alloc(64 * 1024);
  return {
    writeFd,
    /** Whatever the pipe holds now. */
    drain: () => {
      let out = "";
      for (;;) {
        try {
          const n = readSync(readFd, buf);
          if (n === 0) return out;
          out += buf.toString("utf8", 0, n);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EAGAIN") return out;
          throw e;
        }
      }
    },
  };
}

describe("LogShipper with its output blocked", () => {
  it("holds at most maxPendingBytes, drops and counts the rest, and logs the count once the output flows", async () => {
    const pipe = await blockedPipe();
    const maxPendingBytes = 64 * 1024;
    const s = new LogShipper({ ...LOG_SHIPPER_DEFAULTS, fd: pipe.writeFd, maxRows: 50, maxPendingBytes });
    cleanups.push(() => s.close());
    const log = pino({}, s);
    const key = "k".repeat(100);
    const total = 20_000;
    let peak = 0;
    for (let i = 0; i < total; i++) {
      s.ok("Get", `${key}-${i}`, 1);
      if (i % 500 === 0) {
        log.info({ i }, "main line");
        // Let the worker take what it can and block on the full pipe.
        await sleep(1);
      }
      peak = Math.max(peak, s.pendingBytes);
    }
    expect(s.dropped).toBeGreaterThan(0);
    // One shipment may be admitted over the line only when nothing else is pending.
    expect(peak).toBeLessThanOrEqual(maxPendingBytes);

    // The reader comes back: everything held reaches the pipe, then the report of the drops.
    let text = "";
    for (let i = 0; i < 4000 && !text.includes("lines were dropped"); i++) {
      text += pipe.drain();
      await sleep(2);
    }
    await new Promise<void>((resolve) => s.flush(() => resolve()));
    text += pipe.drain();
    const lines = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const report = lines.filter((l) => l.msg === "log output was blocked; lines were dropped");
    expect(report).toHaveLength(1);
    expect(report[0]).toMatchObject({ level: 40, component: "log", dropped: s.dropped, droppedTotal: s.dropped, maxPendingBytes });
    // Nothing is lost silently: what arrived plus what was counted is what was logged.
    const logged = total + Math.ceil(total / 500);
    expect(lines.length - 1 + s.dropped).toBe(logged);
    expect(s.pendingBytes).toBe(0);
  }, 60_000);
});
