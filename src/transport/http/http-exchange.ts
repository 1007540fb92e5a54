import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from "node:http";

/**
 * The request side of one HTTP exchange, as the routes use it: what node:http's IncomingMessage
 * has, and what H2Request gives over an HTTP/2 stream.
 */
export interface HttpRequest {
  readonly method?: string | undefined;
  /** The request target as sent: path and query. */
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
  on(event: "data", fn: (chunk: Buffer) => void): this;
  off(event: "data", fn: (chunk: Buffer) => void): this;
  once(event: "end", fn: () => void): this;
  once(event: "error", fn: (e: Error) => void): this;
  /** Reads on and drops what is left of the body. */
  resume(): this;
}

/** The response side: what node:http's ServerResponse has, and what H2Response gives. */
export interface HttpResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableNeedDrain: boolean;
  setHeader(name: string, value: string): this;
  /** `headers` as an object, or as flat name/value pairs. */
  writeHead(status: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  write(chunk: string | Buffer): boolean;
  end(body?: string | Buffer): this;
  on(event: "drain", fn: () => void): this;
  once(event: "close", fn: () => void): this;
  destroy(): void;
}
