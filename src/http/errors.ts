import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { databaseUnavailable, isDatabaseUnavailable } from "../db/errors.js";
import { AppError, errorCatalog, type ErrorCode } from "../errors.js";
import { messagePage } from "./pages/layout.js";
import { errorBody } from "./schemas.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Errors on this route render as a friendly HTML page instead of JSON. */
    page?: boolean;
    /** The path itself is a credential (a feed token in the file name): logs name the route pattern instead. */
    secretPath?: boolean;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

function fieldOf(path: readonly PropertyKey[] | undefined, part: string | undefined): string | undefined {
  const p = (path ?? []).map(String).join(".");
  if (p) return p;
  return part && part !== "body" ? part : undefined;
}

const unavailable = (cause: unknown) => new AppError("DATABASE_UNAVAILABLE", undefined, undefined, { cause });

/** Seconds a client should wait before retrying a 503: a Postgres restart or failover takes a few. */
export const RETRY_AFTER_UNAVAILABLE_S = 5;

/**
 * zod's wording for a wrong type is for developers ("Invalid input: expected string,
 * received array"); pages show it to people. The two a person can cause (a field given
 * twice in a URL or form, a number that is not one) get plain words; the rest stays.
 */
function readable(message: string): string {
  if (/^Invalid input: expected \w+, received array$/.test(message)) return "give one value, not several.";
  if (/^Invalid input: expected number, received (NaN|string)$/.test(message)) return "must be a number.";
  return message;
}

/** Turns any thrown error into the one client-visible shape; 5xx details are only logged. */
function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err.code === "INTERNAL" && isDatabaseUnavailable(err.cause) ? unavailable(err.cause) : err;
  // A restart, failover or network cut: temporary, and not this request's fault.
  if (isDatabaseUnavailable(err)) return unavailable(err);
  const fe = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const first = fe.validation[0];
    // The provider puts the path in instancePath (`/topics/3`) and its other fields in params.
    const path = (first?.instancePath ?? "").split("/").filter((p) => p.length > 0);
    // Unknown keys: zod reports them on the parent with the offending keys listed.
    const keys = Array.isArray(first?.params.keys) ? (first.params.keys as string[]) : [];
    const field = keys.length > 0 ? [...path.map(String), keys[0]].join(".") : fieldOf(path, fe.validationContext);
    const message = keys.length > 0 ? `Unknown field "${keys.join('", "')}".` : readable(first?.message ?? "Invalid input.");
    return new AppError("VALIDATION", field ? `${field}: ${message}` : message, field);
  }
  if (fe.validation) {
    const first = fe.validation[0];
    const field = first?.instancePath?.replace(/^\//, "").replace(/\//g, ".") || undefined;
    return new AppError("VALIDATION", fe.message, field);
  }
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("PAYLOAD_TOO_LARGE", undefined, "body");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("VALIDATION", fe.message, "body");
  }
  if (fe.statusCode === 429) return new AppError("RATE_LIMITED");
  // @fastify/static's refusals: a path it will not serve (a NUL byte, a segment leaving its
  // root) names no file, and a Range past a file's end is a 416, not a bad request body.
  if (fe.statusCode === 403) return new AppError("NOT_FOUND");
  if (fe.statusCode === 416) return new AppError("RANGE_NOT_SATISFIABLE");
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    // e.g. malformed JSON (400 from the body parser) or 404 from a plugin.
    const code: ErrorCode = fe.statusCode === 404 ? "NOT_FOUND" : "VALIDATION";
    return new AppError(code, fe.message, code === "VALIDATION" ? "body" : undefined);
  }
  return new AppError("INTERNAL", undefined, undefined, { cause: err });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError) {
  if (err.code === "DATABASE_UNAVAILABLE") {
    // One line per request, no stack: an outage would otherwise bury the log in traces.
    // The innermost cause: a wrapping query error would carry the query's parameters (addresses) into the log.
    const cause = databaseUnavailable(err.cause);
    request.log.warn({ code: err.code, cause: { message: cause?.message, code: cause?.code } }, "request failed: database unavailable");
  } else if (err.status >= 500) request.log.error({ err: err.cause ?? err }, "request failed");
  // The request's own line (app.ts) already says 4xx at info; the reason is for debugging.
  else request.log.debug({ code: err.code, field: err.field }, "request refused");
  if (err.status === 429 && !reply.getHeader("retry-after")) reply.header("retry-after", "60");
  if (err.status === 503 && !reply.getHeader("retry-after")) reply.header("retry-after", String(RETRY_AFTER_UNAVAILABLE_S));
  const message = err.status >= 500 ? errorCatalog[err.code].message : err.message;
  if (request.routeOptions.config?.page) {
    const title =
      err.status === 403 ? "This link doesn't work" : err.status === 429 ? "Slow down" : err.status === 503 ? "Back in a moment" : err.status >= 500 ? "Something went wrong" : "That didn't work";
    return reply.code(err.status).html(messagePage(title, message));
  }
  const body: ErrorBody = { error: { code: err.code, message, ...(err.field ? { field: err.field } : {}) } };
  return reply.code(err.status).type("application/json; charset=utf-8").send(body);
}

/** No route answers this address: a page for a browser, the JSON error for everyone else. */
function notFound(request: FastifyRequest, reply: FastifyReply, path: string) {
  const wantsHtml = request.method === "GET" && (request.headers.accept ?? "").includes("text/html");
  if (wantsHtml) {
    // Not reply.html(): frameworkErrors get a reply without the app's decorators.
    return reply.code(404).type("text/html; charset=utf-8").send(messagePage("Not found", "There is no page at this address."));
  }
  return sendError(request, reply, new AppError("NOT_FOUND", `No route ${request.method} ${path}`));
}

/**
 * Fastify's `frameworkErrors`: a path it cannot decode (`/papers/%E0%A4%A`) or whose
 * parameter passes maxParamLength (a 5,000-character "day") never reaches a route, and
 * Fastify's own answer is its raw JSON with the path echoed. Such an address names no
 * page: it gets the not-found answer, without echoing the path (a feed's is its token).
 */
export function unroutable(_err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ method: request.method, statusCode: 404 }, "request to an undecodable or overlong path");
  void notFound(request, reply, "(this address)");
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    // A 416 says how long the file is (RFC 9110 §15.5.17); @fastify/static puts that on the error.
    const range = (err as { headers?: Record<string, string> }).headers?.["Content-Range"];
    if (err.statusCode === 416 && range) reply.header("content-range", range);
    return sendError(request, reply, toAppError(err));
  });
  app.setNotFoundHandler((request, reply) => notFound(request, reply, request.url.split("?")[0] ?? ""));
  // Any route can answer 503 while Postgres is away (toAppError): that answer belongs to
  // every JSON route's contract, and so to /docs. Must run before routes are added.
  app.addHook("onRoute", (route) => {
    const response = route.schema?.response as Record<string, unknown> | undefined;
    if (response && !("503" in response)) response["503"] = errorBody;
  });
}
