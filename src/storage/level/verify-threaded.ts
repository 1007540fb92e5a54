import { Worker } from "node:worker_threads";
import { workerScript } from "../../worker-script.js";
import type { VerifyReport } from "../verify-report.js";
import type { VerifyOptions } from "./log-verifier.js";

const script = workerScript("verify-worker", import.meta.url);

export type VerifyWorkerMessage = { report: VerifyReport } | { error: string; stopped: boolean };

/**
 * verifyLog on a worker thread, for the store at `location` (which the caller holds open with
 * `multithreading`). Resolves once the thread has closed its handle; `signal` stops the check
 * between chunks, and it then rejects.
 */
export function verifyThreaded(location: string, options: Omit<VerifyOptions, "signal" | "onProgress">, signal: AbortSignal): Promise<VerifyReport> {
  const worker = new Worker(script.url, { workerData: { location, options }, execArgv: script.execArgv });
  const stop = (): void => worker.postMessage("stop");
  signal.addEventListener("abort", stop, { once: true });
  return new Promise<VerifyReport>((resolve, reject) => {
    let answer: VerifyWorkerMessage | undefined;
    let failure: unknown;
    worker.on("message", (m: VerifyWorkerMessage) => (answer = m));
    worker.on("error", (e) => (failure ??= e));
    worker.on("exit", (code) => {
      signal.removeEventListener("abort", stop);
      if (answer !== undefined && "report" in answer) resolve(answer.report);
      else if (answer !== undefined) reject(new Error(answer.stopped ? "the check was stopped" : `checking the log: ${answer.error}`));
      else reject(failure ?? new Error(`the log check's thread exited (code ${code}) before it answered`));
    });
  });
}
