import { readFileSync } from "node:fs";

export type LogLine = Record<string, unknown> & { msg?: string };

/** The JSON lines of a ctmd log file written so far (a missing file has none). */
export function logLines(logFile: string): LogLine[] {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A line still being written.
    }
  }
  return out;
}

/** The first line of `logFile` that `match` accepts, polled every 200 ms; throws after `timeoutMs`. */
export async function waitForLogLine(logFile: string, match: (l: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logLines(logFile).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no log line ${what} in ${logFile} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
