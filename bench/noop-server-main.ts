// Child process: the transport ceiling. A grpc-js server whose ctm.v1.ConfigService/Get
// answers fixed, pre-encoded bytes without decoding the request: the fixture's GetResponse,
// or the bytes of the file named by argv[2] (the parent writes ctmd's own answer there, so
// both servers send the same response). The parent asks for the call count over IPC
// ("count") to check h2load's success figures.
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { fixture } from "./fixture.js";

const response = process.argv[2] ? readFileSync(process.argv[2]) : Buffer.from(fixture.getResponse());
let calls = 0;

const identity = (b: Buffer): Buffer => b;
const definition: grpc.ServiceDefinition = {
  get: {
    path: "/ctm.v1.ConfigService/Get",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server();
server.addService(definition, {
  get: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    calls++;
    callback(null, response);
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(JSON.stringify({ msg: "listening", address: `127.0.0.1:${port}` }));
});

process.on("message", (message) => {
  if (message === "count") process.send?.({ calls });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
