import * as grpc from "@grpc/grpc-js";

/** How a call ended: its status, and the first response's bytes when there was one. */
export interface RawAnswer {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
  response?: Buffer;
}

const identity = (b: Buffer): Buffer => b;

/**
 * Sends request bytes as they are, to any method path: what a hostile or broken client can
 * send, which no generated client would encode.
 */
export class RawClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  unary(path: string, bytes: Uint8Array, metadata = new grpc.Metadata(), timeoutMs = 30_000): Promise<RawAnswer> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata });
        else resolve({ code: grpc.status.OK, details: "", metadata: new grpc.Metadata(), response: res });
      });
    });
  }

  /** A server stream, ended by the client after its first response (or by the server's status). */
  firstOfStream(path: string, bytes: Uint8Array, metadata = new grpc.Metadata(), timeoutMs = 30_000): Promise<RawAnswer> {
    return new Promise((resolve) => {
      const call = this.client.makeServerStreamRequest(path, identity, identity, Buffer.from(bytes), metadata, { deadline: Date.now() + timeoutMs });
      call.on("data", (b: Buffer) => {
        resolve({ code: grpc.status.OK, details: "", metadata: new grpc.Metadata(), response: b });
        call.cancel();
      });
      call.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details, metadata: e.metadata }));
      call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details, metadata: s.metadata }));
    });
  }

  close(): void {
    this.client.close();
  }
}
