/**
 * Graph's published throttling limits for the resources blindwindow reads, as sliding windows over real elapsed
 * time (not the simulator's data clock):
 * - reports API (auditLogs/signIns, auditLogs/directoryAudits): 5 requests per 10 s per app per tenant and 122 per
 *   10 s per app across tenants, 429 with Retry-After
 *   (https://learn.microsoft.com/graph/throttling-limits#identity-and-access-reports-service-limits);
 * - Identity Protection (riskDetections …): 1 request per second per tenant, 429 **without** Retry-After
 *   (https://learn.microsoft.com/graph/throttling-limits#identity-protection-and-conditional-access-service-limits);
 * - service communications (admin/serviceAnnouncement): 240 per 60 s and 800 per hour per app per tenant.
 *
 * `timeScale` shortens every window by that factor so demos and benchmarks run fast. Retry-After stays what Graph
 * sends, whole seconds ≥ 1: ceil(wait in the scaled window / 1 s). With a large timeScale the exact wait is below
 * 1 s, so the simulator also sends `x-ms-retry-after-ms` (Azure's header) with the scaled wait in milliseconds.
 */

export type ThrottledFamily = "reports" | "identityProtection" | "serviceCommunications";

export type ThrottleDecision =
  | { admitted: true }
  | { admitted: false; waitMs: number; retryAfterSeconds: number | null; limit: string };

interface Rule {
  name: string;
  limit: number;
  windowMs: number;
  scope: "tenant" | "global";
  sendRetryAfter: boolean;
}

const RULES: Readonly<Record<ThrottledFamily, readonly Rule[]>> = {
  reports: [
    { name: "reports: 5 requests per 10 s per tenant", limit: 5, windowMs: 10_000, scope: "tenant", sendRetryAfter: true },
    { name: "reports: 122 requests per 10 s across tenants", limit: 122, windowMs: 10_000, scope: "global", sendRetryAfter: true },
  ],
  identityProtection: [
    { name: "identity protection: 1 request per second per tenant", limit: 1, windowMs: 1_000, scope: "tenant", sendRetryAfter: false },
  ],
  serviceCommunications: [
    { name: "service communications: 240 requests per minute per tenant", limit: 240, windowMs: 60_000, scope: "tenant", sendRetryAfter: true },
    { name: "service communications: 800 requests per hour per tenant", limit: 800, windowMs: 3_600_000, scope: "tenant", sendRetryAfter: true },
  ],
};

/** Admission times in one window, oldest first. */
class SlidingWindow {
  private readonly hits = new Map<string, number[]>();
  constructor(readonly limit: number, readonly windowMs: number) {}

  /** Milliseconds until one more request fits (0 = now). */
  waitMs(key: string, now: number): number {
    const list = this.hits.get(key);
    if (!list) return 0;
    while (list.length > 0 && (list[0] ?? 0) <= now - this.windowMs) list.shift();
    if (list.length < this.limit) return 0;
    return (list[list.length - this.limit] ?? now) + this.windowMs - now;
  }

  record(key: string, now: number): void {
    const list = this.hits.get(key);
    if (list) list.push(now);
    else this.hits.set(key, [now]);
  }
}

export interface GraphThrottleOptions {
  /** Windows are `1 / timeScale` of Graph's. Default 1. */
  timeScale?: number;
  /** Monotonic milliseconds; `performance.now` by default (tests may pass a fake). */
  clock?: () => number;
}

/** Admits or rejects requests per Graph's limits; rejected requests do not count against the window. */
export class GraphThrottle {
  private readonly windows = new Map<Rule, SlidingWindow>();
  private readonly clock: () => number;
  readonly timeScale: number;

  constructor(options: GraphThrottleOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new RangeError("timeScale must be positive");
    this.clock = options.clock ?? (() => performance.now());
    for (const rules of Object.values(RULES)) {
      for (const rule of rules) this.windows.set(rule, new SlidingWindow(rule.limit, rule.windowMs / this.timeScale));
    }
  }

  admit(family: ThrottledFamily, tenantId: string): ThrottleDecision {
    const now = this.clock();
    const rules = RULES[family];
    for (const rule of rules) {
      const window = this.windows.get(rule);
      if (!window) continue;
      const waitMs = window.waitMs(rule.scope === "tenant" ? tenantId : "*", now);
      if (waitMs > 0) {
        return {
          admitted: false,
          waitMs,
          retryAfterSeconds: rule.sendRetryAfter ? Math.max(1, Math.ceil(waitMs / 1000)) : null,
          limit: rule.name,
        };
      }
    }
    for (const rule of rules) this.windows.get(rule)?.record(rule.scope === "tenant" ? tenantId : "*", now);
    return { admitted: true };
  }
}
