import { normaliseServiceHealthIssue } from "../domain/m365Notice.js";
import type { HeartbeatStore, TenantStore } from "./ports.js";
import { recordNotice, type RecordNoticeDeps } from "./recordNotice.js";

/**
 * The Microsoft 365 service-health poller (DESIGN.md "Flow": timer → serviceHealthPoll (Graph)). Every 5 minutes,
 * for each registered tenant: the issues modified since that tenant's watermark, plus every unresolved issue, each
 * recorded as an `m365` notice revision through recordNotice — stored and enqueued exactly like intake. The
 * watermark advances only after every issue read was stored. One tenant failing is recorded on that tenant and never
 * stops the others.
 */

export const SERVICE_HEALTH_POLL_SCHEDULE = "0 */5 * * * *";
export const SERVICE_HEALTH_POLL_EVERY_SECONDS = 300;
export const SERVICE_HEALTH_POLL_COMPONENT = "serviceHealthPoll";

/** What the poller asks Graph for one tenant. */
export type IssueQuery = { kind: "all" } | { kind: "modifiedSince"; since: string } | { kind: "unresolved" };

/** Reads a tenant's service health issues (GET /admin/serviceAnnouncement/issues), page by page, as raw JSON. */
export interface ServiceHealthSource {
  issuePages(tenantId: string, query: IssueQuery): AsyncIterable<unknown[]>;
}

/** Per-tenant poll watermark: the newest `lastModifiedDateTime` already stored (Cursors, PK `m365-watermark`). */
export interface WatermarkStore {
  getWatermark(tenantId: string): Promise<string | undefined>;
  setWatermark(tenantId: string, watermark: string): Promise<void>;
}

export interface TenantPollFailure {
  at: string;
  code: string;
  message: string;
}

/** The poller's record of a tenant, shown by `GET /api/health`. */
export interface TenantPollStatus {
  tenantId: string;
  lastSuccess?: string;
  lastError?: TenantPollFailure;
  /** Failed polls since the last success. */
  failures: number;
}

/** Per-tenant poll status (Cursors, PK `m365-status`). */
export interface PollStatusStore {
  recordSuccess(tenantId: string, at: Date): Promise<void>;
  recordFailure(tenantId: string, failure: TenantPollFailure): Promise<void>;
  listStatus(): Promise<TenantPollStatus[]>;
}

/** A lease on a tenant, so that two instances never poll (and spend the Graph budget of) one tenant at once. */
export interface TenantLeasePort<L = unknown> {
  acquire(tenantId: string, durationMs: number): Promise<L | undefined>;
  release(lease: L): Promise<void>;
}

export interface PollServiceHealthDeps extends RecordNoticeDeps {
  tenants: Pick<TenantStore, "list">;
  /** Undefined when Graph is not configured: the poller only beats its heartbeat. */
  serviceHealth: ServiceHealthSource | undefined;
  watermarks: WatermarkStore;
  pollStatus: PollStatusStore;
  leases: TenantLeasePort;
  heartbeats: HeartbeatStore;
}

export interface PollServiceHealthOptions {
  /** Tenants polled in parallel. Default 4. Each has its own Graph budget; the lease keeps instances apart. */
  concurrency?: number;
  /** Lease duration; longer than one tenant's poll, shorter than the schedule. Default 4 minutes. */
  leaseMs?: number;
  /**
   * The watermark query starts this much before the watermark, so an issue Graph indexed late is still read
   * (re-reading costs a duplicate check, never a duplicate notice). Default 10 minutes.
   */
  overlapMs?: number;
  /** Why Graph is not configured, for the log and heartbeat. */
  notConfiguredReason?: string;
}

export interface TenantPollResult {
  tenantId: string;
  outcome: "polled" | "failed" | "skipped";
  /** Issues read (after de-duplication between the two queries). */
  issues: number;
  /** Revisions stored for the first time. */
  stored: number;
  duplicates: number;
  /** Issues that are not a valid serviceHealthIssue (logged, skipped). */
  invalid: number;
  watermark?: string;
  error?: { code: string; message: string };
}

export interface PollServiceHealthResult {
  configured: boolean;
  tenants: TenantPollResult[];
}

function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = "code" in error && typeof error.code === "string" ? error.code : error.name;
    return { code, message: error.message.slice(0, 500) };
  }
  return { code: "unknown", message: String(error).slice(0, 500) };
}

/**
 * Polls every registered tenant once. Resolves with a result per tenant; rejects only when the tenant registry cannot
 * be read (nothing to poll) — a tenant's own failure is a value in its result and a row in the status store.
 */
export async function pollServiceHealth(deps: PollServiceHealthDeps, options: PollServiceHealthOptions = {}): Promise<PollServiceHealthResult> {
  const started = deps.clock.now();
  const source = deps.serviceHealth;
  if (!source) {
    const reason = options.notConfiguredReason ?? "no Graph settings";
    deps.logger.info("Graph not configured: service health is not polled", { reason });
    await deps.heartbeats.beat({
      component: SERVICE_HEALTH_POLL_COMPONENT,
      at: started.toISOString(),
      expectedEverySeconds: SERVICE_HEALTH_POLL_EVERY_SECONDS,
      details: `Graph not configured (${reason})`,
    });
    return { configured: false, tenants: [] };
  }

  const tenantIds: string[] = [];
  for await (const tenant of deps.tenants.list()) tenantIds.push(tenant.tenantId);
  const results: TenantPollResult[] = new Array<TenantPollResult>(tenantIds.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < tenantIds.length; i = next++) {
      const tenantId = tenantIds[i];
      if (tenantId !== undefined) results[i] = await pollTenant(deps, source, tenantId, options);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, tenantIds.length)) }, worker));

  const count = (outcome: TenantPollResult["outcome"]) => results.filter((r) => r.outcome === outcome).length;
  const stored = results.reduce((n, r) => n + r.stored, 0);
  const details = `tenants ${String(tenantIds.length)}, polled ${String(count("polled"))}, failed ${String(count("failed"))}, skipped ${String(count("skipped"))}, stored ${String(stored)}`;
  deps.logger.info("service health polled", { tenants: tenantIds.length, failed: count("failed"), skipped: count("skipped"), stored });
  await deps.heartbeats.beat({
    component: SERVICE_HEALTH_POLL_COMPONENT,
    at: deps.clock.now().toISOString(),
    expectedEverySeconds: SERVICE_HEALTH_POLL_EVERY_SECONDS,
    details,
  });
  return { configured: true, tenants: results };
}

async function pollTenant(deps: PollServiceHealthDeps, source: ServiceHealthSource, tenantId: string, options: PollServiceHealthOptions): Promise<TenantPollResult> {
  const result: TenantPollResult = { tenantId, outcome: "polled", issues: 0, stored: 0, duplicates: 0, invalid: 0 };
  let lease: unknown;
  try {
    lease = await deps.leases.acquire(tenantId, options.leaseMs ?? 4 * 60_000);
  } catch (error) {
    return failed(deps, result, error);
  }
  if (lease === undefined) {
    deps.logger.info("tenant is polled by another instance: skipped", { tenant: tenantId });
    return { ...result, outcome: "skipped" };
  }
  try {
    const watermark = await deps.watermarks.getWatermark(tenantId);
    const queries: IssueQuery[] = watermark === undefined
      ? [{ kind: "all" }]
      : [{ kind: "modifiedSince", since: new Date(Date.parse(watermark) - (options.overlapMs ?? 10 * 60_000)).toISOString() }, { kind: "unresolved" }];
    let newest = watermark;
    const seen = new Set<string>();
    for (const query of queries) {
      for await (const page of source.issuePages(tenantId, query)) {
        for (const raw of page) {
          const normalised = normaliseServiceHealthIssue(raw, tenantId);
          if (!normalised.ok) {
            result.invalid++;
            deps.logger.warn("invalid service health issue skipped", { tenant: tenantId, problems: normalised.errors.slice(0, 5) });
            continue;
          }
          // The revision names the tenant (see normaliseServiceHealthIssue): each tenant's sighting is its own.
          const notice = normalised.notice;
          const key = `${notice.id}\u0000${notice.revision}`;
          if (seen.has(key)) continue;
          seen.add(key);
          result.issues++;
          const recorded = await recordNotice(deps, notice, JSON.stringify(raw));
          if (recorded.duplicate) result.duplicates++;
          else result.stored++;
          if (newest === undefined || Date.parse(notice.publishedAt) > Date.parse(newest)) newest = notice.publishedAt;
        }
      }
    }
    // Only now: every issue read is stored and enqueued, so a crash before this line re-reads, never skips.
    if (newest !== undefined && newest !== watermark) {
      await deps.watermarks.setWatermark(tenantId, newest);
      result.watermark = newest;
    } else if (watermark !== undefined) {
      result.watermark = watermark;
    }
    await deps.pollStatus.recordSuccess(tenantId, deps.clock.now());
    return result;
  } catch (error) {
    return await failed(deps, result, error);
  } finally {
    await deps.leases.release(lease).catch((error: unknown) => {
      deps.logger.warn("could not release tenant lease (it expires by itself)", { tenant: tenantId, error: errorInfo(error).message });
    });
  }
}

async function failed(deps: PollServiceHealthDeps, result: TenantPollResult, error: unknown): Promise<TenantPollResult> {
  const info = errorInfo(error);
  deps.logger.warn("service health poll failed for tenant", { tenant: result.tenantId, code: info.code, error: info.message });
  try {
    await deps.pollStatus.recordFailure(result.tenantId, { at: deps.clock.now().toISOString(), ...info });
  } catch (statusError) {
    deps.logger.error("could not record the tenant's poll failure", { tenant: result.tenantId, error: errorInfo(statusError).message });
  }
  return { ...result, outcome: "failed", error: info };
}
