// A small grpcurl for the README tests, built on server reflection (grpc-js-reflection-client)
// and @bufbuild/protobuf's proto3 JSON mapping. It takes what the README uses: -plaintext,
// -d JSON, -H "name: value", -max-time SECONDS, then ADDRESS and `list [SERVICE]`,
// `describe SYMBOL` or SERVICE/METHOD. Like grpcurl it prints each response as indented
// JSON, resolves types only from the files reflection returns (with their dependencies),
// and exits 64 + the gRPC status code when a call fails.
import * as grpc from "@grpc/grpc-js";
import { create, createFileRegistry, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { GrpcReflection } from "grpc-js-reflection-client";

const STATUS_OFFSET = 64;

function parseArgs(argv) {
  const o = { plaintext: false, data: undefined, headers: [], maxTime: undefined, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-plaintext") o.plaintext = true;
    else if (a === "-d") o.data = argv[++i];
    else if (a === "-H") o.headers.push(argv[++i]);
    else if (a === "-max-time") o.maxTime = Number(argv[++i]);
    else if (a.startsWith("-")) usage(`unsupported flag ${a}`);
    else o.rest.push(a);
  }
  if (!o.plaintext) usage("only -plaintext connections are supported");
  if (o.rest.length < 2) usage("expected ADDRESS and a method, list or describe");
  return o;
}

function usage(message) {
  process.stderr.write(`grpcurl (test shim): ${message}\n`);
  process.exit(2);
}

/** Every file that defines `symbol`, with its dependencies, fetched as grpcurl does: by name. */
async function registryFor(refl, symbol) {
  const files = new Map();
  const seen = new Set();
  const add = async (bytesList) => {
    for (const bytes of bytesList) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (files.has(file.name) || seen.has(file.name)) continue;
      seen.add(file.name);
      for (const dep of file.dependency) if (!files.has(dep)) await add(await refl.getProtoDescriptorByFileName(dep));
      // Dependencies first: the registry resolves imports in the order files arrive.
      files.set(file.name, file);
    }
  };
  await add(await refl.getProtoDescriptorBySymbol(symbol));
  return createFileRegistry(create(FileDescriptorSetSchema, { file: [...files.values()] }));
}

function metadataOf(headers) {
  const md = new grpc.Metadata();
  for (const h of headers) {
    const i = h.indexOf(":");
    md.add(h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim());
  }
  return md;
}

const print = (json) => process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);

function fail(err) {
  const code = typeof err?.code === "number" ? err.code : grpc.status.UNKNOWN;
  const name = grpc.status[code] ?? "Unknown";
  const camel = name.toLowerCase().replace(/(^|_)(\w)/g, (_, __, c) => c.toUpperCase());
  process.stderr.write(`ERROR:\n  Code: ${camel}\n  Message: ${err?.details ?? err?.message ?? String(err)}\n`);
  process.exitCode = STATUS_OFFSET + code;
}

async function call(address, target, o) {
  const refl = new GrpcReflection(address, grpc.credentials.createInsecure());
  const [serviceName, methodName] = target.includes("/") ? target.split("/") : [target.slice(0, target.lastIndexOf(".")), target.slice(target.lastIndexOf(".") + 1)];
  const registry = await registryFor(refl, serviceName);
  const service = registry.getService(serviceName);
  const method = service?.methods.find((m) => m.name === methodName);
  if (!method) usage(`no method ${target}`);
  const request = fromJson(method.input, JSON.parse(o.data ?? "{}"), { registry });
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const path = `/${serviceName}/${methodName}`;
  const serialize = (m) => Buffer.from(toBinary(method.input, m));
  const deserialize = (b) => toJson(method.output, fromBinary(method.output, b), { registry });
  const options = o.maxTime ? { deadline: Date.now() + o.maxTime * 1000 } : {};
  const md = metadataOf(o.headers);
  await new Promise((resolve) => {
    if (method.methodKind === "server_streaming") {
      const stream = client.makeServerStreamRequest(path, serialize, deserialize, request, md, options);
      stream.on("data", print);
      stream.on("error", (e) => (fail(e), resolve()));
      stream.on("end", resolve);
    } else {
      client.makeUnaryRequest(path, serialize, deserialize, request, md, options, (err, res) => (err ? fail(err) : print(res), resolve()));
    }
  });
  client.close();
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [address, verb, arg] = o.rest;
  if (verb === "list" && !arg) {
    const refl = new GrpcReflection(address, grpc.credentials.createInsecure());
    for (const s of (await refl.listServices()).sort()) process.stdout.write(`${s}\n`);
  } else if (verb === "list" || verb === "describe") {
    const refl = new GrpcReflection(address, grpc.credentials.createInsecure());
    const service = (await registryFor(refl, arg)).getService(arg);
    if (!service) usage(`${arg} is not a service`);
    if (verb === "describe") process.stdout.write(`${arg} is a service:\n`);
    for (const m of service.methods) {
      const stream = m.methodKind === "server_streaming" ? "stream " : "";
      process.stdout.write(verb === "list" ? `${arg}.${m.name}\n` : `  rpc ${m.name} ( .${m.input.typeName} ) returns ( ${stream}.${m.output.typeName} );\n`);
    }
  } else {
    await call(address, verb, o);
  }
}

main().catch((e) => {
  fail(e);
  process.exit();
});
