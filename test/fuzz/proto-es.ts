import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { protoRegistry } from "../../src/transport/grpc/proto-registry.js";

/**
 * protobuf-es over the daemon's own descriptors: it encodes what ts-proto refuses to (64-bit
 * numbers beyond 2^53, any enum number, any time) and decodes as the SDKs of other users do,
 * with their limit of 100 nested messages.
 */
export const messageType = (name: string): DescMessage => {
  const t = protoRegistry().getMessage(name);
  if (!t) throw new Error(`no message type ${name}`);
  return t;
};

export const encodeMessage = (name: string, init: object): Uint8Array => {
  const t = messageType(name);
  return toBinary(t, create(t, init as never));
};

export const decodeMessage = (name: string, bytes: Uint8Array): Record<string, unknown> =>
  fromBinary(messageType(name), bytes) as unknown as Record<string, unknown>;

/** An object with an own, enumerable member named "__proto__" (a literal would set the prototype). */
export const withProtoMember = <T>(value: T): Record<string, T> => Object.defineProperty({}, "__proto__", { value, enumerable: true, configurable: true, writable: true });
