import type { BlindWindow } from "../domain/blindWindow.js";
import type { Finding } from "../domain/finding.js";
import type { LogSourceId } from "../domain/logSource.js";
import { NoticeSourceSchema } from "../domain/notice.js";
import {
  announcementHash,
  buildTaskContent,
  taskContentHash,
  taskId as makeTaskId,
  type ControlProgress,
  type DeliveryKey,
  type HuntQuery,
  type Task,
  type TaskContent,
} from "../domain/task.js";
import type { TenantProfile } from "../domain/tenant.js";
import type { LedgerStore } from "./ledgerPorts.js";
import type { Logger, NoticeStore, TenantStore, WorkQueue } from "./ports.js";
import type { ControlStore, FindingStore } from "./reviewPorts.js";
import { defaultHuntQueries, type HuntQueriesFor } from "./taskHuntQueries.js";
import { requestDeliveries, tenantChannels } from "./taskOutbox.js";
import type { DeliveryStore, TaskStore } from "./taskPorts.js";

/** What refreshing a task needs: ports only (the control runner calls it too, with its own services). */
export interface RefreshTaskDeps {
  tasks: TaskStore;
  deliveries: DeliveryStore;
  ledger: Pick<LedgerStore, "listWindows">;
  /** Controls table, read side (ControlSummary per control of the window). */
  controlRuns: ControlStore;
  findings: Pick<FindingStore, "listFindings">;
  tenants: Pick<TenantStore, "get">;
  notices: Pick<NoticeStore, "getNotice">;
  queue: WorkQueue;
  logger: Logger;
  /** KQL hunts for a window; default shared/domain/huntQueries.ts. */
  huntQueries?: HuntQueriesFor;
}

export interface RefreshTaskResult {
  outcome: "created" | "updated" | "unchanged" | "gone" | "no-window" | "no-tenant";
  taskId?: string;
  /** Channels (and escalations) a delivery was enqueued for. */
  enqueued: DeliveryKey[];
}

/** Findings read into one task at most (the task shows counts and the top five; findings are per rule and subject). */
const MAX_FINDINGS = 5000;
const MAX_SAVE_PASSES = 8;

const GONE_NOTE =
  "This blind window is no longer in the ledger: the notices behind it were withdrawn or re-assessed. Check whether the logs were in fact affected, then close this task.";

async function tenantWindows(deps: RefreshTaskDeps, tenantId: string): Promise<Map<string, BlindWindow>> {
  const out = new Map<string, BlindWindow>();
  for await (const w of deps.ledger.listWindows({ tenantId })) out.set(w.windowId, w);
  return out;
}

async function noticeTitles(deps: RefreshTaskDeps, keys: readonly string[]): Promise<{ key: string; title: string }[]> {
  const out: { key: string; title: string }[] = [];
  for (const key of keys) {
    const at = key.indexOf("~");
    const source = NoticeSourceSchema.safeParse(key.slice(0, at));
    const record = at > 0 && source.success ? await deps.notices.getNotice(source.data, key.slice(at + 1)) : undefined;
    out.push({ key, title: record?.latest?.title ?? record?.title ?? key });
  }
  return out;
}

/** Builds the task content of a window from the ledger, the Controls and Findings tables and the hunt queries. */
async function windowContent(deps: RefreshTaskDeps, profile: TenantProfile, window: BlindWindow, at: Date): Promise<TaskContent> {
  const controls: ControlProgress[] = [];
  for await (const c of deps.controlRuns.listControls(window.tenantId, window.windowId)) controls.push(c);
  controls.sort((a, b) => a.control.localeCompare(b.control));
  const findings: Finding[] = [];
  for await (const f of deps.findings.listFindings(window.tenantId, window.windowId)) {
    findings.push(f);
    if (findings.length >= MAX_FINDINGS) break;
  }
  const hunts: HuntQuery[] = (deps.huntQueries ?? defaultHuntQueries)({ tenantId: window.tenantId, source: window.source, start: window.start, end: window.end }, at.toISOString());
  return buildTaskContent({
    tenant: { tenantId: profile.tenantId, name: profile.name },
    window,
    notices: await noticeTitles(deps, window.notices),
    controls,
    findings,
    huntQueries: hunts,
  });
}

function withContent(task: Task, content: TaskContent, at: Date): Task {
  return { ...task, title: content.title, content, contentHash: taskContentHash(content), announcementHash: announcementHash(content), controlsFinished: content.controlsFinished, updatedAt: at.toISOString() };
}

/**
 * Writes `next(current)` for the task `id` with its ETag, re-reading when someone else wrote it meanwhile (an ack,
 * another refresh). `next` returns undefined when nothing is to change. Creates the task when there is none.
 */
async function saveTask(
  deps: Pick<RefreshTaskDeps, "tasks">,
  tenantId: string,
  id: string,
  first: { task: Task; etag: string } | undefined,
  next: (current: Task | undefined) => Task | undefined,
): Promise<{ task: Task; written: "created" | "updated" | "unchanged" }> {
  let current = first;
  for (let pass = 0; pass < MAX_SAVE_PASSES; pass++) {
    if (pass > 0) current = await deps.tasks.get(tenantId, id);
    const wanted = next(current ? structuredClone(current.task) : undefined);
    if (!wanted) {
      if (!current) throw new Error(`task ${id} has nothing to write`);
      return { task: current.task, written: "unchanged" };
    }
    if (current ? await deps.tasks.replace(wanted, current.etag) : await deps.tasks.create(wanted)) return { task: wanted, written: current ? "updated" : "created" };
  }
  throw new Error(`task ${id} kept changing; the queue will retry`);
}

/**
 * Creates or updates the task of one (tenant, window) from the current ledger, controls and findings, and enqueues a
 * delivery for each of the tenant's channels whose delivered content is now out of date. Idempotent: the same inputs
 * write nothing and enqueue nothing. A window that later notices merged into a new one keeps its task (found by the
 * notices they share), so people keep one Planner task and one thread; a window no longer in the ledger gets a note
 * saying so. Called after notice processing changed windows and by the control runner when a control finishes.
 */
export async function refreshTask(deps: RefreshTaskDeps, tenantId: string, windowId: string, at: Date): Promise<RefreshTaskResult> {
  const tenant = tenantId.toLowerCase();
  const windows = await tenantWindows(deps, tenant);
  const window = windows.get(windowId);
  const profile = await deps.tenants.get(tenant);
  if (!window) return markGone(deps, tenant, windowId, profile, at);
  if (!profile) {
    deps.logger.warn("window of an unregistered tenant: no task", { tenant, window: windowId });
    return { outcome: "no-tenant", enqueued: [] };
  }

  let current = await deps.tasks.findByWindow(tenant, windowId);
  let merged: { task: Task; etag: string }[] = [];
  if (!current) {
    // A task of an earlier window of these notices (merged into this one since) continues as this window's task.
    const predecessors: { task: Task; etag: string }[] = [];
    for await (const t of deps.tasks.listTenant(tenant, { source: window.source })) {
      if (t.task.kind !== "window" || windows.has(t.task.windowId)) continue;
      if (t.task.notices.some((n) => window.notices.includes(n))) predecessors.push(t);
    }
    predecessors.sort((a, b) => a.task.createdAt.localeCompare(b.task.createdAt) || a.task.id.localeCompare(b.task.id));
    current = predecessors[0];
    merged = predecessors.slice(1);
  }

  const content = await windowContent(deps, profile, window, at);
  const id = current?.task.id ?? makeTaskId(tenant, windowId);
  const saved = await saveTask(deps, tenant, id, current, (task) => {
    if (!task) {
      return withContent(
        {
          id,
          tenantId: tenant,
          kind: "window",
          windowId,
          source: window.source,
          notices: [...window.notices],
          title: content.title,
          status: "open",
          dueDate: window.reviewDeadline,
          createdAt: at.toISOString(),
          updatedAt: at.toISOString(),
          contentHash: "",
          announcementHash: "",
          controlsFinished: false,
          windowGone: false,
          content,
        },
        content,
        at,
      );
    }
    const hash = taskContentHash(content);
    if (task.contentHash === hash && task.windowId === windowId && task.dueDate === window.reviewDeadline && !task.windowGone && task.notices.join() === window.notices.join()) return undefined;
    return withContent({ ...task, windowId, notices: [...window.notices], dueDate: window.reviewDeadline, windowGone: false }, content, at);
  });

  for (const other of merged) {
    const note = `This window was merged with another one; follow task ${saved.task.id} instead.`;
    const gone = await saveTask(deps, tenant, other.task.id, other, (task) =>
      !task || task.windowGone ? undefined : withContent({ ...task, windowGone: true }, { ...task.content, note }, at),
    );
    await requestDeliveries(deps, gone.task, tenantChannels(profile), at);
  }

  const enqueued = await requestDeliveries(deps, saved.task, tenantChannels(profile), at);
  if (saved.written !== "unchanged") {
    deps.logger.info(saved.written === "created" ? "task created" : "task updated", { tenant, window: windowId, task: saved.task.id, controlsFinished: saved.task.controlsFinished });
  }
  return { outcome: saved.written, taskId: saved.task.id, enqueued };
}

async function markGone(deps: RefreshTaskDeps, tenant: string, windowId: string, profile: TenantProfile | undefined, at: Date): Promise<RefreshTaskResult> {
  const current = await deps.tasks.findByWindow(tenant, windowId);
  if (!current || current.task.kind !== "window") return { outcome: "no-window", enqueued: [] };
  const saved = await saveTask(deps, tenant, current.task.id, current, (task) =>
    !task || task.windowGone ? undefined : withContent({ ...task, windowGone: true }, { ...task.content, note: GONE_NOTE }, at),
  );
  const enqueued = await requestDeliveries(deps, saved.task, tenantChannels(profile), at);
  if (saved.written !== "unchanged") deps.logger.info("task's window left the ledger", { tenant, window: windowId, task: saved.task.id });
  return { outcome: "gone", taskId: saved.task.id, enqueued };
}

/**
 * Refreshes the tasks of one tenant's windows of one log source after notice processing rewrote them: each current
 * window's task, then every task of that source whose window is gone (merged away or withdrawn).
 */
export async function refreshSourceTasks(deps: RefreshTaskDeps, tenantId: string, source: LogSourceId, windows: readonly BlindWindow[], at: Date): Promise<RefreshTaskResult[]> {
  const results: RefreshTaskResult[] = [];
  for (const w of windows) results.push(await refreshTask(deps, tenantId, w.windowId, at));
  const current = new Set(windows.map((w) => w.windowId));
  const orphans: string[] = [];
  for await (const t of deps.tasks.listTenant(tenantId.toLowerCase(), { source })) {
    if (t.task.kind === "window" && !t.task.windowGone && !current.has(t.task.windowId)) orphans.push(t.task.windowId);
  }
  for (const windowId of orphans) results.push(await refreshTask(deps, tenantId, windowId, at));
  return results;
}

/**
 * Makes sure every window has its task and every open task's window still exists (the sweeper runs it): a refresh
 * that failed after notice processing, or a crash between the two, is caught up within one sweep.
 */
export async function reconcileTasks(deps: RefreshTaskDeps, at: Date): Promise<{ refreshed: number }> {
  const followed = new Set<string>();
  const open: { tenantId: string; windowId: string }[] = [];
  for await (const task of deps.tasks.list({})) {
    if (task.kind !== "window") continue;
    followed.add(`${task.tenantId}~${task.windowId}`);
    if (task.status !== "done" && !task.windowGone) open.push({ tenantId: task.tenantId, windowId: task.windowId });
  }
  const windows = new Set<string>();
  const missing: { tenantId: string; windowId: string }[] = [];
  for await (const w of deps.ledger.listWindows({})) {
    windows.add(`${w.tenantId}~${w.windowId}`);
    if (!followed.has(`${w.tenantId}~${w.windowId}`)) missing.push({ tenantId: w.tenantId, windowId: w.windowId });
  }
  const stale = open.filter((t) => !windows.has(`${t.tenantId}~${t.windowId}`));
  for (const t of [...missing, ...stale]) await refreshTask(deps, t.tenantId, t.windowId, at);
  if (missing.length + stale.length > 0) deps.logger.warn("tasks caught up with the ledger", { missing: missing.length, gone: stale.length });
  return { refreshed: missing.length + stale.length };
}
