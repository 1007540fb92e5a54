/**
 * Where a worker thread's entry file is, beside the module that starts it: the built .js, or,
 * when that module runs from its .ts source (tests, tsx), the .ts with tsx's loader registered
 * inside the worker (`--import tsx` registers it on the main thread only on this Node line).
 */
export function workerScript(name: string, besideUrl: string): { url: URL; execArgv: string[] } {
  if (!besideUrl.endsWith(".ts")) return { url: new URL(`./${name}.js`, besideUrl), execArgv: [] };
  const register = `import{register}from${JSON.stringify(import.meta.resolve("tsx/esm/api"))};register()`;
  return { url: new URL(`./${name}.ts`, besideUrl), execArgv: ["--import", `data:text/javascript,${register}`] };
}
