const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A one-line spinner with a message on stderr, only when stderr is a terminal. */
export class Progress {
  private text = "";
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(text: string): void {
    this.text = text;
    if (!this.enabled) return;
    this.timer ??= setInterval(() => this.draw(), 80);
    this.draw();
  }

  /** Clears the line and stops the spinner. */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled) this.stream.write("\r\x1b[2K");
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.stream.write(`\r\x1b[2K${FRAMES[this.frame]} ${this.text}`);
  }
}
