import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { logLines } from "./wait-for-log-line.js";

/**
 * Resolves with the `address` of the first JSON log line whose msg is "listening" (the
 * pino line ctmd prints; the bench's own children print the same shape). Rejects if the
 * child exits first or stays silent for `timeoutMs`. Keeps the last stderr/stdout lines so
 * a failed start says why.
 */
export function waitForListening(child: ChildProcess, name: string, timeoutMs = 30_000): Promise<string> {
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  if (child.stderr) createInterface({ input: child.stderr }).on("line", remember);
  return new Promise<string>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${name} ${why}. Last output:\n${tail.join("\n")}`));
    };
    const timer = setTimeout(() => fail(`did not log "listening" within ${timeoutMs} ms`), timeoutMs);
    child.once("exit", (code, signal) => fail(`exited (code ${code}, signal ${signal}) before listening`));
    child.once("error", (err) => fail(`failed to start: ${err.message}`));
    if (!child.stdout) return fail("has no stdout pipe");
    createInterface({ input: child.stdout }).on("line", (line) => {
      remember(line);
      const address = listeningAddress(line);
      if (address !== undefined) {
        clearTimeout(timer);
        resolve(address);
      }
    });
  });
}

function listeningAddress(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; address?: unknown };
    if (parsed.msg === "listening" && typeof parsed.address === "string") return parsed.address;
  } catch {
    // Not JSON: ignore.
  }
  return undefined;
}

/** Same as waitForListening, for a child whose stdout goes to `logFile`. */
export async function waitForListeningInFile(
  child: ChildProcess,
  logFile: string,
  name: string,
  timeoutMs = 30_000,
): Promise<string> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = logLines(logFile);
    const address = lines.find((l) => l.msg === "listening" && typeof l.address === "string")?.address as string | undefined;
    if (address !== undefined) return address;
    if (child.exitCode !== null || child.signalCode !== null) {
      const last = lines.slice(-20).map((l) => JSON.stringify(l)).join("\n");
      throw new Error(`${name} exited (code ${child.exitCode}) before listening:\n${last}\n${stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} did not log "listening" within ${timeoutMs} ms:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
