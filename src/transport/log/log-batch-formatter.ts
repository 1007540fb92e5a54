import { hostname } from "node:os";
import { pino, type Logger } from "pino";
import { httpFields, type HttpRow, type LogBatch } from "./log-shipper.js";

/**
 * Turns a shipment into log text: each RPC row and HTTP row becomes the pino line the serving
 * thread would have written (same base, bindings, fields and time), and the main logger's own
 * lines keep their place among them.
 */
export class LogBatchFormatter {
  private out: string[] = [];
  // Each row's own time, not the time it is formatted.
  private time = "";
  private readonly root: Logger;
  private readonly httpLog: Logger;
  private readonly okLoggers = new Map<string, Logger>();

  constructor(rpcBindings: Record<string, unknown>, httpBindings: Record<string, unknown> = {}) {
    const base = pino({ level: "info", base: { pid: process.pid, hostname: hostname() }, timestamp: () => this.time }, { write: (line: string) => void this.out.push(line) });
    this.root = base.child(rpcBindings);
    this.httpLog = base.child(httpBindings);
  }

  format(b: LogBatch): string {
    this.out = [];
    const { time, method, key, durationMs } = b.rows;
    let line = 0;
    for (let i = 0; i < method.length; i++) {
      while (line < b.lines.length && b.lineAt[line]! <= i) this.line(b.lines[line++]!);
      this.time = `,"time":${time[i]}`;
      this.okLogger(method[i]!).info({ key: key[i], durationMs: durationMs[i] }, "rpc");
    }
    while (line < b.lines.length) this.line(b.lines[line++]!);
    return this.out.join("");
  }

  /** A main-logger line as it is; an HTTP row as the line HttpChain.track would have logged. */
  private line(l: string | HttpRow): void {
    if (typeof l === "string") {
      this.out.push(l);
      return;
    }
    this.time = `,"time":${l.time}`;
    this.httpLog.info(httpFields(l), "http");
  }

  private okLogger(method: string): Logger {
    let l = this.okLoggers.get(method);
    if (l === undefined) this.okLoggers.set(method, (l = this.root.child({ method }).child({ status: "OK" })));
    return l;
  }
}
