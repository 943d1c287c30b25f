import { z } from "zod";
import { zodProblems } from "../domain/parseResult.js";
import { parseTaskId, TaskStatusSchema, type DeliveryKey, type Task } from "../domain/task.js";
import { AppError, NotFoundError, ValidationError } from "../errors.js";
import type { Clock, Logger, TenantStore, WorkQueue } from "./ports.js";
import { requestDeliveries, tenantChannels } from "./taskOutbox.js";
import type { Delivery, DeliveryStore, TaskStore } from "./taskPorts.js";

/** Query of `GET /api/tasks` and `tasks list`. */
export const TaskQuerySchema = z.strictObject({
  tenant: z.guid({ error: "must be a tenant id (GUID)" }).transform((t) => t.toLowerCase()).optional(),
  status: TaskStatusSchema.optional(),
});

// eslint-disable-next-line no-control-regex -- a name with control characters would break logs and one-line output
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Body of `POST /api/tasks/{id}/ack` and `/done`: who did it (required), and an optional note. */
export const TaskActionSchema = z.strictObject({
  by: z
    .string({ error: "is required: who acknowledges (a name or e-mail address)" })
    .trim()
    .min(1, "must not be empty")
    .max(256, "must be at most 256 characters")
    .refine((v) => !CONTROL.test(v), "must not contain control characters"),
  note: z.string().trim().max(2000, "must be at most 2000 characters").optional(),
});
export type TaskAction = z.infer<typeof TaskActionSchema>;

/** A task as the API and CLI show it: everything but the rendered content, plus its summary and delivery states. */
export interface TaskView {
  id: string;
  tenantId: string;
  tenantName: string;
  kind: Task["kind"];
  windowId: string;
  source: string;
  title: string;
  summary: string;
  status: Task["status"];
  dueDate: string;
  createdAt: string;
  updatedAt: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  doneBy?: string;
  doneAt?: string;
  notes?: { by: string; at: string; text: string }[];
  controlsFinished: boolean;
  windowGone: boolean;
  checklist: string[];
  deliveries: { channel: DeliveryKey; state: Delivery["state"]; attempts: number; sentAt?: string; externalId?: string; lastError?: string }[];
}

function view(task: Task, deliveries: Delivery[]): TaskView {
  const out: TaskView = {
    id: task.id,
    tenantId: task.tenantId,
    tenantName: task.content.tenantName,
    kind: task.kind,
    windowId: task.windowId,
    source: task.source,
    title: task.title,
    summary: task.content.summary,
    status: task.status,
    dueDate: task.dueDate,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    controlsFinished: task.controlsFinished,
    windowGone: task.windowGone,
    checklist: task.content.checklist.map((i) => i.title),
    deliveries: deliveries.map((d) => ({
      channel: d.key,
      state: d.state,
      attempts: d.attempts,
      ...(d.sentAt ? { sentAt: d.sentAt } : {}),
      ...(d.externalId && d.key === "planner" ? { externalId: d.externalId } : {}),
      ...(d.lastError ? { lastError: d.lastError } : {}),
    })),
  };
  if (task.acknowledgedBy !== undefined) out.acknowledgedBy = task.acknowledgedBy;
  if (task.acknowledgedAt !== undefined) out.acknowledgedAt = task.acknowledgedAt;
  if (task.doneBy !== undefined) out.doneBy = task.doneBy;
  if (task.doneAt !== undefined) out.doneAt = task.doneAt;
  if (task.notes !== undefined && task.notes.length > 0) out.notes = task.notes;
  return out;
}

/** Tasks by tenant and status, soonest due first (the order work is done in). */
export async function listTasks(deps: { tasks: TaskStore; deliveries: DeliveryStore }, query: Record<string, string>): Promise<TaskView[]> {
  const parsed = TaskQuerySchema.safeParse(query);
  if (!parsed.success) throw new ValidationError("Invalid query", zodProblems(parsed.error));
  const q = parsed.data;
  const tasks: Task[] = [];
  for await (const t of deps.tasks.list({ ...(q.tenant ? { tenantId: q.tenant } : {}), ...(q.status ? { status: q.status } : {}) })) tasks.push(t);
  tasks.sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.id.localeCompare(b.id));
  return Promise.all(tasks.map(async (t) => view(t, await deps.deliveries.listForTask(t.id))));
}

export interface TaskStatusDeps {
  tasks: TaskStore;
  deliveries: DeliveryStore;
  tenants: Pick<TenantStore, "get">;
  queue: WorkQueue;
  clock: Clock;
  logger?: Logger;
}

class TaskConflictError extends AppError {
  override readonly name = "TaskConflictError";
  constructor(message: string) {
    super("conflict", 409, message, { retryable: false });
  }
}

function parseAction(body: unknown): TaskAction {
  const parsed = TaskActionSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError("The request body is not valid", zodProblems(parsed.error));
  return parsed.data;
}

const MAX_PASSES = 8;

async function transition(deps: TaskStatusDeps, id: string, body: unknown, apply: (task: Task, action: TaskAction, at: string) => Task | undefined): Promise<{ task: TaskView; changed: boolean }> {
  const ids = parseTaskId(id);
  if (!ids) throw new ValidationError("The task id is not valid", [`id: not a task id (expected {tenant id}.{window id}), got "${id.slice(0, 80)}"`]);
  const action = parseAction(body);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const found = await deps.tasks.get(ids.tenantId, id);
    if (!found) throw new NotFoundError(`No task ${id}`);
    const at = deps.clock.now();
    const next = apply(structuredClone(found.task), action, at.toISOString());
    if (!next) return { task: view(found.task, await deps.deliveries.listForTask(id)), changed: false };
    if (action.note) next.notes = [...(next.notes ?? []), { by: action.by, at: at.toISOString(), text: action.note }];
    next.updatedAt = at.toISOString();
    if (!(await deps.tasks.replace(next, found.etag))) continue;
    // Planner mirrors the status (percentComplete); Teams and e-mail are not re-sent for it.
    const profile = await deps.tenants.get(next.tenantId);
    if (tenantChannels(profile).includes("planner")) await requestDeliveries(deps, next, ["planner"], at);
    deps.logger?.info(`task ${next.status}`, { tenant: next.tenantId, task: id, by: action.by });
    return { task: view(next, await deps.deliveries.listForTask(id)), changed: true };
  }
  throw new Error(`task ${id} kept changing; try again`);
}

/** `open` → `acknowledged`, recording who and when. Acknowledging again changes nothing; a done task is a 409. */
export function acknowledgeTask(deps: TaskStatusDeps, id: string, body: unknown): Promise<{ task: TaskView; changed: boolean }> {
  return transition(deps, id, body, (task, action, at) => {
    if (task.status === "done") throw new TaskConflictError(`Task ${id} is already done (by ${task.doneBy ?? "someone"} at ${task.doneAt ?? "an unknown time"})`);
    if (task.status === "acknowledged") return undefined;
    return { ...task, status: "acknowledged", acknowledgedBy: action.by, acknowledgedAt: at };
  });
}

/** `open` or `acknowledged` → `done`, recording who and when (and the acknowledgement, if there was none). Idempotent. */
export function completeTask(deps: TaskStatusDeps, id: string, body: unknown): Promise<{ task: TaskView; changed: boolean }> {
  return transition(deps, id, body, (task, action, at) => {
    if (task.status === "done") return undefined;
    return {
      ...task,
      status: "done",
      doneBy: action.by,
      doneAt: at,
      ...(task.acknowledgedBy === undefined ? { acknowledgedBy: action.by, acknowledgedAt: at } : {}),
    };
  });
}
