import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CtmError } from "../../domain/errors.js";

/**
 * What a data directory holds. LevelDB with create_if_missing would make an empty store in a
 * directory whose CURRENT file is gone and then delete the old tables as garbage: a silent
 * loss. A new store is only ever made in a directory that is missing or empty.
 */
export function inspectDataDir(dir: string): "new" | "store" {
  if (!existsSync(dir)) return "new";
  if (existsSync(join(dir, "CURRENT"))) return "store";
  const entries = readdirSync(dir);
  if (entries.length === 0) return "new";
  const leveldb = entries.some((f) => /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/.test(f));
  throw new CtmError(
    "failed_precondition",
    leveldb
      ? `${dir} holds LevelDB files but no CURRENT file; refusing to create a new store over them (run \`ctmd repair --data-dir ${dir}\`)`
      : `${dir} is not empty and holds no ctm store; refusing to create one there (use an empty or new directory)`,
  );
}
