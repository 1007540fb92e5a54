import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = "replica-id";
const SHAPE = /^[0-9a-f]{16}$/;

/**
 * This replica's name among those sharing one etcd store: made once, kept in its data
 * directory, so it survives restarts. Each replica needs a data directory of its own: a copied
 * one would make two replicas save their counts under one name.
 */
export function replicaId(dataDir: string): string {
  const file = join(dataDir, FILE);
  try {
    const id = readFileSync(file, "utf8").trim();
    if (SHAPE.test(id)) return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const id = randomBytes(8).toString("hex");
  writeFileSync(file, `${id}\n`);
  return id;
}
