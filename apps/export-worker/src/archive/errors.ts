/** The archive engine's errors (shared by the writer and its pooled output). */

/** The archive cannot be produced as declared; `out` has been destroyed with this error. */
export class ArchiveError extends Error {
  override readonly name: string = 'ArchiveError';
  readonly entryName: string | undefined;

  constructor(message: string, entryName?: string, options?: ErrorOptions) {
    super(message, options);
    this.entryName = entryName;
  }
}

/** A source delivered fewer or more bytes than its declared size. */
export class EntrySizeMismatchError extends ArchiveError {
  override readonly name = 'EntrySizeMismatchError';
  readonly expectedSize: number;
  /** Bytes received; when the source delivered too many, the count at the moment the excess was noticed. */
  readonly actualSize: number;

  constructor(entryName: string, expectedSize: number, actualSize: number) {
    const what = actualSize > expectedSize ? `more than ${expectedSize}` : `${actualSize} of ${expectedSize}`;
    super(`entry "${entryName}": the source delivered ${what} declared bytes`, entryName);
    this.expectedSize = expectedSize;
    this.actualSize = actualSize;
  }
}
