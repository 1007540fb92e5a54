import { CommanderError } from "commander";
import { isCtmError } from "./domain/errors.js";

/** Set to print the stack of an unexpected start-up failure. */
export const DEBUG_ENV = "CTM_DEBUG";

export interface StartupFailure {
  /** 2 for a command line that could not be used (as the `ctm` CLI), 1 for a refusal at run time. */
  exitCode: number;
  /** What goes to stderr, one line, or "" when commander has already said it. */
  text: string;
}

type Coded = Error & { code?: unknown; cause?: unknown; path?: unknown; address?: unknown; port?: unknown; syscall?: unknown; hostname?: unknown };

const SYSTEM_REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  ENOTDIR: "not a directory",
  EEXIST: "exists and is not a directory",
  EADDRINUSE: "address already in use (another ctmd or another program listens there)",
  EADDRNOTAVAIL: "no local interface has this address",
};

const causeOf = (e: Coded): Coded | undefined => (e.cause instanceof Error ? (e.cause as Coded) : undefined);

/** LevelDB names its LOCK file in its messages: the directory is what an operator looks for. */
const lockDir = (message: string): string | undefined => /(?:lock )?(\S+)\/LOCK\b/.exec(message)?.[1];

function describeLevel(e: Coded): string | undefined {
  const cause = causeOf(e);
  const msg = cause?.message ?? e.message;
  const dir = lockDir(msg);
  const where = dir ? ` ${dir}` : "";
  if (cause?.code === "LEVEL_LOCKED" || /already held by process/.test(msg)) {
    return `data directory${where} is in use by another ctmd (its LevelDB LOCK is held); stop that one or choose another --data-dir`;
  }
  if (/Read-only file system/i.test(msg)) return `data directory${where} is on a read-only file system`;
  if (/Permission denied/i.test(msg)) return `data directory${where} is not writable: permission denied`;
  if (e.code === "LEVEL_CORRUPTION" || cause?.code === "LEVEL_CORRUPTION") return `the store is damaged: ${msg}`;
  if (typeof e.code === "string" && e.code.startsWith("LEVEL_")) return `cannot open the store: ${msg.replace(/^IO error: /, "")}`;
  return undefined;
}

function describeSystem(e: Coded): string | undefined {
  // A host name given to listen on that does not resolve (a listener's own lookup).
  if ((e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") && e.syscall === "getaddrinfo") return `cannot listen on ${String(e.hostname)}: the host name does not resolve`;
  if (typeof e.code !== "string" || !(e.code in SYSTEM_REASONS || e.code === "ENOENT")) return undefined;
  if (e.code === "EADDRINUSE" || e.code === "EADDRNOTAVAIL") {
    return `cannot listen on ${String(e.address)}:${String(e.port)}: ${SYSTEM_REASONS[e.code]}`;
  }
  const path = typeof e.path === "string" ? ` ${e.path}` : "";
  return `cannot use${path}: ${SYSTEM_REASONS[e.code] ?? "a parent directory is missing or not writable"}`;
}

/**
 * The one stderr line and the exit status of a daemon that cannot start. Operators read
 * this line in a service manager's status, so it names the cause and leaves stacks out,
 * except for a failure nobody anticipated, when DEBUG_ENV asks for it.
 */
export function describeStartupError(e: unknown, env: NodeJS.ProcessEnv = process.env): StartupFailure {
  if (e instanceof CommanderError) return { exitCode: e.exitCode === 0 ? 0 : 2, text: "" };
  if (isCtmError(e)) return { exitCode: 1, text: `ctmd: ${e.message}\n` };
  const err: Coded = e instanceof Error ? e : new Error(String(e));
  const known = describeLevel(err) ?? describeSystem(err);
  if (known) return { exitCode: 1, text: `ctmd: ${known}\n` };
  const text =
    env[DEBUG_ENV] && err.stack
      ? `ctmd: unexpected error: ${err.stack}\n`
      : `ctmd: unexpected error: ${err.message.split("\n")[0]} (run with ${DEBUG_ENV}=1 for the stack)\n`;
  return { exitCode: 1, text };
}
