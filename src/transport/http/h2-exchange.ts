import type { OutgoingHttpHeader } from "node:http";
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { HttpRequest, HttpResponse } from "./http-exchange.js";

/**
 * One HTTP/2 stream as the request and response the routes use. node:http2's compatibility API
 * does the same with full stream objects and their events, and cost OFREP a fifth of its
 * throughput against gRPC Get (bench/bench-ofrep.ts); these forward to the stream itself.
 */
export function h2Exchange(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): { req: H2Request; res: H2Response } {
  // A stream the client resets is destroyed with an error: without a listener it would be thrown.
  stream.on("error", () => {});
  // Each answer ends with (empty) trailers, as node:http2's compatibility API ends its own: a plain
  // end lets the stream close before node hears that its last write completed, and node then
  // makes an error, stack and all, for every answer (a tenth of OFREP's CPU).
  stream.on("wantTrailers", () => stream.sendTrailers({}));
  return { req: new H2Request(stream, headers), res: new H2Response(stream) };
}

export class H2Request implements HttpRequest {
  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {}

  get method(): string | undefined {
    return this.headers[":method"];
  }

  get url(): string | undefined {
    return this.headers[":path"];
  }

  get socket(): { readonly remoteAddress?: string | undefined } {
    return this.stream.session?.socket ?? {};
  }

  on(event: "data", fn: (chunk: Buffer) => void): this {
    this.stream.on(event, fn);
    return this;
  }

  off(event: "data", fn: (chunk: Buffer) => void): this {
    this.stream.off(event, fn);
    return this;
  }

  once(event: "end" | "error", fn: (e: Error) => void): this {
    this.stream.once(event, fn);
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

export class H2Response implements HttpResponse {
  statusCode = 200;
  private readonly pending: OutgoingHttpHeaders = {};

  constructor(private readonly stream: ServerHttp2Stream) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  setHeader(name: string, value: string): this {
    this.pending[name.toLowerCase()] = value;
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    // A stream the client already reset takes no answer; its close event still tells the chain.
    if (this.stream.headersSent || this.stream.destroyed) return this;
    this.statusCode = status;
    const all = this.pending;
    if (Array.isArray(headers)) for (let i = 0; i + 1 < headers.length; i += 2) all[String(headers[i]).toLowerCase()] = headers[i + 1];
    else if (headers !== undefined) for (const name of Object.keys(headers)) all[name.toLowerCase()] = (headers as OutgoingHttpHeaders)[name];
    all[constants.HTTP2_HEADER_STATUS] = status;
    all.date = httpDate();
    this.stream.respond(all, { waitForTrailers: true });
    return this;
  }

  write(chunk: string | Buffer): boolean {
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    return this.stream.destroyed ? false : this.stream.write(chunk);
  }

  end(body?: string | Buffer): this {
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    if (this.stream.destroyed) return this;
    // An answer given before the whole body came (a refusal): node drops the rest of an unread body.
    this.stream.end(body);
    return this;
  }

  on(event: "drain", fn: () => void): this {
    this.stream.on(event, fn);
    return this;
  }

  once(event: "close", fn: () => void): this {
    this.stream.once(event, fn);
    return this;
  }

  /** Resets the stream: an answer broken off midway must not look complete. */
  destroy(): void {
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** The Date header, made once a second: every answer carries it (RFC 9110 §6.6.1), as node:http's do. */
let dateText = "";
let dateSecond = -1;
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
