import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildProcesses } from "./child-processes.js";
import { waitForListening } from "./wait-for-listening.js";

export interface NoopServerHandle {
  child: ChildProcess;
  address: string;
  /** Calls the server has answered so far (asked over IPC). */
  calls(): Promise<number>;
}

/** Starts noop-server-main.ts in its own process: the transport ceiling for Get. */
export async function startNoopServer(children: ChildProcesses): Promise<NoopServerHandle> {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const entry = fileURLToPath(new URL(`./noop-server-main.${ext}`, import.meta.url));
  const child = children.forkTs(entry, []);
  const address = await waitForListening(child, "no-op server");
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
