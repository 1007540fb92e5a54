import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcesses } from "./child-processes.js";
import type { NoopServerHandle } from "./start-noop-server.js";
import { waitForListening } from "./wait-for-listening.js";

/** Starts noop-server-main.ts answering every Get with `response` (written to `workDir`). */
export async function startCannedNoopServer(children: ChildProcesses, workDir: string, name: string, response: Uint8Array): Promise<NoopServerHandle> {
  const file = join(workDir, `${name}.response`);
  writeFileSync(file, response);
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const entry = fileURLToPath(new URL(`./noop-server-main.${ext}`, import.meta.url));
  const child = children.forkTs(entry, [file]);
  const address = await waitForListening(child, `no-op server (${name})`);
  return {
    child,
    address,
    calls: () =>
      new Promise<number>((resolve) => {
        child.once("message", (m) => resolve((m as { calls: number }).calls));
        child.send("count");
      }),
  };
}
