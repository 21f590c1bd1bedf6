/** Keeps the last lines a process wrote, so a failure message can quote them. */
export class LineLog {
  readonly #lines: string[] = [];
  readonly #maxLines: number;
  // A chunk rarely ends on a newline; the unfinished line waits here for the rest.
  #partial = '';

  constructor(maxLines = 2000) {
    this.#maxLines = maxLines;
  }

  /** Appends a chunk of output, splitting it into lines. */
  append(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }

  /** Appends one complete line, e.g. a note from the harness itself. */
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.splice(0, this.#lines.length - this.#maxLines);
  }

  /** The last `count` lines (all kept lines by default), newline-separated. */
  tail(count = this.#maxLines): string {
    const lines = this.#partial ? [...this.#lines, this.#partial] : this.#lines;
    return lines.slice(-count).join('\n');
  }
}
