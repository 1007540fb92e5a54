/**
 * The layers point one way: @ctm/core <- domain <- storage <- watch <- service <- {scheduler,
 * health, transport} <- main. Read from the sources' own imports: a file that imports a layer
 * above its own, or protobuf or gRPC where the layer must not see them, fails here by name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

/** The modules each layer may import (its own always), by their first path segment under src/. */
const MAY_IMPORT: Record<string, string[]> = {
  domain: [],
  // The etcd store speaks etcd's own protocol (gen/etcd), never ctm's API.
  storage: ["domain", "gen/etcd", "worker-script"],
  watch: ["domain", "storage"],
  service: ["domain", "storage", "watch"],
  scheduler: ["domain", "storage", "watch", "service"],
  health: ["domain", "storage", "watch", "service"],
  transport: ["domain", "storage", "watch", "service", "gen", "config", "worker-script"],
};
/** Packages a layer must not import: the domain and the use cases never see protobuf or gRPC. */
const NEVER: Record<string, RegExp> = {
  core: /^(@grpc\/|@bufbuild\/|protobufjs|\.\.?\/.*\/src\/)/,
  domain: /^(@grpc\/|@bufbuild\/|protobufjs)/,
  watch: /^(@grpc\/|@bufbuild\/|protobufjs)/,
  service: /^(@grpc\/|@bufbuild\/|protobufjs)/,
  scheduler: /^(@grpc\/|@bufbuild\/|protobufjs)/,
  health: /^(@grpc\/|@bufbuild\/|protobufjs)/,
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [p] : [];
  });
}

function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  // `import x from "m"`, `export { x } from "m"`, `import "m"` and `import("m")`.
  const forms = /^\s*(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
  return [...text.matchAll(forms)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** "domain", "gen/etcd", "config"...: where a module under src/ sits, as MAY_IMPORT names it. */
function moduleOf(path: string): string {
  const parts = relative(SRC, path).replace(/\.(js|ts)$/, "").split("/");
  return parts[0] === "gen" && parts[1] === "etcd" ? "gen/etcd" : parts[0]!;
}

describe("the layers", () => {
  const files = sources(SRC);

  it("import only the layers below them", () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const file of files) {
      const layer = moduleOf(file);
      const allowed = MAY_IMPORT[layer];
      if (!allowed) continue;
      for (const spec of specifiers(file)) {
        if (!spec.startsWith(".")) continue;
        checked++;
        const target = moduleOf(resolve(dirname(file), spec));
        const ok = target === layer || allowed.includes(target) || (target === "gen" && allowed.includes("gen"));
        if (!ok) wrong.push(`${relative(ROOT, file)} imports ${spec} (${target})`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  });

  it("keep protobuf and gRPC out of @ctm/core, the domain and the use cases", () => {
    const wrong: string[] = [];
    const core = sources(join(ROOT, "packages/core/src")).map((f) => [f, "core"] as const);
    for (const [file, layer] of [...core, ...files.map((f) => [f, moduleOf(f)] as const)]) {
      const never = NEVER[layer];
      if (!never) continue;
      for (const spec of specifiers(file)) if (never.test(spec) || (layer !== "core" && /(^|\/)gen\//.test(spec))) wrong.push(`${relative(ROOT, file)} imports ${spec}`);
    }
    expect(wrong).toEqual([]);
    expect(core.length).toBeGreaterThan(5);
  });

});
