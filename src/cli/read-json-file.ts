import { readFile } from "node:fs/promises";
import { invalidArgument } from "./cli-error.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A JSON file ("-" reads stdin); bad JSON is INVALID_ARGUMENT naming the file. */
export async function readJsonFile(file: string): Promise<unknown> {
  const text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidArgument(file === "-" ? "stdin" : file, `not JSON: ${(e as Error).message}`);
  }
}
