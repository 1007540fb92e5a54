/** One uncompressed gRPC message frame: flag 0, 4-byte big-endian length, then the body. */
export function grpcFrame(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  return frame;
}
