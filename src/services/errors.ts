/** Typed errors with an HTTP status; the web layer's error handler renders them. */
export class AppError extends Error {
  readonly status: number = 500;
}

export class NotFoundError extends AppError {
  override readonly status = 404;
}

export class ForbiddenError extends AppError {
  override readonly status = 403;
  constructor(message = 'You do not have permission to do that.') {
    super(message);
  }
}

/** Input that breaks a rule. fieldErrors are shown beside the form fields they belong to. */
export class ValidationError extends AppError {
  override readonly status = 422;
  constructor(
    message: string,
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The change was based on a version of the record that is no longer current. */
export class ConflictError extends AppError {
  override readonly status = 409;
  constructor(
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

/**
 * The change named a version that is not the current one, and asked for exactly that version
 * (the API's If-Match): nothing was changed; `current` is the record as it is now.
 */
export class PreconditionFailedError extends AppError {
  override readonly status = 412;
  constructor(
    message: string,
    readonly current: unknown,
  ) {
    super(message);
  }
}
