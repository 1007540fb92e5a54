import type { ClassicLevel } from "classic-level";
import { u64 } from "./codec.js";
import { readWitness } from "./head-witness.js";
import { prefixed } from "./layout.js";
import { recordHash } from "./record-bytes.js";

export interface Problem {
  /** The first revision affected; undefined when the problem is not a revision's. */
  revision: number | undefined;
  reason: string;
}

/**
 * The witness names the newest revision acknowledged before: it must still be here, unchanged.
 * Below the compaction horizon (`horizon`, counting a compaction under way) compaction may have
 * removed or stripped it since; the log reaching past it is then all that can be asked.
 */
export async function witnessProblem(db: ClassicLevel<Buffer, Buffer>, dir: string, headRev: number, horizon = 1): Promise<Problem | undefined> {
  let w;
  try {
    w = await readWitness(dir);
  } catch (e) {
    return { revision: undefined, reason: `its head witness is unreadable (${(e as Error).message})` };
  }
  if (w === undefined || w.revision === 0) return undefined;
  if (w.revision > headRev) {
    return { revision: headRev + 1, reason: `acknowledged revisions ${headRev + 1}..${w.revision} are missing (the log ends at ${headRev})` };
  }
  if (w.revision < horizon) return undefined;
  const bytes = await db.get(prefixed("log", u64(w.revision)));
  if (bytes === undefined || recordHash(bytes).toString("hex") !== w.hash) return { revision: w.revision, reason: "the record differs from the one acknowledged" };
  return undefined;
}
