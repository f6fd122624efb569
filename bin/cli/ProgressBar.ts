/** A one-line progress bar on stderr (redrawn in place on a TTY, a line per 10% otherwise). */
export class ProgressBar {
  readonly #label: string;
  readonly #started = performance.now();
  #lastDecile = -1;

  constructor(label: string) {
    this.#label = label;
  }

  update(done: number, total: number): void {
    const frac = total === 0 ? 1 : done / total;
    const secs = (performance.now() - this.#started) / 1000;
    const width = 30;
    const filled = Math.round(frac * width);
    const line = `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${secs.toFixed(1)}s`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}`);
    } else if (Math.floor(frac * 10) !== this.#lastDecile) {
      this.#lastDecile = Math.floor(frac * 10);
      process.stderr.write(`${line}\n`);
    }
  }

  finish(): void {
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}
