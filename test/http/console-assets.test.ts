import { request } from "node:http";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_CSP, ConsoleAssets } from "../../src/transport/http/console-assets.js";
import { HttpChain } from "../../src/transport/http/http-chain.js";
import { HttpFace } from "../../src/transport/http/http-face.js";

let dir: string;
let face: HttpFace;
let address: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path goes on the wire exactly as written (fetch would normalize ".."). */
function get(path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  // The served root is <dir>/console; beside it lie files that must never be reachable.
  dir = await mkdtemp(join(tmpdir(), "ctm-console-assets-"));
  const root = join(dir, "console");
  await mkdir(join(root, "nested"), { recursive: true });
  await writeFile(join(dir, "secret.txt"), "outside the root");
  await writeFile(join(dir, "secret.js"), "outside the root");
  await writeFile(join(root, "index.html"), "<!doctype html><title>console</title>");
  await writeFile(join(root, "main.js"), "export {};");
  await writeFile(join(root, "console.css"), "body{}");
  await writeFile(join(root, "icon.svg"), "<svg/>");
  await writeFile(join(root, "nested", "view.js"), "export const v = 1;");
  await writeFile(join(root, "notes.md"), "not a console file type");
  await writeFile(join(root, "main.js.map"), "{}");
  await writeFile(join(root, ".env"), "SECRET=1");
  await symlink(join(dir, "secret.js"), join(root, "escape.js"));
  face = new HttpFace(new HttpChain({ log: pino({ level: "silent" }), maxBodyBytes: 1024 }), [new ConsoleAssets(root)], { allowOrigins: [] });
  address = await face.listen("127.0.0.1:0");
});

afterAll(async () => {
  await face?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the console's files under /ui/", () => {
  it("answers index.html for /ui/ and the console's own routes, with the security and caching headers", async () => {
    for (const path of ["/ui/", "/ui/keys", "/ui/keys?prefix=pay/", "/ui/activity", "/ui/key/pay/fee", "/ui/key/db.pool_size", "/ui/key/config.json"]) {
      const r = await get(path);
      expect([path, r.status, r.headers["content-type"], r.body]).toEqual([path, 200, "text/html; charset=utf-8", "<!doctype html><title>console</title>"]);
      expect(r.headers).toMatchObject({
        "content-security-policy": CONSOLE_CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cache-control": "no-cache",
      });
      expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    }
  });

  it("a strict policy: only this origin's scripts, styles and API, no inline code, no framing", () => {
    const directives = new Map(CONSOLE_CSP.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1).join(" ")]));
    expect(directives.get("default-src")).toBe("'none'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("connect-src")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:/);
  });

  it("serves each file with its content type, and HEAD without a body", async () => {
    const types: [string, string][] = [
      ["/ui/main.js", "text/javascript; charset=utf-8"],
      ["/ui/nested/view.js", "text/javascript; charset=utf-8"],
      ["/ui/console.css", "text/css; charset=utf-8"],
      ["/ui/icon.svg", "image/svg+xml"],
      ["/ui/index.html", "text/html; charset=utf-8"],
    ];
    for (const [path, type] of types) {
      const r = await get(path);
      expect([path, r.status, r.headers["content-type"], r.headers["x-content-type-options"]]).toEqual([path, 200, type, "nosniff"]);
    }
    const head = await get("/ui/main.js", { method: "HEAD" });
    expect([head.status, head.headers["content-length"], head.body]).toEqual([200, "10", ""]);
  });

  it("revalidates by ETag: an unchanged file is 304", async () => {
    const first = await get("/ui/main.js");
    const again = await get("/ui/main.js", { headers: { "if-none-match": String(first.headers.etag) } });
    expect([again.status, again.body, again.headers.etag]).toEqual([304, "", first.headers.etag]);
    expect((await get("/ui/main.js", { headers: { "if-none-match": '"other"' } })).status).toBe(200);
  });

  it("never leaves the root: dot segments, encoded slashes, backslashes, dot files and links out are 404", async () => {
    const attempts = [
      "/ui/../secret.txt",
      "/ui/%2e%2e/secret.js",
      "/ui/..%2fsecret.js",
      "/ui/%2e%2e%2fsecret.js",
      "/ui/nested/..%2f..%2fsecret.js",
      "/ui/nested/%2e%2e/%2e%2e/secret.js",
      "/ui/..%5csecret.js",
      "/ui/%2fetc%2fpasswd",
      "/ui//etc/passwd",
      "/ui/.env",
      "/ui/%2eenv",
      "/ui/escape.js",
      "/ui/main.js%00.css",
      "/ui/%E0%A4%A",
    ];
    for (const path of attempts) {
      const r = await get(path);
      expect([path, r.status]).toEqual([path, 404]);
      expect(r.body).not.toContain("outside the root");
      // "/ui/../secret.txt" is "/secret.txt" once parsed: not the console's to answer.
      if (new URL(path, "http://ctmd").pathname.startsWith("/ui/")) expect(r.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("unknown files and file types the console does not ship are 404; other methods 405", async () => {
    for (const path of ["/ui/missing.js", "/ui/notes.md", "/ui/main.js.map", "/ui/nested", "/ui/nested/", "/ui/keysx", "/ui/key/"]) {
      expect([path, (await get(path)).status]).toEqual([path, 404]);
    }
    const post = await get("/ui/main.js", { method: "POST" });
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
  });

  it("/ and /ui lead to the console", async () => {
    expect(await get("/ui")).toMatchObject({ status: 301, headers: { location: "/ui/" } });
    expect(await get("/")).toMatchObject({ status: 302, headers: { location: "/ui/" } });
  });

  it("says so when the console is not built", async () => {
    const bare = new HttpFace(new HttpChain({ log: pino({ level: "silent" }), maxBodyBytes: 1024 }), [new ConsoleAssets(join(dir, "none"))], { allowOrigins: [] });
    const at = await bare.listen("127.0.0.1:0");
    try {
      const r = await fetch(`http://${at}/ui/`);
      expect([r.status, await r.text()]).toEqual([404, "the console is not built (npm run build writes dist/console)\n"]);
    } finally {
      await bare.close();
    }
  });
});
