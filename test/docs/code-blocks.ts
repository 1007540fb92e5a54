/** A fenced code block of a Markdown file: ```lang flags. */
export interface CodeBlock {
  lang: string;
  /** Words after the language, e.g. "no-run". */
  flags: string[];
  code: string;
  /** 1-based line of the opening fence, for test names. */
  line: number;
}

/** The languages the docs test runs; a fence with another (or no) language is prose, such as a file tree. */
export const RUNNABLE_LANGS = ["sh", "ts", "python", "go"] as const;

/** Marks a block that must not run: installing system packages, starting the daemon, building images. */
export const NO_RUN = "no-run";

/** Every fenced block in order. Fences do not nest in these READMEs. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ lang: open[1]!, flags: open[2]!.split(/\s+/).filter(Boolean), code: `${body.join("\n")}\n`, line: start + 1 });
  }
  return blocks;
}

export const isRunnable = (b: CodeBlock): boolean => (RUNNABLE_LANGS as readonly string[]).includes(b.lang) && !b.flags.includes(NO_RUN);
