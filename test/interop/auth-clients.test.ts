/**
 * The Python client's `token=`/TLS arguments and the Go client's `ctm.DialOptions` against a
 * real ctmd with `--auth on` (and TLS, mTLS): each runs a small program
 * (test/interop/python/auth_check.py, `interop auth`) that tries Set, Get and Watch with the
 * token from CTM_TOKEN, or without it, and prints what happened; the test checks it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { TestPki, type Issued } from "../helpers/test-pki.js";
import { GO_BUILD_MS, GoPath, PY_ENV, PYTHON, ROOT, run } from "./helpers.js";

const PY_AUTH = join(ROOT, "test/interop/python/auth_check.py");
const AUTH_ON = ["--auth", "on", "--auth-failure-delay-max-ms", "0"];

type Result = { ok: true; result: unknown } | { ok: false; code: string; details: string };
interface Report {
  token: boolean;
  set: Result;
  get: Result;
  watch: Result;
}

let gopath: GoPath;
let goInterop: string;
let ctmget: string;
let pki: TestPki;
let ca: Issued;
let server: Issued;
let clientCert: Issued;
beforeAll(async () => {
  gopath = await GoPath.create();
  pki = await TestPki.create();
  ca = await pki.ca("ca");
  [server, clientCert, goInterop, ctmget] = await Promise.all([
    pki.leaf(ca, "server", { cn: "ctmd", sans: ["IP:127.0.0.1", "DNS:localhost"], usage: "server" }),
    pki.leaf(ca, "client", { cn: "interop-client", usage: "client" }),
    gopath.build("ctm.dev/clients/go/cmd/interop"),
    gopath.build("ctm.dev/clients/go/cmd/ctmget"),
  ]);
}, GO_BUILD_MS);
afterAll(async () => {
  await gopath?.dispose();
  await pki?.dispose();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function daemon(args: string[]): Promise<{ address: string; token: string }> {
  const d = await Daemon.start({ args });
  cleanups.push(() => d.dispose());
  if (!args.includes("--auth")) return { address: d.address, token: "" };
  // As ctmd wrote it, trailing newline included: the clients trim it.
  return { address: d.address, token: await readFile(join(d.dataDir, "admin.token"), "utf8") };
}

interface Tls {
  ca: string;
  cert?: string;
  certKey?: string;
}

/** The environment of a client run: CTM_TOKEN set to `token`, or absent. */
function envWith(base: NodeJS.ProcessEnv, token: string | undefined): NodeJS.ProcessEnv {
  const env = { ...base };
  delete env.CTM_TOKEN;
  if (token !== undefined) env.CTM_TOKEN = token;
  return env;
}

async function python(address: string, key: string, token: string | undefined, tls?: Tls): Promise<Report> {
  const args = [PY_AUTH, "--addr", address, "--key", key];
  if (tls) args.push("--ca", tls.ca, ...(tls.cert ? ["--cert", tls.cert, "--cert-key", tls.certKey!] : []));
  return JSON.parse((await run(PYTHON, args, { env: envWith(PY_ENV, token), timeoutMs: 40_000 })).stdout) as Report;
}

async function go(address: string, key: string, token: string | undefined, tls?: Tls): Promise<Report> {
  const args = ["auth", "-addr", address, "-key", key];
  if (tls) args.push("-ca", tls.ca, ...(tls.cert ? ["-cert", tls.cert, "-cert-key", tls.certKey!] : []));
  return JSON.parse((await run(goInterop, args, { env: envWith(process.env, token), timeoutMs: 40_000 })).stdout) as Report;
}

const CLIENTS = [
  { name: "Python", run: python, unauthenticated: "UNAUTHENTICATED", denied: "PERMISSION_DENIED" },
  { name: "Go", run: go, unauthenticated: "Unauthenticated", denied: "PermissionDenied" },
] as const;

/** Without a usable token: Set, Get and Watch all refused with `code`. */
function expectRefused(r: Report, code: string): void {
  for (const call of [r.set, r.get, r.watch]) expect(call).toMatchObject({ ok: false, code });
}

/** With the token: the Set, the Get of its value, and the Watch's replayed and live events. */
function expectWorked(r: Report, key: string): void {
  expect(r.token).toBe(true);
  expect(r.set).toMatchObject({ ok: true, result: { key, version: 1, value: { n: 1 }, principal: expect.stringMatching(/^token:/) as unknown } });
  expect(r.get).toEqual({ ok: true, result: { n: 1 } });
  const first = (r.set as { result: { revision: number } }).result.revision;
  expect(r.watch).toMatchObject({
    ok: true,
    result: [
      { key, version: 1, revision: first, value: { n: 1 } },
      { key, version: 2, value: { n: 2 }, principal: expect.stringMatching(/^token:/) as unknown },
    ],
  });
}

describe("Go: ctm.DialOptions and BearerToken", () => {
  it("go test of clients/go/ctm/dial_test.go passes (token trimming, the plaintext opt-in, file errors)", async () => {
    const { code, output } = await gopath.test(["-v", "-count=1", "-run", "^(TestBearerToken|TestDialOptions)$", "ctm.dev/clients/go/ctm"]);
    expect(code, output).toBe(0);
    for (const t of ["TestBearerToken", "TestDialOptions"]) expect(output).toContain(`--- PASS: ${t} `);
  });
});

describe("ctmget (the Go sample) against ctmd --auth on", () => {
  it("takes CTM_TOKEN: refused without it, the value with it", async () => {
    const d = await daemon(AUTH_ON);
    const set = await go(d.address, "app/sample", d.token);
    expect(set.set).toMatchObject({ ok: true });
    const refused = await run(ctmget, ["-addr", d.address, "-key", "app/sample"], { env: envWith(process.env, undefined), timeoutMs: 40_000 }).then(
      () => new Error("expected ctmget to fail"),
      (e: Error) => e,
    );
    expect(refused.message).toMatch(/\(exit 1\)[\s\S]*Unauthenticated/);
    const got = await run(ctmget, ["-addr", d.address, "-key", "app/sample"], { env: envWith(process.env, d.token), timeoutMs: 40_000 });
    expect(JSON.parse(got.stdout)).toMatchObject({ key: "app/sample", version: 2 });
  });
});

describe.each(CLIENTS)("$name client against ctmd --auth on", (client) => {
  it("without a token: Set, Get and Watch fail UNAUTHENTICATED", async () => {
    const d = await daemon(AUTH_ON);
    const r = await client.run(d.address, "app/flag", undefined);
    expect(r.token).toBe(false);
    expectRefused(r, client.unauthenticated);
  });

  it("with the admin token from CTM_TOKEN: Set, Get and Watch (a replayed and a live event) work", async () => {
    const d = await daemon(AUTH_ON);
    expectWorked(await client.run(d.address, "app/flag", d.token), "app/flag");
  });

  it("a token ctmd does not know: UNAUTHENTICATED", async () => {
    const d = await daemon(AUTH_ON);
    expectRefused(await client.run(d.address, "app/flag", "ctm_0000000000000000_notarealsecretnotarealsecret"), client.unauthenticated);
  });

  it("ctmd --auth off ignores the token", async () => {
    const d = await daemon([]);
    const r = await client.run(d.address, "app/flag", "ctm_0000000000000000_anything");
    expect(r.set).toMatchObject({ ok: true, result: { version: 1, principal: "" } });
    expect(r.watch).toMatchObject({ ok: true, result: [{ version: 1 }, { version: 2 }] });
  });

  it("TLS (the CA's PEM) with the token works; without it UNAUTHENTICATED", async () => {
    const d = await daemon([...AUTH_ON, "--tls-cert", server.certFile, "--tls-key", server.keyFile]);
    const tls = { ca: ca.certFile };
    expectWorked(await client.run(d.address, "tls/flag", d.token, tls), "tls/flag");
    expectRefused(await client.run(d.address, "tls/other", undefined, tls), client.unauthenticated);
  });

  it("mTLS: the client certificate is presented (no role: PERMISSION_DENIED); with the token it works", async () => {
    const d = await daemon([...AUTH_ON, "--tls-cert", server.certFile, "--tls-key", server.keyFile, "--tls-client-ca", ca.certFile]);
    const tls = { ca: ca.certFile, cert: clientCert.certFile, certKey: clientCert.keyFile };
    expectWorked(await client.run(d.address, "mtls/flag", d.token, tls), "mtls/flag");
    // Authenticated as cert:interop-client, which no role grants anything.
    expectRefused(await client.run(d.address, "mtls/other", undefined, tls), client.denied);
  });
});
