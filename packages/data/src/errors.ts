/**
 * An unreadable or malformed data file. The message names the file, what was found, what was
 * expected and how to fix it; `file` holds the path for programs that want it.
 */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}
