import { readFileSync } from "node:fs";

/**
 * Descriptors kept for what is not a client's connection: two LevelDB stores (the log and the
 * access log), each keeping up to 1000 table files open (classic-level's default), their logs
 * and manifests, and the rest of the process (workers, the metrics and health sockets).
 */
export const FILES_KEPT = 2 * 1000 + 256;

/** The least `--max-connections auto` gives, however low the limit on open files. */
export const MIN_AUTO_CONNECTIONS = 64;

/** This process's limit on open files (Linux's /proc/self/limits; node raises it to the hard limit as it starts); undefined where it is unknown or unlimited. */
export function openFilesLimit(read: () => string = () => readFileSync("/proc/self/limits", "utf8")): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const n = soft === undefined ? NaN : Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `--max-connections auto`: what the open-files limit leaves once FILES_KEPT are kept, at least MIN_AUTO_CONNECTIONS; 0 (no limit) where the limit is unknown. */
export function autoMaxConnections(limit: number | undefined): number {
  return limit === undefined ? 0 : Math.max(MIN_AUTO_CONNECTIONS, limit - FILES_KEPT);
}
