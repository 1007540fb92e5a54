import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { get as httpGet } from "node:http";
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { connect as netConnect, type Socket } from "node:net";
import { api, connect } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";
import { until } from "./helpers/until.js";

/**
 * A client's connections are bounded: each is a descriptor and an HTTP/2 session, and a client
 * that opened thousands and said nothing used to leave ctmd unable to accept anyone (it ran out of
 * descriptors, silently) for as long as it held them.
 */

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(":") + 1));

/** A connection from `localAddress` (every 127/8 address is this machine) to `port`. */
function open(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: "127.0.0.1", localAddress });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** Whether the server closes `s` within `ms`. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on("error", () => {});
    // A server's FIN ends the readable side; reading lets it arrive.
    s.resume();
  });
}

/** grpc.health.v1 Check over a connection from `localAddress`: its grpc-status, or the error that ended it. */
function healthCheck(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`, { createConnection: () => netConnect({ port, host: "127.0.0.1", localAddress }) });
    session.on("error", (e) => resolve(`error ${e.message}`));
    const req = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
    req.on("error", (e) => resolve(`error ${e.message}`));
    req.on("trailers", (t) => resolve(`status ${String(t["grpc-status"])}`));
    req.on("close", () => {
      session.close();
      resolve("closed");
    });
    req.resume();
    // An empty request message: not compressed, length 0.
    req.end(Buffer.alloc(5));
  });
}

/** A series of the daemon's /metrics, scraped from an address of its own (the scraper is a client too). */
async function metric(daemon: Daemon, series: string): Promise<number> {
  const listening = daemon.logs.find((l) => l.msg === "listening")!;
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpGet(`http://${String(listening.metrics)}/metrics`, { localAddress: "127.0.0.9", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("connections per client", () => {
  let daemon: Daemon;
  const sockets: Socket[] = [];
  const held = async (port: number, localAddress?: string): Promise<Socket> => {
    const s = await open(port, localAddress);
    s.on("error", () => {});
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--connections-per-client", "3", "--silent-connection-ms", "0"] });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it("past the limit, an address's next connection is closed as it opens; other addresses are served; a closed one frees its place", async () => {
    const grpcPort = portOf(daemon.address);
    const idle = [await held(grpcPort), await held(grpcPort), await held(grpcPort)];
    for (const s of idle) expect(await closedWithin(s, 200)).toBe(false);
    expect(await metric(daemon, 'ctm_connections{face="grpc"}')).toBe(3);
    // The fourth, gRPC or HTTP/2 alike, is closed before it is served.
    expect(await closedWithin(await held(grpcPort), 5000)).toBe(true);
    expect(await healthCheck(grpcPort, "127.0.0.1")).not.toBe("status 0");
    // Another address is another client.
    expect(await healthCheck(grpcPort, "127.0.0.2")).toBe("status 0");
    // One of the three closes: its place is free again (the server sees the close first).
    idle[0]!.destroy();
    await until("the freed place serves a call", async () => (await healthCheck(grpcPort, "127.0.0.1")) === "status 0", 5000);
    expect(await metric(daemon, 'ctm_connections_refused_total{face="grpc",reason="per_client"}')).toBeGreaterThanOrEqual(2);
    const warned = daemon.logs.filter((l) => l.level === 40 && l.client === "127.0.0.1" && l.face === "grpc");
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(String(warned[0]!.msg)).toMatch(/holds 3 connections already \(--connections-per-client\)/);
  });

  it("counts the gRPC, HTTP and metrics ports together", async () => {
    const grpcPort = portOf(daemon.address);
    const httpPort = portOf(daemon.http);
    const metricsPort = portOf(String(daemon.logs.find((l) => l.msg === "listening")!.metrics));
    await held(grpcPort, "127.0.0.3");
    await held(metricsPort, "127.0.0.3");
    const third = await held(httpPort, "127.0.0.3");
    expect(await closedWithin(third, 200)).toBe(false);
    expect(await closedWithin(await held(httpPort, "127.0.0.3"), 5000)).toBe(true);
    expect(await closedWithin(await held(grpcPort, "127.0.0.3"), 5000)).toBe(true);
    expect(await closedWithin(await held(metricsPort, "127.0.0.3"), 5000)).toBe(true);
    expect(await metric(daemon, 'ctm_connections_refused_total{face="http",reason="per_client"}')).toBe(1);
    expect(await metric(daemon, 'ctm_connections_refused_total{face="metrics",reason="per_client"}')).toBe(1);
    // The HTTP face serves another address meanwhile.
    const other = await fetch(`http://${daemon.http}/ofrep/v1/evaluate/flags/none`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(other.status).toBe(404);
  });
});

describe("silent connections", () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--silent-connection-ms", "300"] });
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it("a connection to the gRPC port that sends nothing is closed; one that has spoken stays, and a client is served", async () => {
    const port = portOf(daemon.address);
    const silent = await open(port);
    const spoke = await open(port);
    spoke.on("error", () => {});
    // HTTP/2's client preface: the connection has spoken, whatever it says next.
    spoke.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    expect(await closedWithin(silent, 5000)).toBe(true);
    expect(await closedWithin(spoke, 1000)).toBe(false);
    spoke.destroy();
    expect(await healthCheck(port, "127.0.0.1")).toBe("status 0");
    expect(await metric(daemon, 'ctm_connections_refused_total{face="grpc",reason="silent"}')).toBe(1);
    expect(daemon.logs.some((l) => l.level === 40 && String(l.msg).includes("--silent-connection-ms"))).toBe(true);
  });
});

describe("connections and the store's files", () => {
  let daemon: Daemon;
  beforeAll(async () => {
    // 600 open files: "auto" leaves 64 connections, however many clients ask.
    daemon = await Daemon.start({ openFiles: 600, args: ["--connections-per-client", "0", "--silent-connection-ms", "0"] });
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it("keeps the store its files while clients ask for more connections than the process may open: every write lands, during and after", async () => {
    const listening = daemon.logs.find((l) => l.msg === "listening")!;
    expect(listening.maxConnections).toBe(64);
    // Said just after "listening".
    await until("the daemon warns of its open-files limit", () => Promise.resolve(daemon.logs.some((l) => l.level === 40 && l.openFiles === 600 && String(l.msg).includes("raise it"))), 5000);
    const client = connect(daemon.address);
    const c = api(client);
    const idle: Socket[] = [];
    try {
      await c.set({ key: "files/first", value: 1 });
      // Far more than the 600 descriptors the process has: unbounded, they took every one and
      // LevelDB failed as soon as it needed a file, for good.
      const port = portOf(daemon.address);
      for (let i = 0; i < 700; i++) {
        const s = netConnect(port, "127.0.0.1");
        s.on("error", () => {});
        idle.push(s);
      }
      await until("the daemon has closed all but its share", async () => (await metric(daemon, 'ctm_connections_refused_total{face="grpc",reason="total"}')) >= 700 - 63, 20_000);
      // About 6 MB of writes: LevelDB writes new table files along the way.
      const value = { text: "x".repeat(3000) };
      for (let i = 0; i < 2000; i++) await c.set({ key: `files/k${i % 300}`, value: { ...value, i } });
      for (const s of idle) s.destroy();
      const later = connect(daemon.address);
      try {
        expect((await api(later).get({ key: "files/k299" })).entry!.value).toMatchObject({ i: 1799 });
      } finally {
        later.close();
      }
    } finally {
      for (const s of idle) s.destroy();
      client.close();
    }
  });
});

describe("calls per client, and requests that never arrive", () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await Daemon.start({ args: ["--calls-per-client", "3", "--request-arrival-ms", "2000"] });
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  /**
   * A Get whose request never comes (headers, no message, the stream left open): its grpc-status
   * and message once answered, and whether the server then closed the stream, which the client
   * never finishes (its state is otherwise kept until the connection closes).
   */
  function neverSent(session: ClientHttp2Session): Promise<{ status: string; message: string; closed: boolean }> {
    return new Promise((resolve) => {
      const req = session.request({ ":method": "POST", ":path": "/ctm.v1.ConfigService/Get", "content-type": "application/grpc", te: "trailers" }, { endStream: false });
      req.on("error", () => {});
      const closed = new Promise<boolean>((r) => req.once("close", () => r(true)));
      const answer = (h: Record<string, unknown>) => {
        if (h["grpc-status"] === undefined) return;
        const got = { status: String(h["grpc-status"]), message: decodeURIComponent(String(h["grpc-message"])) };
        void Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]).then((c) => resolve({ ...got, closed: c }));
      };
      req.on("response", answer);
      req.on("trailers", answer);
      req.resume();
    });
  }

  it("a client's open calls are bounded (RESOURCE_EXHAUSTED past them), and a call whose request never arrives is ended DEADLINE_EXCEEDED, freeing its place", async () => {
    const port = portOf(daemon.address);
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const client = connect(daemon.address);
    try {
      const started = Date.now();
      const waiting = [neverSent(session), neverSent(session), neverSent(session)];
      // The three hold this address's places: its next call is refused at once, naming the flag.
      await until("the three calls are open", async () => {
        try {
          await api(client).get({ key: "calls/none" });
          return false;
        } catch (e) {
          const err = e as grpc.ServiceError;
          if (err.code !== grpc.status.RESOURCE_EXHAUSTED) return false;
          expect(err.details).toMatch(/has 3 calls open already.*--calls-per-client/);
          expect(err.metadata.get("ctm-limit")).toEqual(["3"]);
          return true;
        }
      });
      // Another address is another client.
      expect(await healthCheck(port, "127.0.0.2")).toBe("status 0");
      for (const w of await Promise.all(waiting)) {
        expect(w.status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
        expect(w.message).toMatch(/the request did not arrive within 2000 ms of the call's start \(--request-arrival-ms\)/);
        expect(w.closed).toBe(true);
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      // Their places are free again.
      await expect(api(client).get({ key: "calls/none" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect(daemon.logs.filter((l) => l.status === "DEADLINE_EXCEEDED" && l.method === "Get")).toHaveLength(3);
    } finally {
      client.close();
      session.destroy();
    }
  });
});
