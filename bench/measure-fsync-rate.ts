import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface FsyncRate {
  fsyncsPerSec: number;
  count: number;
  seconds: number;
}

/**
 * The disk's durable-write ceiling: append 4 KiB + fsync, in a loop, to a file on the same
 * filesystem as the data dir. A group-committing Set can beat this rate; a Set that fsyncs
 * alone cannot. Runs synchronously in the caller (nothing else is being measured meanwhile).
 */
export function measureFsyncRate(dir: string, seconds: number): FsyncRate {
  const file = join(dir, "fsync-probe.bin");
  const block = Buffer.alloc(4096, 0x5a);
  const fd = openSync(file, "w");
  let count = 0;
  const started = process.hrtime.bigint();
  const end = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  try {
    while (now < end) {
      writeSync(fd, block, 0, block.length, count * block.length);
      fsyncSync(fd);
      count++;
      now = process.hrtime.bigint();
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const elapsed = Number(now - started) / 1e9;
  return { fsyncsPerSec: count / elapsed, count, seconds: elapsed };
}
