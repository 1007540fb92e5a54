import * as grpc from "@grpc/grpc-js";

export interface RawReply {
  code: grpc.status;
  details: string;
  body: Buffer | undefined;
}

const identity = (b: Buffer): Buffer => b;

/**
 * A grpc-js client that sends pre-encoded request bodies and hands back raw response
 * bytes: the same bytes h2load sends, so one sample call proves what h2load's 200s mean.
 */
export class RawClient {
  private readonly clients: grpc.Client[];
  private next = 0;

  /** `channels` > 1 spreads calls over several HTTP/2 connections, like h2load -c. */
  constructor(
    address: string,
    channels = 1,
    /** Sent with every call, e.g. `{ authorization: "Bearer ..." }`. */
    private readonly headers: Record<string, string> = {},
    /** More channel options, e.g. a larger grpc.max_receive_message_length. */
    options: grpc.ChannelOptions = {},
  ) {
    this.clients = Array.from(
      { length: channels },
      (_, i) =>
        // A local subchannel pool per client: otherwise grpc-js shares one connection.
        new grpc.Client(address, grpc.credentials.createInsecure(), { ...options, "grpc.use_local_subchannel_pool": 1, "grpc.bench.channel": i }),
    );
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.headers)) md.set(k, v);
    return md;
  }

  unary(path: string, body: Uint8Array, deadlineMs = 10_000): Promise<RawReply> {
    const client = this.clients[this.next++ % this.clients.length]!;
    return new Promise((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        this.metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, value) => {
          if (err) resolve({ code: err.code, details: err.details, body: undefined });
          else resolve({ code: grpc.status.OK, details: "", body: value });
        },
      );
    });
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}
