import { ClassicLevel } from "classic-level";
import type { VerifyReport } from "../verify-report.js";
import { readU64 } from "./codec.js";
import { META } from "./layout.js";
import { verifyLog } from "./log-verifier.js";
import { openFailure } from "./open-failure.js";
import { GENESIS } from "./record-bytes.js";
import { inspectDataDir } from "./store-directory.js";
import { decodeCompacted, decodeIntent } from "./compactor.js";
import { witnessProblem } from "./witness-check.js";

/**
 * `ctmd verify`: checks every record of a stopped store and writes nothing. Problems are
 * part of the report; only a directory that cannot be opened at all throws.
 */
export async function verifyStore(dir: string, onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
  const started = Date.now();
  const failed = (firstBadRevision: number | undefined, reason: string): VerifyReport => ({
    ok: false,
    scope: "full",
    from: 1,
    to: 0,
    recordsChecked: 0,
    firstBadRevision,
    reason,
    headHash: GENESIS.toString("hex"),
    finishedAt: Date.now(),
    durationMs: Date.now() - started,
  });
  if (inspectDataDir(dir) === "new") return failed(undefined, `${dir} holds no store`);
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  try {
    await db.open({ createIfMissing: false });
  } catch (e) {
    const err = openFailure(dir, e);
    if (err.code === "data_loss") return failed(undefined, err.message);
    throw err;
  }
  try {
    const [head, chain, schema, compacted, intent] = await db.getMany([META.head, META.chain, META.schema, META.compact, META.compacting]);
    const headRev = head === undefined ? 0 : readU64(head);
    // A schema-1 store was written before the chain: none of its records carry a hash.
    const chainFrom = chain !== undefined ? readU64(chain) : schema !== undefined && readU64(schema) === 1 ? headRev + 1 : 1;
    if (intent !== undefined) {
      return failed(undefined, `a compaction to revision ${decodeIntent(intent).horizon} was cut short: start ctmd once, which finishes it from its archive, then verify`);
    }
    const report = await verifyLog(db, { scope: "full", from: 1, prevHash: GENESIS, chainFrom, onProgress });
    if (!report.ok) return report;
    const horizon = Math.max(compacted === undefined ? 1 : decodeCompacted(compacted).horizon, intent === undefined ? 1 : decodeIntent(intent).horizon);
    const problem = await witnessProblem(db, dir, headRev, horizon);
    return problem ? { ...report, ok: false, firstBadRevision: problem.revision, reason: problem.reason } : report;
  } finally {
    await db.close();
  }
}
