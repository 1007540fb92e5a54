import type * as grpc from "@grpc/grpc-js";
import type { PackageDefinition, ProtobufTypeDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { CTM_DESCRIPTOR_SET, HEALTH_DESCRIPTOR_SET } from "../../gen/descriptors.js";

// Strict clients (grpcurl) resolve every type from the returned descriptors alone, so
// each file must keep its real name and full dependency list. proto-loader loses both
// (merged or renamed files, empty `dependency`), so we hand @grpc/reflection the
// untouched FileDescriptorProto bytes of the `buf build` output instead.
function fileDescriptorProtos(base64: string): Buffer[] {
  const reader = new BinaryReader(Buffer.from(base64, "base64"));
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    // FileDescriptorSet.file = 1; copying the field's bytes avoids any re-encoding.
    if (no === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType, no);
  }
  return files;
}

export function addReflection(server: grpc.Server): void {
  // @grpc/reflection only reads `fileDescriptorProtos` of each entry (keys are labels),
  // so entries need not be real type definitions.
  const entry = (base64: string): ProtobufTypeDefinition => ({
    format: "Protocol Buffer 3 FileDescriptorProto",
    type: {},
    fileDescriptorProtos: fileDescriptorProtos(base64),
  });
  const definition = {
    "ctm.v1": entry(CTM_DESCRIPTOR_SET),
    "grpc.health.v1": entry(HEALTH_DESCRIPTOR_SET),
  } as PackageDefinition;
  // Serves both grpc.reflection.v1 and v1alpha; older grpcurl only speaks v1alpha.
  new ReflectionService(definition).addToServer(server);
}
