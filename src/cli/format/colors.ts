import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colors only for a terminal: never when the stream is not a TTY or NO_COLOR is set
 * (or --no-color); FORCE_COLOR turns them on anyway (for tests and `less -R`).
 */
export function colorsFor(stream: NodeJS.WriteStream, flag: boolean, env = process.env): Colors {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0";
  const enabled = flag && !env.NO_COLOR && (forced || (stream.isTTY === true && env.TERM !== "dumb"));
  return pc.createColors(enabled);
}
