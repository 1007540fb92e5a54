/** The value of an unlabelled metric `name` that ctmd exports at `address` (host:port of --metrics); NaN when it has none. */
export async function metric(address: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}
