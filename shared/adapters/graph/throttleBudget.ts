/**
 * Client-side throttle budget for Microsoft Graph, from Graph's published limits
 * (https://learn.microsoft.com/graph/throttling-limits):
 * - reports (auditLogs/signIns, auditLogs/directoryAudits): 5 requests per 10 s per app per tenant, and 122 per 10 s
 *   per app across tenants;
 * - Identity Protection (identityProtection/*): 1 request per second per tenant, answered 429 **without** Retry-After,
 *   so a client that does not budget can only guess;
 * - service communications (admin/serviceAnnouncement/*): 240 per minute and 800 per hour per app per tenant.
 *
 * Graph states each limit as "N requests per window W", counted over a sliding window. A classic token bucket
 * (capacity C, steady refill) lets C + refill·W requests into one window, so it either overshoots such a limit or, to
 * be safe, must give up the burst or the rate. Here each bucket holds N tokens and **a token comes back W after the
 * request that spent it reached Graph**: the bucket admits at most N requests in any window of W, allows the full
 * burst of N, and sustains N per W.
 *
 * When a request reached Graph is not observable: somewhere between our send and the first byte of its answer. A page
 * of sign-ins takes seconds to produce, so counting from the answer would waste that time on every token (a 2 s page
 * against a 10 s window: at most 83 % of the limit). Each token therefore counts from the earlier of the answer and
 * `arrivalMs` (200 ms by default, scaled) after sending: a request is taken to reach Graph within 200 ms (on a kept-alive
 * TLS connection it takes tens of milliseconds). A margin of 2 % of the window (`margin`) covers clock granularity on
 * Graph's side and jitter between requests' trips. Should a request take longer than that to arrive and Graph answer
 * 429, the client honours Retry-After and pauses the family (`pause`), so the worst case is one wait, not a storm; a
 * refused request is taken as not counted in Graph's window (the simulator models it so), so its tokens are refunded
 * (`refund`) and the pause alone holds the next request back. With the margin, a 10 s window sustains 96 % of the
 * limit whatever the page latency. Memory is at most N entries per bucket.
 *
 * App-wide buckets count what this process spends. Tenant leases (tenantLease.ts) keep two instances from spending
 * one tenant's budget; the app-wide reports limit is shared by every instance and is therefore also guarded by
 * honouring Retry-After (graphClientFactory.ts).
 */

export type GraphApiFamily = "reports" | "identityProtection" | "serviceCommunications";

export const GRAPH_API_FAMILIES: readonly GraphApiFamily[] = ["reports", "identityProtection", "serviceCommunications"];

export interface GraphLimit {
  name: string;
  limit: number;
  windowMs: number;
  scope: "tenant" | "app";
}

/** Graph's published limits per API family (windows at timeScale 1). */
export const GRAPH_LIMITS: Readonly<Record<GraphApiFamily, readonly GraphLimit[]>> = {
  reports: [
    { name: "reports: 5 requests per 10 s per tenant", limit: 5, windowMs: 10_000, scope: "tenant" },
    { name: "reports: 122 requests per 10 s across tenants", limit: 122, windowMs: 10_000, scope: "app" },
  ],
  identityProtection: [{ name: "identity protection: 1 request per second per tenant", limit: 1, windowMs: 1_000, scope: "tenant" }],
  serviceCommunications: [
    { name: "service communications: 240 requests per minute per tenant", limit: 240, windowMs: 60_000, scope: "tenant" },
    { name: "service communications: 800 requests per hour per tenant", limit: 800, windowMs: 3_600_000, scope: "tenant" },
  ],
};

/** Which throttling family a Graph URL belongs to (undefined: no published per-tenant limit we budget). */
export function graphApiFamily(url: string): GraphApiFamily | undefined {
  let path: string;
  try {
    path = new URL(url, "https://graph.microsoft.com").pathname.toLowerCase();
  } catch {
    return undefined;
  }
  const rest = path.replace(/^\/(v1\.0|beta)(?=\/)/, "");
  if (rest.startsWith("/auditlogs/signins") || rest.startsWith("/auditlogs/directoryaudits")) return "reports";
  if (rest.startsWith("/identityprotection/")) return "identityProtection";
  if (rest.startsWith("/admin/serviceannouncement/")) return "serviceCommunications";
  return undefined;
}

export interface ThrottleBudgetOptions {
  /** Windows are divided by this, mirroring the simulator's `timeScale` (demo and benchmarks). Default 1. */
  timeScale?: number;
  /** Safety margin added to every window, as a fraction of it. Default 0.02 (2 %). */
  margin?: number;
  /** Fixed safety margin added to every window (ms, not scaled). Default 0. */
  marginMs?: number;
  /** At most this long (ms at timeScale 1) after sending, a request has reached Graph. Default 200; scaled, ≥ 20 ms. */
  arrivalMs?: number;
  /** Monotonic milliseconds. Default `performance.now`. */
  now?: () => number;
  /** Waits `ms`. Default `setTimeout`. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A spent token: `at` is when its request reached Graph at the latest (sent + arrival, or its answer if sooner). */
interface Spent {
  at: number;
}

/** N tokens; a token returns one window after the request that spent it reached Graph. */
class TokenBucket {
  private spent: Spent[] = [];
  constructor(readonly limit: number, readonly windowMs: number) {}

  /** Milliseconds until a token is available (0: now). */
  waitMs(now: number): number {
    this.spent = this.spent.filter((s) => s.at + this.windowMs > now);
    if (this.spent.length < this.limit) return 0;
    return Math.min(...this.spent.map((s) => s.at)) + this.windowMs - now;
  }

  take(arrivedBy: number): Spent {
    const spent: Spent = { at: arrivedBy };
    this.spent.push(spent);
    return spent;
  }

  /** Tokens spent within the last window or in flight, as of `now`. */
  inUse(now: number): number {
    this.waitMs(now);
    return this.spent.length;
  }
}

/** A granted request: call `settle()` when its answer (or failure) arrived; its tokens count from then if that is sooner. */
export interface BudgetPermit {
  /** Milliseconds `acquire` waited. */
  readonly waitedMs: number;
  settle(): void;
  /**
   * Graph refused the request (429): it did not count it, so its tokens return at once; when to send again is the
   * pause's business (`pause`, from Retry-After).
   */
  refund(): void;
}

/** setTimeout, cleared when `signal` aborts (so an early wake leaves no timer holding the process). */
function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** Token buckets per (tenant, family) and per (app, family); `acquire` awaits a slot in every bucket that applies. */
export class ThrottleBudget {
  readonly timeScale: number;
  private readonly margin: number;
  private readonly marginMs: number;
  private readonly arrivalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Waiters asleep until a token returns: woken early when a permit settles (a quick answer returns its token sooner). */
  private readonly sleepers = new Set<() => void>();
  private readonly buckets = new Map<string, TokenBucket>();
  /** Earliest time a (tenant, family) may send again after Graph said 429 (Retry-After or back-off). */
  private readonly pausedUntil = new Map<string, number>();
  private waits = 0;
  private waitedMs = 0;

  constructor(options: ThrottleBudgetOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new RangeError("timeScale must be positive");
    this.margin = options.margin ?? 0.02;
    this.marginMs = options.marginMs ?? 0;
    // Scaled like the windows, but never below 20 ms: a busy event loop delays a send by that much at any scale.
    const arrivalMs = options.arrivalMs ?? 200;
    this.arrivalMs = Math.max(arrivalMs / this.timeScale, Math.min(arrivalMs, 20));
    if (!(this.margin >= 0) || !(this.marginMs >= 0) || !(this.arrivalMs >= 0)) throw new RangeError("margins must not be negative");
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** The window of a limit at this budget's time scale, with the margin. */
  windowMs(limit: GraphLimit): number {
    return (limit.windowMs / this.timeScale) * (1 + this.margin) + this.marginMs;
  }

  /**
   * Waits until every bucket for (tenant, family) has a token, then spends one from each. The caller should `settle()`
   * the permit when the answer arrives (or the request failed): a quick answer brings its tokens back sooner than
   * the arrival allowance would.
   */
  async acquire(tenantId: string, family: GraphApiFamily): Promise<BudgetPermit> {
    const started = this.now();
    for (;;) {
      const now = this.now();
      const wait = this.waitMs(tenantId, family, now);
      if (wait <= 0) {
        const spent = this.bucketsFor(tenantId, family).map((bucket) => bucket.take(now + this.arrivalMs));
        const waitedMs = now - started;
        if (waitedMs > 0) {
          this.waits++;
          this.waitedMs += waitedMs;
        }
        let settled = false;
        const release = (at: number) => {
          for (const s of spent) s.at = Math.min(s.at, at);
          for (const wake of [...this.sleepers]) wake();
        };
        return {
          waitedMs,
          settle: () => {
            if (settled) return;
            settled = true;
            release(this.now());
          },
          refund: () => {
            settled = true;
            release(Number.NEGATIVE_INFINITY);
          },
        };
      }
      await this.sleepUnlessSettled(wait);
    }
  }

  /** Milliseconds until `acquire(tenantId, family)` would succeed (0: now), without spending. */
  waitMs(tenantId: string, family: GraphApiFamily, now = this.now()): number {
    let wait = (this.pausedUntil.get(pauseKey(tenantId, family)) ?? 0) - now;
    for (const bucket of this.bucketsFor(tenantId, family)) wait = Math.max(wait, bucket.waitMs(now));
    return Math.max(0, wait);
  }

  /** Graph answered 429 for (tenant, family): nobody in this process sends for it again for `ms`. */
  pause(tenantId: string, family: GraphApiFamily, ms: number): void {
    const key = pauseKey(tenantId, family);
    const until = this.now() + ms;
    if (until > (this.pausedUntil.get(key) ?? 0)) this.pausedUntil.set(key, until);
  }

  /** Requests spent in the current window of each limit of (tenant, family), by limit name (for tests and logs). */
  usage(tenantId: string, family: GraphApiFamily): Record<string, number> {
    const now = this.now();
    const out: Record<string, number> = {};
    GRAPH_LIMITS[family].forEach((limit, i) => {
      out[limit.name] = this.bucket(limit, i, family, tenantId).inUse(now);
    });
    return out;
  }

  /** How often acquire had to wait, and for how long in total. */
  stats(): { waits: number; waitedMs: number } {
    return { waits: this.waits, waitedMs: this.waitedMs };
  }

  /** Sleeps `ms`, or less when a permit settles first (its timer is then cancelled). */
  private sleepUnlessSettled(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const abort = new AbortController();
      const wake = () => {
        this.sleepers.delete(wake);
        abort.abort();
        resolve();
      };
      this.sleepers.add(wake);
      void this.sleep(ms, abort.signal).then(wake, wake);
    });
  }

  private bucketsFor(tenantId: string, family: GraphApiFamily): TokenBucket[] {
    return GRAPH_LIMITS[family].map((limit, i) => this.bucket(limit, i, family, tenantId));
  }

  private bucket(limit: GraphLimit, index: number, family: GraphApiFamily, tenantId: string): TokenBucket {
    const key = `${family}|${String(index)}|${limit.scope === "tenant" ? tenantId.toLowerCase() : "*"}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(limit.limit, this.windowMs(limit));
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}

function pauseKey(tenantId: string, family: GraphApiFamily): string {
  return `${family}|${tenantId.toLowerCase()}`;
}
