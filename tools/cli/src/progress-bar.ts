/** Where progress goes: a terminal gets one redrawn line, anything else a line per change of state or tenth of progress. */
export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

const WIDTH = 30;

/**
 * Renders a state and its progress (0..100, or an object a job's handler reports) on stderr: a
 * job followed to its end, a profile recorded and downloaded.
 */
export class ProgressBar {
  #last = '';

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
  ) {}

  update(state: string, progress: unknown): void {
    const percent = typeof progress === 'number' ? Math.max(0, Math.min(100, progress)) : undefined;
    const bar =
      percent === undefined
        ? ''
        : `[${'#'.repeat(Math.round((percent / 100) * WIDTH)).padEnd(WIDTH, '.')}] ${percent.toFixed(0).padStart(3)}% `;
    const line = `${this.label} ${bar}${state}`;
    // A log gets a line per tenth of the way rather than per percent: a download moves in many small steps.
    const key = this.out.isTTY || percent === undefined ? line : `${state} ${Math.floor(percent / 10)}`;
    if (key === this.#last) return;
    this.#last = key;
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Ends the redrawn line so what follows starts on a new one. */
  done(): void {
    if (this.out.isTTY && this.#last) this.out.write('\n');
  }
}
