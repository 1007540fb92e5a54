import { create, createFileRegistry, fromBinary, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { CTM_DESCRIPTOR_SET, HEALTH_DESCRIPTOR_SET } from "../../gen/descriptors.js";

let registry: FileRegistry | undefined;

/**
 * Every message type the daemon serves (ctm.v1 and grpc.health.v1), read from the same
 * descriptor bytes that reflection serves, so request checks follow the wire contract exactly.
 */
export function protoRegistry(): FileRegistry {
  if (registry === undefined) {
    const sets = [CTM_DESCRIPTOR_SET, HEALTH_DESCRIPTOR_SET].map((b64) => fromBinary(FileDescriptorSetSchema, Buffer.from(b64, "base64")));
    registry = createFileRegistry(create(FileDescriptorSetSchema, { file: sets.flatMap((s) => s.file) }));
  }
  return registry;
}

/** The request type of a gRPC method path such as "/ctm.v1.ConfigService/Set". */
export function requestTypeOf(path: string): DescMessage | undefined {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  if (!service || !method) return undefined;
  return protoRegistry().getService(service)?.methods.find((m) => m.name === method)?.input;
}
