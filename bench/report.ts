import { markdownTable } from "./markdown-table.js";
import type { SystemInfo } from "./system-info.js";

/** Collects the table rows, the success checks and the notes of one bench run. */
export class Report {
  private readonly rows: string[][] = [];
  private readonly checks: string[] = [];
  private readonly notes: string[] = [];
  private failedChecks = 0;

  row(metric: string, ctmd: string, baseline: string, ratio: string): void {
    this.rows.push([metric, ctmd, baseline, ratio]);
  }

  /** A correctness check on the measurement itself (did the calls succeed?), not a timed assertion. */
  check(ok: boolean, text: string): void {
    if (!ok) this.failedChecks++;
    this.checks.push(`- ${ok ? "ok" : "**FAILED**"}: ${text}`);
  }

  note(text: string): void {
    this.notes.push(`- ${text}`);
  }

  get failed(): number {
    return this.failedChecks;
  }

  /** `atEnd` is taken after the run: a load average that grew well past 2 says others shared the cores. */
  render(info: SystemInfo, atEnd: SystemInfo, tools: { h2load: string; etcd: string }, error?: unknown): string {
    const out = [
      "# ctm bench",
      "",
      `${info.date} · nproc ${info.nproc} · ${info.cpuModel} · node ${info.node} · ` +
        `h2load ${tools.h2load} · etcd ${tools.etcd} · load average ${info.loadAverage} at start, ${atEnd.loadAverage} at end`,
      "",
      markdownTable([["metric", "ctmd", "baseline", "ratio (ctmd ÷ baseline)"], ...this.rows]),
      "",
    ];
    if (error !== undefined) {
      out.push("## Run aborted", "", "```", error instanceof Error ? (error.stack ?? error.message) : String(error), "```", "");
    }
    out.push("## Did the calls succeed?", "", ...this.checks, "", "## Where the numbers come from", "", ...this.notes, "");
    return out.join("\n");
  }
}
