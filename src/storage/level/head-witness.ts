import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

/**
 * A small file beside LevelDB that names the newest revision known durable and its hash.
 * LevelDB's log recovery drops a torn or damaged tail without a word; this file, written
 * outside that log, is how a restart notices acknowledged revisions that went missing.
 */
export interface Witness {
  revision: number;
  hash: string;
}

export const WITNESS_FILE = "ctm-head.json";

export async function readWitness(dir: string): Promise<Witness | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, WITNESS_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const w = JSON.parse(text) as Partial<Witness>;
  if (!Number.isSafeInteger(w.revision) || typeof w.hash !== "string") throw new Error(`${WITNESS_FILE} is not a head witness`);
  return { revision: w.revision!, hash: w.hash };
}

/** Write-then-rename with fsyncs, so a crash leaves the old witness or the new one, never half. */
export async function writeWitness(dir: string, w: Witness): Promise<void> {
  const tmp = join(dir, `${WITNESS_FILE}.tmp`);
  const fh = await open(tmp, "w", 0o644);
  try {
    await fh.writeFile(JSON.stringify(w) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, WITNESS_FILE));
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
