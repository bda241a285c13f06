/**
 * The catalog of errors a client may see. Domain code throws AppError with a code;
 * the one Fastify error handler (http/errors.ts) turns it into a status and JSON body.
 */
export const errorCatalog = {
  VALIDATION: { status: 400, message: "The request is not valid." },
  INVALID_TOKEN: { status: 403, message: "This link is not valid. It may be incomplete, expired or replaced by a newer one." },
  TOKEN_EXPIRED: { status: 403, message: "This link has expired." },
  UNAUTHORIZED: { status: 401, message: "Authentication is required." },
  FORBIDDEN: { status: 403, message: "This request was refused." },
  NOT_FOUND: { status: 404, message: "Not found." },
  CONFLICT: { status: 409, message: "The request conflicts with the current state." },
  GONE: { status: 410, message: "This subscription no longer exists." },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large." },
  RANGE_NOT_SATISFIABLE: { status: 416, message: "The requested range is past the end of the file." },
  RATE_LIMITED: { status: 429, message: "Too many requests. Please wait a little and try again." },
  ADMIN_DISABLED: { status: 404, message: "Admin is off: set ADMIN_TOKEN to turn it on." },
  WEBHOOK_DISABLED: { status: 404, message: "The email-events webhook is off: set WEBHOOK_TOKEN to turn it on." },
  UPSTREAM: { status: 502, message: "An upstream service failed." },
  UNAVAILABLE: { status: 503, message: "The service is not ready." },
  DATABASE_UNAVAILABLE: { status: 503, message: "paperboy's database is briefly unavailable. Please try again in a few seconds." },
  INTERNAL: { status: 500, message: "Something went wrong on our side." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string = errorCatalog[code].message,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
    this.status = errorCatalog[code].status;
  }
}

export const validationError = (field: string, message: string) => new AppError("VALIDATION", message, field);
