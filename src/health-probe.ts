#!/usr/bin/env node
/**
 * Exit 0 when ctmd answers SERVING on grpc.health.v1, 1 otherwise. Used by the
 * container HEALTHCHECK, where no grpc_health_probe binary is available.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
import { DEFAULT_LISTEN } from "./config.js";

const target = (process.argv[2] ?? process.env.CTM_LISTEN ?? DEFAULT_LISTEN).replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
const def = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { enums: String })) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};
const client = new def.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
client.check({ service: "" }, { deadline: Date.now() + 3000 }, (err: grpc.ServiceError | null, res: { status: string }) => {
  if (err) {
    process.stderr.write(`unhealthy: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${res.status}\n`);
  process.exit(res.status === "SERVING" ? 0 : 1);
});
