import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { TestPki, type Issued } from "../helpers/test-pki.js";

/** One request over an HTTP/2 session: status, headers and body. */
function h2Request(session: ClientHttp2Session, path: string, o: { method?: string; body?: string; read?: number } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = session.request({ ":method": o.method ?? "POST", ":path": path, "content-type": "application/json" });
    let status = 0;
    let body = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      body += d;
      // A stream does not end: stop once enough of it came.
      if (o.read !== undefined && body.length >= o.read) {
        req.close();
        resolve({ status, body });
      }
    });
    req.on("end", () => resolve({ status, body }));
    req.on("error", reject);
    req.end(o.body);
  });
}

describe("one port speaks HTTP/1.1 and HTTP/2", () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await Daemon.start();
    const c = connect(daemon.address);
    await api(c).set({ key: "p/flag", value: true });
    c.close();
  }, 30_000);
  afterAll(() => daemon?.dispose());

  it("answers HTTP/2 with prior knowledge (h2c) as it answers HTTP/1.1: the API, OFREP, the console and the event stream", async () => {
    const session = http2Connect(`http://${daemon.http}`);
    try {
      const get = await h2Request(session, "/api/ctm.v1.ConfigService/Get", { body: '{"key":"p/flag"}' });
      expect(get.status).toBe(200);
      expect(JSON.parse(get.body)).toMatchObject({ value: true, entry: { key: "p/flag" } });
      const missing = await h2Request(session, "/api/ctm.v1.ConfigService/Get", { body: '{"key":"p/none"}' });
      expect(missing.status).toBe(404);
      const ofrep = await h2Request(session, "/ofrep/v1/evaluate/flags/p/flag", { body: '{"context":{}}' });
      expect(JSON.parse(ofrep.body)).toMatchObject({ key: "p/flag", value: true, reason: "STATIC" });
      expect((await h2Request(session, "/ui/", { method: "GET" })).status).toBe(200);
      const events = await h2Request(session, "/api/events?prefix=p/&start_revision=1", { method: "GET", read: 200 });
      expect(events.status).toBe(200);
      expect(events.body).toContain('"key":"p/flag"');
    } finally {
      session.close();
    }
    // And HTTP/1.1 on the same port.
    const h1 = await fetch(`http://${daemon.http}/api/ctm.v1.ConfigService/Get`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"key":"p/flag"}' });
    expect(h1.status).toBe(200);
  });

  it("closes a plaintext connection that sends garbage", async () => {
    const [host, port] = [daemon.http.slice(0, daemon.http.lastIndexOf(":")), Number(daemon.http.slice(daemon.http.lastIndexOf(":") + 1))];
    const reply = await new Promise<string>((resolve) => {
      let out = "";
      const s = netConnect(port, host, () => s.write("\x16\x03\x01 not http at all\r\n\r\n"));
      s.on("data", (d) => (out += d.toString()));
      s.on("close", () => resolve(out));
      s.on("error", () => resolve(out));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe("with --tls-cert, HTTPS offers h2 and HTTP/1.1 by ALPN", () => {
  let pki: TestPki;
  let ca: Issued;
  let daemon: Daemon;
  beforeAll(async () => {
    pki = await TestPki.create();
    ca = await pki.ca("ca");
    const server = await pki.leaf(ca, "server", { cn: "ctmd", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "server" });
    daemon = await Daemon.start({ args: ["--tls-cert", server.certFile, "--tls-key", server.keyFile] });
  }, 120_000);
  afterAll(async () => {
    await daemon?.dispose();
    await pki?.dispose();
  });

  it("serves the API over h2 and over HTTP/1.1, and refuses plaintext", async () => {
    const session = http2Connect(`https://${daemon.http}`, { ca: ca.cert });
    try {
      const r = await h2Request(session, "/api/ctm.v1.AuthService/WhoAmI", { body: "{}" });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ principal: "anonymous" });
      expect(session.alpnProtocol).toBe("h2");
    } finally {
      session.close();
    }
    const h1 = await new Promise<{ status: number; alpn: string | false }>((resolve, reject) => {
      const req = httpsRequest(`https://${daemon.http}/api/ctm.v1.AuthService/WhoAmI`, { method: "POST", ca: ca.cert, headers: { "content-type": "application/json" }, ...{ ALPNProtocols: ["http/1.1"] } }, (res) => {
        const alpn = (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol;
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, alpn }));
      });
      req.on("error", reject);
      req.end("{}");
    });
    expect(h1).toEqual({ status: 200, alpn: "http/1.1" });
    await expect(fetch(`http://${daemon.http}/ui/`)).rejects.toThrow();
  });
});
