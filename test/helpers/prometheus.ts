import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Every test Prometheus keeps its data under a temporary directory named so: how its processes are told apart. */
export const PROMETHEUS_TMP_PREFIX = "ctm-prometheus-";

/** Debian's package (`apt-get install prometheus`) puts the server here. */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

const listen = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/**
 * A tiny exporter: a node:http server on 127.0.0.1:0 serving the text
 * exposition format. `set` changes what the next scrape sees.
 */
export class TestExporter {
  private readonly values = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  scrapes = 0;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<TestExporter> {
    let self: TestExporter | undefined;
    const server = createServer((req, res) => {
      if (req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      self!.scrapes++;
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(self!.render());
    });
    self = new TestExporter(server, await listen(server));
    return self;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Sets a gauge series (name + labels) to `value`. */
  set(name: string, labels: Record<string, string>, value: number): void {
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    this.values.set(id, { name, labels, value });
  }

  render(): string {
    const byName = new Map<string, string[]>();
    for (const { name, labels, value } of this.values.values()) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
        .join(",");
      const lines = byName.get(name) ?? [];
      lines.push(`${name}{${l}} ${value}`);
      byName.set(name, lines);
    }
    return [...byName].map(([name, lines]) => `# HELP ${name} test series\n# TYPE ${name} gauge\n${lines.join("\n")}\n`).join("");
  }

  close(): Promise<void> {
    return close(this.server);
  }
}

/** A port nobody listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

/**
 * A real Prometheus server scraping `targets` every second, with its TSDB in
 * a temporary directory. `start` resolves once /-/ready answers 200.
 */
export class Prometheus {
  private exited: Promise<void>;
  private stderr = "";

  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
    private readonly dir: string,
  ) {
    this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
    proc.stderr!.on("data", (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-20_000);
    });
    proc.stdout!.resume();
  }

  static available(): boolean {
    return existsSync(PROMETHEUS_BIN);
  }

  static async start(targets: string[], { readyWithinMs = 30_000 } = {}): Promise<Prometheus> {
    if (!Prometheus.available()) {
      throw new Error(`${PROMETHEUS_BIN} not found: install Debian's package (apt-get install -y prometheus) or set PROMETHEUS_BIN`);
    }
    const dir = await mkdtemp(join(tmpdir(), PROMETHEUS_TMP_PREFIX));
    const config = join(dir, "prometheus.yml");
    await writeFile(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: test-exporter",
        "    static_configs:",
        `      - targets: [${targets.map((t) => `'${t}'`).join(", ")}]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    const proc = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${config}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        "--log.level=warn",
        // Targets are applied after this delay (5s by default): a test wants its first scrape now.
        "--scrape.discovery-reload-interval=100ms",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const p = new Prometheus(proc, `http://127.0.0.1:${port}`, dir);
    let exitedEarly = false;
    void p.exited.then(() => (exitedEarly = true));
    const deadline = Date.now() + readyWithinMs;
    for (;;) {
      if (exitedEarly) {
        await rm(dir, { recursive: true, force: true });
        throw new Error(`prometheus exited before it was ready: ${p.stderr}`);
      }
      const ready = await fetch(`${p.url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return p;
      if (Date.now() > deadline) {
        await p.stop();
        throw new Error(`prometheus not ready within ${readyWithinMs} ms: ${p.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** An instant query through the HTTP API: the first sample's value, or undefined when there is none. */
  async query(q: string): Promise<number | undefined> {
    const u = new URL("/api/v1/query", this.url);
    u.searchParams.set("query", q);
    const body = (await (await fetch(u)).json()) as { status: string; data?: { result: { value: [number, string] }[] } };
    const v = body.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }

  /** Stops this process by its PID (SIGTERM, SIGKILL after 10 s) and removes its directory. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid !== undefined) {
      process.kill(this.proc.pid, "SIGTERM");
      const timer = setTimeout(() => this.proc.pid !== undefined && this.proc.exitCode === null && process.kill(this.proc.pid, "SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
