/**
 * The HTTP/2 receive window ctm's grpc-js clients open: what a server sees of a client's SETTINGS
 * and connection window, from a real HTTP/2 server that answers every call UNIMPLEMENTED.
 */
import { once } from "node:events";
import { createServer, type Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { client, defer } from "./helpers.js";
import { ctm } from "../cli/run-ctm.js";

const FOUR_MIB = 4 * 1024 * 1024;
const HTTP2_DEFAULT = 65_535;

interface Windows {
  /** The client's SETTINGS_INITIAL_WINDOW_SIZE: what a server may send on a stream before it hears more. */
  stream: number;
  /** What the server may send on the connection before it hears more. */
  connection: number;
}

/**
 * An h2c server on 127.0.0.1 that answers every stream with a trailers-only UNIMPLEMENTED, and
 * notes the windows the client had opened when the stream came (a client that exits takes its
 * session with it).
 */
async function settingsProbe(): Promise<{ address: string; seen: () => Windows | undefined }> {
  const server = createServer();
  const sessions = new Set<Http2Session>();
  let seen: Windows | undefined;
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", async (stream) => {
    const s = stream.session!;
    // grpc-js sends its connection WINDOW_UPDATE once it has the server's SETTINGS, which may be
    // after its first call's HEADERS: the call is held (up to a second) until the update is in.
    for (const until = Date.now() + 1000; s.state.remoteWindowSize! <= HTTP2_DEFAULT && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
    if (stream.destroyed) return;
    seen = { stream: s.remoteSettings.initialWindowSize!, connection: s.state.remoteWindowSize! };
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": String(grpc.status.UNIMPLEMENTED), "grpc-message": "probe" }, { endStream: true });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  defer(async () => {
    for (const s of sessions) s.destroy();
    server.close();
    await once(server, "close");
  });
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, seen: () => seen };
}

describe("receive window of ctm's grpc-js clients", () => {
  it("a bare grpc-js client opens HTTP/2's 64 KiB: what the clients below change", async () => {
    const probe = await settingsProbe();
    const c = new grpc.Client(probe.address, grpc.credentials.createInsecure());
    defer(() => c.close());
    const code = await new Promise<number>((resolve) =>
      c.makeUnaryRequest("/ctm.v1.ConfigService/Get", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e?.code ?? grpc.status.OK)),
    );
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
    expect(probe.seen()).toEqual({ stream: HTTP2_DEFAULT, connection: HTTP2_DEFAULT });
  });

  it("CtmClient opens 4 MiB on each stream and on the connection", async () => {
    const probe = await settingsProbe();
    const c = client(probe.address, { retry: { maxAttempts: 1 } });
    await expect(c.get("k")).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    expect(probe.seen()).toEqual({ stream: FOUR_MIB, connection: FOUR_MIB });
  });

  it("a caller's channel options still win over the window", async () => {
    const probe = await settingsProbe();
    const c = client(probe.address, { retry: { maxAttempts: 1 }, channelOptions: { "grpc-node.flow_control_window": 1 << 20 } });
    await expect(c.get("k")).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    expect(probe.seen()).toEqual({ stream: 1 << 20, connection: 1 << 20 });
  });

  it("the ctm CLI opens 4 MiB on each stream and on the connection", async () => {
    const probe = await settingsProbe();
    const r = await ctm(probe.address, ["get", "k"]);
    expect(r.stderr).toMatch(/UNIMPLEMENTED|probe/);
    expect(probe.seen()).toEqual({ stream: FOUR_MIB, connection: FOUR_MIB });
  });
});
