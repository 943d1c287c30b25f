import type { HttpResponseInit } from "@azure/functions";
import { AppError } from "../errors.js";
import type { Logger } from "../app/ports.js";

/** RFC 9457 problem details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: string[];
}

/** Problem types are URNs named after the error code; the README lists them under "Errors". */
const TYPE_BASE = "urn:blindwindow:problem";

export function problemResponse(status: number, code: string, title: string, options: { detail?: string; errors?: string[]; headers?: Record<string, string> } = {}): HttpResponseInit {
  const body: Problem = {
    type: `${TYPE_BASE}:${code}`,
    title,
    status,
    ...(options.detail ? { detail: options.detail } : {}),
    ...(options.errors && options.errors.length > 0 ? { errors: options.errors } : {}),
  };
  return {
    status,
    headers: { "content-type": "application/problem+json", ...options.headers },
    body: JSON.stringify(body),
  };
}

/**
 * The one place errors become HTTP answers. AppErrors answer with their own status; anything else is unexpected:
 * on intake routes (`failClosedStatus` 503) the sender is told to retry, because a 500 is never retried by action
 * groups and the notice would be lost. Internals are logged, never returned.
 */
export function errorResponse(error: unknown, logger: Logger, options: { failClosedStatus?: 500 | 503; retryAfterSeconds: number }): HttpResponseInit {
  if (error instanceof AppError && error.status < 500) {
    return problemResponse(error.status, error.code, error.message, { errors: error.problems });
  }
  const status = error instanceof AppError ? error.status : (options.failClosedStatus ?? 500);
  logger.error("request failed", { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), status });
  if (status === 503) {
    return problemResponse(503, "unavailable", "Service temporarily unavailable; retry later", {
      detail: "Nothing was lost: the request was not acknowledged, so send it again.",
      headers: { "retry-after": String(options.retryAfterSeconds) },
    });
  }
  return problemResponse(status, "internal", "Internal error");
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}
