import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeBlocks, isRunnable, NO_RUN } from "./code-blocks.js";
import { DocsEnv, installLine, ROOT } from "./docs-env.js";
import { runBlock, type BlockContext } from "./run-block.js";

/** The READMEs whose examples must run, each in order on a fresh store. */
const DOCS = ["README.md", "clients/ts/README.md", "clients/python/README.md", "clients/go/README.md"];
/** The address the READMEs use; the test's daemon listens elsewhere, on a free port. */
const DOC_ADDRESS = "127.0.0.1:7411";
/** The HTTP face's address the READMEs use (OFREP, the console's API). */
const DOC_HTTP = "127.0.0.1:7480";

const texts = new Map(await Promise.all(DOCS.map(async (d) => [d, await readFile(join(ROOT, d), "utf8")] as const)));
let docs: DocsEnv;

beforeAll(async () => {
  docs = await DocsEnv.create();
}, 180_000);
afterAll(() => docs?.dispose());

describe("the READMEs", () => {
  it("says each thing once: no heading and no example appears twice in one README", () => {
    for (const [doc, text] of texts) {
      const headings = text.split("\n").filter((l) => /^#{2,4} /.test(l));
      expect(headings.filter((h, i) => headings.indexOf(h) !== i), doc).toEqual([]);
      const blocks = codeBlocks(text).map((b) => b.code);
      expect(blocks.filter((b, i) => blocks.indexOf(b) !== i), doc).toEqual([]);
    }
  });
});

describe("the README says how to get ctm and ctmd on PATH", () => {
  it("with one install command, which the tests use", async () => {
    expect(await installLine()).toBe("npm install -g --ignore-scripts .");
  });

  it("and keeps the quick start to two commands", () => {
    const quick = codeBlocks(texts.get("README.md")!)[0]!;
    const commands = quick.code.split("\n").filter((l) => /^\S/.test(l));
    expect(commands.map((c) => c.replace(/\s+#.*$/, ""))).toEqual(["npm ci && npm start", "npm test"]);
  });

  it("marks few blocks as not runnable", () => {
    const all = DOCS.flatMap((d) => codeBlocks(texts.get(d)!));
    const skipped = all.filter((b) => b.flags.includes(NO_RUN));
    expect(skipped.length).toBeLessThanOrEqual(Math.ceil(all.length / 4));
  });
});

for (const doc of DOCS) {
  describe(`${doc}: every example runs, in order, on a fresh store`, () => {
    const blocks = codeBlocks(texts.get(doc)!).filter(isRunnable);
    let ctx: BlockContext;
    let daemon: Awaited<ReturnType<DocsEnv["startDaemon"]>>;
    let address = "";

    beforeAll(async () => {
      const work = await docs.workDir(doc.replace(/\W+/g, "-"));
      daemon = await docs.startDaemon(join(work, "ctm-data"));
      address = daemon.address;
      ctx = { work, env: { ...docs.env, CTM_ADDRESS: address }, timeoutMs: 170_000 };
    }, 120_000);
    afterAll(async () => {
      expect(await daemon?.stop()).toBe(0);
    });

    it("has examples", () => expect(blocks.length).toBeGreaterThan(0));

    for (const block of blocks) {
      it(`line ${block.line} (${block.lang}) exits 0`, async () => {
        const r = await runBlock({ ...block, code: block.code.replaceAll(DOC_ADDRESS, address).replaceAll(DOC_HTTP, daemon.http) }, ctx);
        expect(r.code, r.output).toBe(0);
      }, 180_000);
    }
  });
}
