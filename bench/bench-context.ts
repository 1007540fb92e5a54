import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcesses } from "./child-processes.js";
import { CpuMeter } from "./cpu-meter.js";
import { grpcFrame } from "./grpc-frame.js";
import type { Report } from "./report.js";
import { runH2load, type H2loadResult } from "./run-h2load.js";
import { settings } from "./settings.js";

export interface LoadTarget {
  /** For the CPU note, e.g. "ctmd Get c64". */
  label: string;
  /** The server process under load. */
  process: ChildProcess;
  /** Processes serving beside it (read workers): their CPU counts with its own. */
  alsoPids?: number[];
  address: string;
  /** What the server said last, for the error if it died. */
  lastWords?: () => string;
  /** Headers h2load sends with every request (`name: value`), e.g. a bearer token. */
  headers?: string[];
  /** This side's method and request frame, when the two sides of a pairing speak different APIs (ctmd and etcd). */
  path?: string;
  frameFile?: string;
}

/** What every bench section shares: the children to clean up, the report, a scratch dir. */
export class BenchContext {
  private readonly serverCpu: string[] = [];

  constructor(
    readonly children: ChildProcesses,
    readonly report: Report,
    readonly work: string,
  ) {}

  log(text: string): void {
    console.error(`[bench] ${text}`);
  }

  /** Writes one gRPC frame for h2load's -d and returns the file. */
  frame(name: string, body: Uint8Array): string {
    const file = join(this.work, `${name}.frame`);
    writeFileSync(file, grpcFrame(body));
    return file;
  }

  /** One h2load run against `target`, noting how much CPU the target used meanwhile. */
  async h2load(
    target: LoadTarget,
    path: string,
    frameFile: string,
    level: { connections: number; streams: number },
    warmupSeconds: number = settings.warmupSeconds,
    seconds: number = settings.seconds,
  ): Promise<H2loadResult> {
    assertAlive(target);
    const meters = [target.process.pid, ...(target.alsoPids ?? [])].map((pid) => new CpuMeter(pid));
    const result = await runH2load(this.children, {
      url: `http://${target.address}${path}`,
      frameFile,
      connections: level.connections,
      streamsPerConnection: level.streams,
      headers: target.headers,
      seconds,
      warmupSeconds,
    });
    const cores = meters.reduce((sum, m) => sum + m.cores(), 0);
    this.serverCpu.push(`${target.label} ${Math.round(cores * 100)}% (h2load ${Math.round(result.cores * 100)}%)`);
    assertAlive(target);
    return result;
  }

  /** Adds the CPU note; call once at the end. */
  noteServerCpu(): void {
    if (this.serverCpu.length === 0) return;
    this.report.note(
      `Server CPU during each h2load run (warm-up included; read workers counted with their primary), in % of one core (etcd is multi-threaded; node servers mostly use one), with h2load's own beside it: ${this.serverCpu.join(", ")}.`,
    );
  }
}

export function h2label(level: { connections: number; streams: number }): string {
  return `h2load -c${level.connections} -m${level.streams}`;
}

/** Lets ctmd's asynchronous logger flush the last RPC lines before they are tallied. */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 500));
}

/** A server that died mid-run ends the run: h2load against a closed port just reports 0 requests. */
function assertAlive(target: LoadTarget): void {
  const p = target.process;
  if (p.exitCode !== null || p.signalCode !== null) {
    const said = target.lastWords?.() ?? "";
    throw new Error(`${target.label}: the server process (pid ${p.pid}) has exited (code ${p.exitCode}, signal ${p.signalCode})${said ? `:\n${said}` : ""}`);
  }
}
