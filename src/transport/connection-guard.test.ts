import { afterEach, describe, expect, it } from "vitest";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { clientOfAddress, daemonConnectionGuard, type ConnectionGuard } from "./connection-guard.js";

describe("clientOfAddress", () => {
  it("is an IPv4 address, mapped or not, and an IPv6 address's /64", () => {
    expect(clientOfAddress("10.0.0.7")).toBe("10.0.0.7");
    expect(clientOfAddress("::ffff:10.0.0.7")).toBe("10.0.0.7");
    expect(clientOfAddress("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientOfAddress("2001:db8:1:2::9")).toBe(clientOfAddress("2001:db8:1:2:ffff::1"));
    expect(clientOfAddress("2001:db8:1:3::9")).not.toBe(clientOfAddress("2001:db8:1:2::9"));
    expect(clientOfAddress("fe80::1%eth0")).toBe("fe80::/64");
  });
});

describe("daemonConnectionGuard", () => {
  let server: Server | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await new Promise((r) => server?.close(r) ?? r(undefined));
  });

  /** A real loopback port whose connections go through `guard`; resolves each admitted server-side socket. */
  async function listen(guard: ConnectionGuard): Promise<{ port: number; admitted: Socket[] }> {
    const admitted: Socket[] = [];
    server = createServer((s) => {
      if (guard.admit(s, "grpc")) admitted.push(s);
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return { port: (server.address() as AddressInfo).port, admitted };
  }

  const dial = (port: number): Promise<Socket> =>
    new Promise((resolve) => {
      const c = connect(port, "127.0.0.1", () => resolve(c));
      c.on("error", () => {});
      clients.push(c);
    });

  it("logs a client's refusals once in a while, with how many it left out, and counts every one", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "warn" }, new Writable({ write: (b: Buffer, _e, cb) => (lines.push(JSON.parse(b.toString()) as Record<string, unknown>), cb()) }));
    let refused = 0;
    let open = 0;
    const metrics = { connections: { inc: (_l: object, d: number) => void (open += d) }, connectionsRefused: { inc: () => void refused++ } };
    const guard = daemonConnectionGuard({ connectionsPerClient: 1, maxConnections: 0, silentConnectionMs: 0 }, log, metrics as never);
    const { port, admitted } = await listen(guard);
    await dial(port);
    for (let i = 0; i < 5; i++) await new Promise((r) => dial(port).then((c) => c.once("close", r)));
    expect(admitted).toHaveLength(1);
    expect(refused).toBe(5);
    expect(open).toBe(1);
    expect(guard.of("127.0.0.1")).toBe(1);
    // Five refusals within 10 s: one line.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ face: "grpc", client: "127.0.0.1", open: 1 });
    const closed = new Promise((r) => admitted[0]!.once("close", r));
    admitted[0]!.destroy();
    await closed;
    expect(guard.of("127.0.0.1")).toBe(0);
    expect(open).toBe(0);
  });
});
