/**
 * Errors that reach a client. `status` doubles as PaddleX's `errorCode`
 * (the HTTP status always equals it).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The client sent something we cannot use (PaddleX: 422). */
export function invalidInput(message: string): ApiError {
  return new ApiError(422, message);
}

/** A startup problem the operator must fix (bad YAML, missing model, unusable device). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Plain-data form of an error, for crossing a worker-thread boundary. */
export interface SerializedError {
  status: number;
  message: string;
  /** true for ApiError (meant for the client); false for bugs, whose message stays in the logs */
  expose: boolean;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ApiError) return { status: err.status, message: err.message, expose: true };
  const e = err instanceof Error ? err : new Error(String(err));
  return { status: 500, message: e.message, expose: false, stack: e.stack };
}

export function deserializeError(e: SerializedError): Error {
  if (e.expose) return new ApiError(e.status, e.message);
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}
