import { CtmError } from "../../domain/errors.js";

/** LevelDB's refusal to open, as one line that names the cause. */
export function openFailure(dir: string, e: unknown): CtmError {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  const detail = err.cause?.message ?? err.message ?? String(e);
  if (code === "LEVEL_LOCKED") return new CtmError("unavailable", `${dir} is in use by another ctmd (its LevelDB lock is held)`);
  if (code === "LEVEL_CORRUPTION") {
    return new CtmError("data_loss", `store in ${dir} is damaged: LevelDB reports "${detail}"; run \`ctmd repair --data-dir ${dir}\``);
  }
  if (/read-only|permission denied/i.test(detail)) return new CtmError("unavailable", `cannot write to ${dir}: ${detail}`);
  return new CtmError("unavailable", `LevelDB could not open ${dir}: ${detail}`);
}
