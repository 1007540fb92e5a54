import * as grpc from "@grpc/grpc-js";

let current: grpc.Metadata | undefined;
let until = 0;

/**
 * Response metadata that carries the HTTP `date` header, for successful unary calls.
 *
 * Node's http2 adds `date` to every response it sends without one. In a long-running server
 * that store (a new key on the dictionary-mode headers object) can settle into missing V8's
 * inline cache on every call, a few microseconds each time: the largest single cost a Get
 * had beyond the no-op server in CPU profiles. Given the header, Node copies it with the
 * others and skips that store. The value is the one Node would send (the time, to the
 * second). grpc-js only reads the metadata it is given, so one object serves each second.
 */
export function dateMetadata(now = Date.now()): grpc.Metadata {
  if (current === undefined || now >= until || now < until - 1000) {
    current = new grpc.Metadata();
    current.set("date", new Date(now).toUTCString());
    until = now - (now % 1000) + 1000;
  }
  return current;
}
