import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpChain, type HttpCall } from "../../src/transport/http/http-chain.js";
import { failText, HttpFace, type Route } from "../../src/transport/http/http-face.js";
import { httpStatusOf } from "../../src/transport/http/http-status.js";
import { ServerTls } from "../../src/transport/tls/server-tls.js";
import { TestPki } from "../helpers/test-pki.js";

/**
 * The HTTP face's own connection handling, with deadlines short enough to watch: real sockets,
 * real node:http and node:http2 servers, a route that echoes the size of what it read.
 */
const log = pino({ level: "silent" });

class EchoRoute implements Route {
  readonly name = "echo";
  readonly prefix = "/echo/";
  readonly authenticated = false;
  readonly served: string[] = [];
  constructor(private readonly chain: HttpChain) {}
  async handle(call: HttpCall): Promise<void> {
    // "/echo/refuse" answers before reading the body, as the chain does when it refuses a caller.
    // "/echo/hold" answers its headers, then holds the stream open, as an event stream does.
    if (call.path === "/echo/hold") {
      call.res.writeHead(200, { "content-type": "text/event-stream" });
      call.res.write(": open\n\n");
      return;
    }
    if (call.path === "/echo/refuse") {
      call.res.writeHead(403, { "content-type": "text/plain" }).end("no\n");
      return;
    }
    const body = await this.chain.body(call);
    this.served.push(call.path);
    call.res.writeHead(200, ["content-type", "application/json"]).end(JSON.stringify({ bytes: body.length }));
  }
  fail(call: HttpCall, f: { code: number; message: string; headers: Record<string, string> }): void {
    failText(call, f, httpStatusOf(f.code));
  }
}

async function startFace(tls?: ServerTls, headersTimeoutMs = 400) {
  const chain = new HttpChain({ log, maxBodyBytes: 4 << 20, bodyTimeoutMs: 400 });
  const route = new EchoRoute(chain);
  const face = new HttpFace(chain, [route], { allowOrigins: [], headersTimeoutMs, requestTimeoutMs: Math.max(2000, headersTimeoutMs) }, tls);
  const address = await face.listen("127.0.0.1:0");
  return { face, route, address, port: Number(address.slice(address.lastIndexOf(":") + 1)) };
}

function h2(session: ClientHttp2Session, path: string, body?: Buffer | string) {
  return new Promise<{ status: number; date: string | undefined; text: string; closed: Promise<void> }>((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    const closed = new Promise<void>((r) => req.once("close", () => r()));
    let status = 0;
    let date: string | undefined;
    let text = "";
    req.on("response", (h) => {
      status = Number(h[":status"]);
      date = h.date as string | undefined;
    });
    req.setEncoding("utf8");
    req.on("data", (d: string) => (text += d));
    req.on("end", () => resolve({ status, date, text, closed }));
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}

/** Sends request headers one line at a time, slowly, never finishing them; resolves with what came back once the server hangs up. */
function trickleHeaders(write: (s: string) => void, socket: NodeJS.EventEmitter): Promise<string> {
  return new Promise((resolve) => {
    let reply = "";
    write("POST /echo/x HTTP/1.1\r\nHost: ctmd\r\n");
    const drip = setInterval(() => write("x-slow: yes\r\n"), 100);
    socket.on("data", (d: Buffer) => (reply += d.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(drip);
      resolve(reply);
    });
  });
}

describe("the HTTP face in plaintext", () => {
  let s: Awaited<ReturnType<typeof startFace>>;
  beforeAll(async () => {
    s = await startFace();
  });
  afterAll(() => s?.face.close());

  it("answers HTTP/1.1 408 and hangs up when a client trickles its headers past the deadline", async () => {
    const socket = netConnect(s.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const reply = await trickleHeaders((x) => socket.write(x), socket);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(s.route.served).not.toContain("/echo/x");
  });

  it("over HTTP/2, answers 504 deadline_exceeded to a body that trickles past the deadline, and keeps the connection", async () => {
    const session = http2Connect(`http://${s.address}`);
    try {
      const req = session.request({ ":method": "POST", ":path": "/echo/slow", "content-type": "application/json" });
      const drip = setInterval(() => req.write("{"), 50);
      const status = await new Promise<number>((r) => req.on("response", (h) => r(Number(h[":status"]))));
      clearInterval(drip);
      req.close();
      expect(status).toBe(504);
      const next = await h2(session, "/echo/fast", "{}");
      expect(next).toMatchObject({ status: 200, text: '{"bytes":2}' });
      expect(new Date(next.date ?? "").getTime()).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      session.close();
    }
  });

  it("over HTTP/2, survives a client that resets its stream midway, and closes a stream it answered before the body ended", async () => {
    const session = http2Connect(`http://${s.address}`);
    try {
      const reset = session.request({ ":method": "POST", ":path": "/echo/reset", "content-type": "application/json" });
      reset.on("error", () => {});
      reset.write("{");
      await new Promise((r) => setTimeout(r, 50));
      // An RST_STREAM without the body's end (close() would end the body first, then reset).
      reset.destroy(new Error("gone"));
      // A stream reset while it is not being read (an event stream's): its error must not reach the process.
      const held = session.request({ ":method": "GET", ":path": "/echo/hold" });
      held.on("error", () => {});
      await new Promise((r) => held.once("response", r));
      held.destroy(new Error("gone"));
      await new Promise((r) => setTimeout(r, 50));
      // 1 MiB is far past HTTP/2's initial window: unless the server drops what it does not read, this stream never closes.
      const refused = await h2(session, "/echo/refuse", Buffer.alloc(1 << 20, 0x20));
      expect(refused.status).toBe(403);
      await refused.closed;
      expect(await h2(session, "/echo/after", "{}")).toMatchObject({ status: 200, text: '{"bytes":2}' });
      expect(s.route.served).not.toContain("/echo/reset");
    } finally {
      session.close();
    }
  });
});

describe("the HTTP face with TLS", () => {
  let pki: TestPki;
  let s: Awaited<ReturnType<typeof startFace>>;
  let ca: Buffer;
  let tls: ServerTls;
  beforeAll(async () => {
    pki = await TestPki.create();
    const issuer = await pki.ca("ca");
    ca = issuer.cert;
    const server = await pki.leaf(issuer, "server", { cn: "ctmd", sans: ["IP:127.0.0.1"], usage: "server" });
    tls = new ServerTls({ certFile: server.certFile, keyFile: server.keyFile, clientAuth: "require" }, log);
    s = await startFace(tls);
  }, 60_000);
  afterAll(async () => {
    await s?.face.close();
    await pki?.dispose();
  });

  it("holds HTTP/1.1 over TLS to the same header deadline", async () => {
    const socket = tlsConnect({ host: "127.0.0.1", port: s.port, ca, ALPNProtocols: ["http/1.1"] });
    await new Promise((r) => socket.once("secureConnect", r));
    expect(socket.alpnProtocol).toBe("http/1.1");
    const reply = await trickleHeaders((x) => socket.write(x), socket);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });

  it("hangs up on a connection that never finishes its handshake", async () => {
    const socket = netConnect(s.port, "127.0.0.1");
    socket.on("error", () => {});
    const closed = await new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    expect(closed).toBe(true);
  });

  it("ends a connection still in its handshake when it closes, without waiting for the deadline", async () => {
    const other = await startFace(tls, 60_000);
    const socket = netConnect(other.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise((r) => socket.once("connect", r));
    await new Promise((r) => setTimeout(r, 50));
    const ended = new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    await other.face.close();
    expect(await ended).toBe(true);
  });

  it("serves h2 by ALPN, with the same chain", async () => {
    const session = http2Connect(`https://${s.address}`, { ca });
    try {
      expect(await h2(session, "/echo/tls", "{}")).toMatchObject({ status: 200, text: '{"bytes":2}' });
    } finally {
      session.close();
    }
  });
});
