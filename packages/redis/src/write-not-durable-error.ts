/** Thrown when Redis cannot confirm, or cannot be trusted, to have a write on disk; a retry may succeed. */
export class WriteNotDurableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WriteNotDurableError';
  }
}
