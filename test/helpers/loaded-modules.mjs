// Loaded with `node --import`: records every module the process loads, one path a line, in the
// file named by LOADED_MODULES_FILE: ES modules (and packages imported from them) as the module
// hooks see them load, and CommonJS modules required inside packages as require.cache holds them
// at exit.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { isMainThread } from "node:worker_threads";
import { fileURLToPath } from "node:url";

const file = process.env.LOADED_MODULES_FILE;

if (isMainThread) {
  register(import.meta.url);
  const require = createRequire(import.meta.url);
  process.on("exit", () => appendFileSync(file, Object.keys(require.cache).join("\n") + "\n"));
}

/** The module hooks' load step (run on the hooks' thread). */
export async function load(url, context, nextLoad) {
  if (url.startsWith("file:")) appendFileSync(file, fileURLToPath(url) + "\n");
  return nextLoad(url, context);
}
