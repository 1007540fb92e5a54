import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Bytes of the files directly in `dir`, not in its subdirectories: a LevelDB's own tables and logs. */
export async function filesSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(dir, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Bytes used by the files under `dir` (LevelDB's size on disk). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(p);
    else if (entry.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
