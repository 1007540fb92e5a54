/** A GitHub-flavoured markdown table; the first row is the header. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  if (!header) return "";
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  const rule = `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}
