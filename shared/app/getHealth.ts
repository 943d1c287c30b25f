import type { Clock, HeartbeatStore, StorageProbe } from "./ports.js";
import type { PollStatusStore, TenantPollStatus } from "./pollServiceHealth.js";

export interface HealthReport {
  status: "ok" | "degraded" | "unavailable";
  storage: { tables: boolean; queues: boolean };
  components: { component: string; lastBeat: string; ageSeconds: number; stale: boolean; details?: string }[];
  stale: string[];
  /** The service-health poller's record per tenant (a tenant failing does not degrade the service as a whole). */
  graph?: { tenants: TenantPollStatus[] };
}

/** A component is stale when it missed two expected beats (one late beat is jitter, two is an outage). */
const STALE_FACTOR = 2;

/** Whether a heartbeat is stale at `nowMs` (components beating only when there is work never are). */
export function isStale(heartbeat: Pick<import("./ports.js").Heartbeat, "at" | "expectedEverySeconds">, nowMs: number): boolean {
  const ageSeconds = Math.max(0, Math.round((nowMs - Date.parse(heartbeat.at)) / 1000));
  return heartbeat.expectedEverySeconds > 0 && ageSeconds > heartbeat.expectedEverySeconds * STALE_FACTOR;
}

/** Storage reachability and component heartbeats, for `GET /api/health`. */
export async function getHealth(deps: { probe: StorageProbe; heartbeats: HeartbeatStore; clock: Clock; pollStatus?: Pick<PollStatusStore, "listStatus"> }): Promise<HealthReport> {
  const storage = await deps.probe.probe();
  if (!storage.tables) return { status: "unavailable", storage, components: [], stale: [] };
  const now = deps.clock.now().getTime();
  const components = (await deps.heartbeats.list()).map((h) => {
    const ageSeconds = Math.max(0, Math.round((now - Date.parse(h.at)) / 1000));
    const stale = h.expectedEverySeconds > 0 && ageSeconds > h.expectedEverySeconds * STALE_FACTOR;
    return { component: h.component, lastBeat: h.at, ageSeconds, stale, ...(h.details ? { details: h.details } : {}) };
  });
  const stale = components.filter((c) => c.stale).map((c) => c.component);
  const status = storage.queues && stale.length === 0 ? "ok" : "degraded";
  const graph = deps.pollStatus ? { graph: { tenants: await deps.pollStatus.listStatus() } } : {};
  return { status, storage, components, stale, ...graph };
}
