/**
 * Errors that carry what the edge needs to answer: a stable `code`, an HTTP `status`, whether a retry can succeed,
 * and for user errors the list of problems. User errors (4xx) describe the request; system errors (5xx) never carry
 * internals or secrets to the caller. One function (shared/http/problem.ts) turns them into problem+json.
 */
export class AppError extends Error {
  override readonly name: string = "AppError";
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly options: { retryable?: boolean; problems?: string[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
  get retryable(): boolean {
    return this.options.retryable ?? this.status >= 500;
  }
  get problems(): string[] {
    return this.options.problems ?? [];
  }
}

/** The request is malformed or invalid: fix it, do not retry as is. */
export class ValidationError extends AppError {
  override readonly name = "ValidationError";
  constructor(message: string, problems: string[], code = "invalid-request", status = 400) {
    super(code, status, message, { retryable: false, problems });
  }
}

export class AuthenticationError extends AppError {
  override readonly name = "AuthenticationError";
  constructor(message: string) {
    super("unauthenticated", 401, message, { retryable: false });
  }
}

/** Table or queue storage could not be reached or answered 5xx: the caller must retry (action groups do on 503). */
export class StorageUnavailableError extends AppError {
  override readonly name = "StorageUnavailableError";
  constructor(operation: string, cause: unknown) {
    super("storage-unavailable", 503, `Storage is unavailable (${operation})`, { retryable: true, cause });
  }
}

export class NotFoundError extends AppError {
  override readonly name = "NotFoundError";
  constructor(message: string) {
    super("not-found", 404, message, { retryable: false });
  }
}
