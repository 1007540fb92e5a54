import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createFileRegistry, equals, fromBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { HealthImplementation } from "grpc-health-check";
import { GrpcReflection } from "grpc-js-reflection-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigServiceService, type ConfigServiceServer } from "../src/gen/ctm/v1/config_service.js";
import { CTM_DESCRIPTOR_SET, HEALTH_DESCRIPTOR_SET } from "../src/gen/descriptors.js";
import { addReflection } from "../src/transport/grpc/reflection.js";
import { Daemon } from "./helpers/daemon.js";

const VERSIONS = ["v1", "v1alpha"] as const;
let server: grpc.Server;
let address: string;

beforeAll(async () => {
  server = new grpc.Server();
  addReflection(server);
  const impl: Pick<ConfigServiceServer, "get"> = {
    get: (call, callback) =>
      callback(null, {
        header: { revision: 7, oldestRevision: 1 },
        entry: { key: call.request.key, value: { on: true }, version: 3, revision: 7, author: "ann", message: "",
          kind: 1, deleted: false, rolledBackTo: 0, cause: "api", principal: "", valueCompacted: false, breakGlass: false, changeRequest: "" },
        value: { on: true },
        variant: "",
        reason: 1,
      }),
  };
  server.addService(ConfigServiceService, impl);
  new HealthImplementation({ "": "SERVING", "ctm.v1.ConfigService": "SERVING" }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server?.forceShutdown());

describe("reflection with a lenient client (grpc-js-reflection-client)", () => {
  it.each(VERSIONS)("%s: lists services and drives dynamic calls", async (version) => {
    const reflection = new GrpcReflection(address, grpc.credentials.createInsecure(), {}, version);
    const services = await reflection.listServices();
    expect(services).toEqual(expect.arrayContaining(["ctm.v1.ConfigService", "grpc.health.v1.Health"]));

    const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
    const ctm = (await reflection.getDescriptorBySymbol("ctm.v1.ConfigService")).getPackageObject(options);
    const health = (await reflection.getDescriptorBySymbol("grpc.health.v1.Health")).getPackageObject(options);
    const get = await unary(lookup(ctm, "ctm.v1.ConfigService"), "Get", { key: "flags/dark" });
    expect(get).toMatchObject({
      header: { revision: "7" },
      entry: {
        key: "flags/dark",
        version: "3",
        kind: "RECORD_KIND_SET",
        // This client rebuilds types with protobufjs and loses map_entry, so Struct.fields
        // arrives as a list of entries; the strict test checks the served map_entry option.
        value: { kind: "struct_value", struct_value: { fields: [{ key: "on", value: { kind: "bool_value", bool_value: true } }] } },
      },
    });
    const check = await unary(lookup(health, "grpc.health.v1.Health"), "Check", { service: "ctm.v1.ConfigService" });
    expect(check).toMatchObject({ status: "SERVING" });
  });
});

describe("reflection on the real daemon", () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await Daemon.start();
  });
  afterAll(() => daemon?.dispose());

  it.each(VERSIONS)("%s: an independent client lists ctmd's services and calls Set, Get and Health/Check", async (version) => {
    const reflection = new GrpcReflection(daemon.address, grpc.credentials.createInsecure(), {}, version);
    expect(await reflection.listServices()).toEqual(expect.arrayContaining(["ctm.v1.ConfigService", "ctm.v1.RolloutService", "grpc.health.v1.Health"]));
    const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
    const Config = lookup((await reflection.getDescriptorBySymbol("ctm.v1.ConfigService")).getPackageObject(options), "ctm.v1.ConfigService");
    const key = `reflected/${version}`;
    const set = (await unary(Config, "Set", { key, value: { string_value: "on" }, author: "grpcurl-like" }, daemon.address)) as { entry: { version: string } };
    expect(set.entry.version).toBe("1");
    expect(await unary(Config, "Get", { key }, daemon.address)).toMatchObject({ entry: { key, author: "grpcurl-like", value: { kind: "string_value", string_value: "on" } } });
    const Health = lookup((await reflection.getDescriptorBySymbol("grpc.health.v1.Health")).getPackageObject(options), "grpc.health.v1.Health");
    expect(await unary(Health, "Check", { service: "" }, daemon.address)).toMatchObject({ status: "SERVING" });
  });
});

describe("reflection as strict as grpcurl", () => {
  const built = new Map(
    [CTM_DESCRIPTOR_SET, HEALTH_DESCRIPTOR_SET]
      .flatMap((s) => fromBinary(FileDescriptorSetSchema, Buffer.from(s, "base64")).file)
      .map((f) => [f.name, f]),
  );

  it.each(VERSIONS)("%s: every ConfigService type resolves from the served files alone", async (version) => {
    const session = openSession(version);
    try {
      const listed = await session.ask({ listServices: "*" });
      const names = listed.listServicesResponse?.service.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(["ctm.v1.ConfigService", "ctm.v1.RolloutService", "grpc.health.v1.Health"]));

      const [root] = descriptors(await session.ask({ fileContainingSymbol: "ctm.v1.ConfigService" }));
      expect(root.name).toBe("ctm/v1/config_service.proto");
      // Like grpcurl: fetch each import by the name the importing file gives it.
      const files = new Map<string, FileDescriptorProto>([[root.name, root]]);
      const pending = [...root.dependency];
      for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
        if (files.has(name)) continue;
        const [file] = descriptors(await session.ask({ fileByFilename: name }));
        expect(file?.name).toBe(name);
        files.set(name, file);
        pending.push(...file.dependency);
      }

      expect([...files.keys()].sort()).toEqual([
        "ctm/v1/config_service.proto",
        "ctm/v1/record.proto",
        "ctm/v1/rollout.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]);
      expect(files.get("ctm/v1/config_service.proto")?.dependency).toEqual([
        "ctm/v1/record.proto",
        "ctm/v1/rollout.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]);
      expect(files.get("ctm/v1/record.proto")?.dependency).toEqual([
        "ctm/v1/rollout.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]);
      expect(files.get("ctm/v1/rollout.proto")?.dependency).toEqual([
        "google/protobuf/duration.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]);
      // Served descriptors are exactly what buf built (proto3_optional, options, comments).
      for (const [name, file] of files) expect(equals(FileDescriptorProtoSchema, file, built.get(name)!)).toBe(true);

      // protodesc (grpcurl) resolves a reference only within the file and its direct imports.
      for (const file of files.values()) {
        const visible = new Set([file, ...file.dependency.map((d) => files.get(d)!)].flatMap(declaredTypes));
        for (const ref of referencedTypes(file)) expect(visible, `${file.name} -> ${ref}`).toContain(ref);
      }

      const registry = createFileRegistry(root, (name) => files.get(name));
      const service = registry.getService("ctm.v1.ConfigService");
      expect(service?.methods.map((m) => m.name)).toContain("Get");
      for (const method of service!.methods) {
        expect(registry.getMessage(method.input.typeName), method.name).toBeDefined();
        expect(registry.getMessage(method.output.typeName), method.name).toBeDefined();
      }
      expect(registry.getMessage("ctm.v1.GetAtRequest")?.field.time.message?.typeName).toBe("google.protobuf.Timestamp");
      expect(registry.getMessage("google.protobuf.Struct")?.field.fields.fieldKind).toBe("map");

      // RolloutService lives in its own file: resolve it the same way, from what is served alone.
      const [rolloutRoot] = descriptors(await session.ask({ fileContainingSymbol: "ctm.v1.RolloutService" }));
      expect(rolloutRoot.name).toBe("ctm/v1/rollout_service.proto");
      for (const name of rolloutRoot.dependency) {
        if (!files.has(name)) files.set(name, descriptors(await session.ask({ fileByFilename: name }))[0]!);
      }
      const rolloutRegistry = createFileRegistry(rolloutRoot, (name) => files.get(name));
      const rollout = rolloutRegistry.getService("ctm.v1.RolloutService");
      expect(rollout?.methods.map((m) => m.name)).toEqual(["Status", "Pause", "Resume", "Promote", "Abort", "Kill", "Explain"]);
      for (const method of rollout!.methods) {
        expect(rolloutRegistry.getMessage(method.input.typeName), method.name).toBeDefined();
        expect(rolloutRegistry.getMessage(method.output.typeName), method.name).toBeDefined();
      }

      const [healthFile] = descriptors(await session.ask({ fileContainingSymbol: "grpc.health.v1.Health" }));
      expect(healthFile.name).toBe("grpc/health/v1/health.proto");

      for (const request of [{ fileContainingSymbol: "ctm.v1.NoSuchThing" }, { fileByFilename: "ctm/v1/nope.proto" }]) {
        const response = await session.ask(request);
        expect(response.fileDescriptorResponse).toBeUndefined();
        expect(response.errorResponse?.errorCode).toBe(grpc.status.NOT_FOUND);
      }
    } finally {
      session.close();
    }
  });
});

interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

// A raw reflection stream, so the test sees exactly the bytes the server sends.
function openSession(version: (typeof VERSIONS)[number]) {
  const dir = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")), "build/proto");
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [dir] });
  const Client = lookup(grpc.loadPackageDefinition(definition), `grpc.reflection.${version}.ServerReflection`);
  const client = new Client(address, grpc.credentials.createInsecure());
  const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<object, ReflectionResponse>;
  const waiting: { resolve: (r: ReflectionResponse) => void; reject: (e: Error) => void }[] = [];
  call.on("data", (r: ReflectionResponse) => waiting.shift()?.resolve(r));
  call.on("error", (e: Error) => waiting.splice(0).forEach((w) => w.reject(e)));
  return {
    ask: (request: object) =>
      new Promise<ReflectionResponse>((resolve, reject) => {
        waiting.push({ resolve, reject });
        call.write(request);
      }),
    close: () => {
      call.end();
      client.close();
    },
  };
}

function descriptors(response: ReflectionResponse): FileDescriptorProto[] {
  expect(response.errorResponse).toBeUndefined();
  const files = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
  expect(files.length).toBeGreaterThan(0);
  return files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

function lookup(root: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  const found = name.split(".").reduce<unknown>((o, part) => (o as Record<string, unknown> | undefined)?.[part], root);
  if (typeof found !== "function") throw new Error(`service ${name} not in package object`);
  return found as grpc.ServiceClientConstructor;
}

function unary(Client: grpc.ServiceClientConstructor, method: string, request: object, target = address): Promise<unknown> {
  const client = new Client(target, grpc.credentials.createInsecure());
  return new Promise<unknown>((resolve, reject) =>
    client[method](request, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

function declaredTypes(file: FileDescriptorProto): string[] {
  const prefix = file.package ? `.${file.package}` : "";
  const walk = (scope: string, messages: DescriptorProto[]): string[] =>
    messages.flatMap((m) => [
      `${scope}.${m.name}`,
      ...m.enumType.map((e) => `${scope}.${m.name}.${e.name}`),
      ...walk(`${scope}.${m.name}`, m.nestedType),
    ]);
  return [...walk(prefix, file.messageType), ...file.enumType.map((e) => `${prefix}.${e.name}`)];
}

function referencedTypes(file: FileDescriptorProto): string[] {
  const walk = (messages: DescriptorProto[]): string[] =>
    messages.flatMap((m) => [...m.field.map((f) => f.typeName).filter(Boolean), ...walk(m.nestedType)]);
  const methods = file.service.flatMap((s) => s.method.flatMap((m) => [m.inputType, m.outputType]));
  return [...walk(file.messageType), ...methods];
}
