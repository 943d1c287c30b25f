import { AppError } from "../../errors.js";

/**
 * Why a Graph call failed, as a value the poller can record per tenant:
 * - `graph-unauthorized` (401): no valid token: consent missing or revoked, wrong credential;
 * - `graph-forbidden` (403): the app lacks the permission in that tenant, or the tenant is unknown;
 * - `graph-licence-required` (403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`): Graph serves sign-in logs
 *   only to tenants with Microsoft Entra ID P1 or P2;
 * - `graph-throttled` (429 after every allowed retry, or a Retry-After longer than we wait inside one call);
 * - `graph-unavailable`: 5xx, network failure, timeout, or a body that was not JSON, after every allowed retry;
 * - `graph-bad-request`: another 4xx (a bug on our side: a filter Graph refuses);
 * - `graph-invalid-response`: JSON that does not have the shape Graph documents (a `value` array).
 */
export type GraphErrorCode =
  | "graph-unauthorized"
  | "graph-forbidden"
  | "graph-licence-required"
  | "graph-throttled"
  | "graph-unavailable"
  | "graph-bad-request"
  | "graph-invalid-response";

const RETRYABLE: ReadonlySet<GraphErrorCode> = new Set(["graph-throttled", "graph-unavailable"]);

/** A failed Graph request. `graphStatus` is what Graph answered (0: no answer). Never carries tokens or secrets. */
export class GraphRequestError extends AppError {
  override readonly name = "GraphRequestError";
  constructor(
    override readonly code: GraphErrorCode,
    readonly graphStatus: number,
    message: string,
    readonly details: { tenantId: string; graphErrorCode?: string; attempts?: number; cause?: unknown },
  ) {
    // 502: to a caller of ours, Graph is an upstream that failed.
    super(code, 502, message, { retryable: RETRYABLE.has(code), ...(details.cause === undefined ? {} : { cause: details.cause }) });
  }
}

/** Graph's error code for a tenant without the premium licence its sign-in logs API requires (documented 403). */
export const NON_PREMIUM_TENANT = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";

/** The error code for an HTTP status Graph answered with (after retries), and Graph's own error code when it gave one. */
export function graphErrorCodeForStatus(status: number, graphCode?: string): GraphErrorCode {
  if (status === 401) return "graph-unauthorized";
  if (status === 403) return graphCode === NON_PREMIUM_TENANT ? "graph-licence-required" : "graph-forbidden";
  if (status === 429) return "graph-throttled";
  if (status === 0 || status >= 500 || status === 408) return "graph-unavailable";
  return "graph-bad-request";
}
