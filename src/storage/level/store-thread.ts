import { Worker } from "node:worker_threads";

/**
 * A worker thread that shares the store's LevelDB handle at `location` (held open with
 * `multithreading`): the batch writer's and the past reader's. Idle, it keeps no process alive
 * (the owner refs it while a request is out). `exit` hears how it ended, with the error it threw
 * if any; `close()` asks it to close its handle of the store and waits for it to end.
 */
export class StoreThread<Reply> {
  readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(
    script: { url: URL; execArgv: string[] },
    location: string,
    on: { message: (m: Reply) => void; exit: (code: number, failure: unknown) => void },
  ) {
    const worker = new Worker(script.url, { workerData: { location }, execArgv: script.execArgv });
    this.worker = worker;
    worker.unref();
    let failure: unknown;
    worker.on("message", on.message);
    worker.on("error", (e) => (failure ??= e));
    this.exited = new Promise<void>((resolve) =>
      worker.on("exit", (code) => {
        on.exit(code, failure);
        resolve();
      }),
    );
  }

  close(): Promise<void> {
    this.worker.ref();
    this.worker.postMessage({ close: true });
    return this.exited;
  }
}
