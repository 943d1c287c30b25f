import { announcementHash, buildWatchdogContent, taskContentHash, taskId, watchdogWindowKey, type Task, type TaskContent } from "../domain/task.js";
import { isStale } from "./getHealth.js";
import type { Clock, HeartbeatStore, Logger, TenantStore, WorkQueue } from "./ports.js";
import { requestDeliveries, tenantChannels } from "./taskOutbox.js";
import type { DeliveryStore, TaskStore } from "./taskPorts.js";

/**
 * The watchdog: the system notices its own blind window. A timer that stopped beating (missed two expected
 * heartbeats, as /api/health judges it) raises a task of its own, for the operator's tenant
 * (BLINDWINDOW_OPERATOR_TENANT_ID, a tenant registered like any other, whose contacts receive it); when the component
 * beats again the task says when. One task per component and outage (keyed by the last heartbeat before it).
 * Both the sweeper and the watchdog timer run this, so each notices the other stopping; the whole app being down is
 * for an external probe of GET /api/health to notice (README "Tasks").
 */

/** Components watched, with what they do for people reading the task. */
export const WATCHED_COMPONENTS: Readonly<Record<string, string>> = {
  serviceHealthPoll: "polls Microsoft 365 service health for every tenant",
  sweeper: "re-enqueues stuck notices and deliveries, escalates overdue tasks and warns before review deadlines",
  watchdog: "checks that the poller and the sweeper keep running",
};

export const WATCHDOG_COMPONENT = "watchdog";
export const WATCHDOG_SCHEDULE = "0 */10 * * * *";
export const WATCHDOG_EVERY_SECONDS = 600;
/** Tenant id of watchdog tasks when no operator tenant is configured (the tasks are stored and listed, not delivered). */
export const NO_OPERATOR_TENANT = "00000000-0000-0000-0000-000000000000";
const DAY_MS = 86_400_000;

export interface WatchdogDeps {
  heartbeats: HeartbeatStore;
  tasks: TaskStore;
  deliveries: DeliveryStore;
  tenants: Pick<TenantStore, "get">;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
  /** The operator's own tenant (BLINDWINDOW_OPERATOR_TENANT_ID); undefined: NO_OPERATOR_TENANT, no deliveries. */
  operatorTenantId: string | undefined;
}

export interface WatchdogResult {
  stale: string[];
  raised: string[];
  recovered: string[];
}

function withContent(task: Task, content: TaskContent, at: Date): Task {
  return { ...task, title: content.title, content, contentHash: taskContentHash(content), announcementHash: announcementHash(content), controlsFinished: content.controlsFinished, updatedAt: at.toISOString() };
}

/** Checks every watched component's heartbeat; raises or closes the system's own blind windows. `beat`: record the watchdog's own heartbeat first. */
export async function watchComponents(deps: WatchdogDeps, options: { beat?: boolean } = {}): Promise<WatchdogResult> {
  const now = deps.clock.now();
  if (options.beat) await deps.heartbeats.beat({ component: WATCHDOG_COMPONENT, at: now.toISOString(), expectedEverySeconds: WATCHDOG_EVERY_SECONDS });
  const operator = (deps.operatorTenantId ?? NO_OPERATOR_TENANT).toLowerCase();
  const profile = deps.operatorTenantId ? await deps.tenants.get(operator) : undefined;
  const tenant = { tenantId: operator, name: profile?.name ?? "blindwindow operator" };
  const channels = tenantChannels(profile);
  const result: WatchdogResult = { stale: [], raised: [], recovered: [] };

  for (const h of await deps.heartbeats.list()) {
    const role = WATCHED_COMPONENTS[h.component];
    if (role === undefined) continue;
    if (isStale(h, now.getTime())) {
      result.stale.push(h.component);
      const windowKey = watchdogWindowKey(h.component, h.at);
      const id = taskId(operator, windowKey);
      if (await deps.tasks.get(operator, id)) continue;
      const dueDate = new Date(Date.parse(h.at) + DAY_MS).toISOString();
      const content = buildWatchdogContent({ tenant, component: h.component, role, lastBeat: h.at, expectedEverySeconds: h.expectedEverySeconds, recoveredAt: null, dueDate });
      const task = withContent(
        {
          id,
          tenantId: operator,
          kind: "watchdog",
          windowId: windowKey,
          source: h.component,
          notices: [],
          title: content.title,
          status: "open",
          dueDate,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          contentHash: "",
          announcementHash: "",
          controlsFinished: false,
          windowGone: false,
          content,
        },
        content,
        now,
      );
      if (!(await deps.tasks.create(task))) continue; // the other timer raised it first
      result.raised.push(h.component);
      deps.logger.error("a blindwindow component stopped: watchdog task raised", { component: h.component, lastBeat: h.at, task: id, tenant: operator });
      if (channels.length === 0) deps.logger.warn("watchdog task not delivered: no operator contacts (set BLINDWINDOW_OPERATOR_TENANT_ID to a registered tenant with contacts)", { task: id });
      await requestDeliveries(deps, task, channels, now);
      continue;
    }
    // Beating again: close the outage window of any watchdog task still waiting for it.
    for await (const { task, etag } of deps.tasks.listTenant(operator, { source: h.component })) {
      if (task.kind !== "watchdog" || task.content.window.end !== null || h.at <= task.content.window.start) continue;
      const content = buildWatchdogContent({ tenant, component: h.component, role, lastBeat: task.content.window.start, expectedEverySeconds: h.expectedEverySeconds, recoveredAt: h.at, dueDate: task.dueDate });
      const next = withContent(task, content, now);
      if (!(await deps.tasks.replace(next, etag))) continue; // changed meanwhile: the next run sees it again
      result.recovered.push(h.component);
      deps.logger.info("a blindwindow component beats again", { component: h.component, since: task.content.window.start, at: h.at, task: task.id });
      await requestDeliveries(deps, next, channels, now);
    }
  }
  return result;
}
