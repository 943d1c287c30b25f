/**
 * What clients posted to the simulator's write endpoints (mail, Planner, Teams Workflows), kept in memory so tests
 * and the demo can look at it. Planner follows Graph's ETag rules: PATCH needs `If-Match` with the current
 * `@odata.etag` and gets 412 when it is stale.
 */
import { randomBytes } from "node:crypto";

export interface SentMail {
  tenantId: string;
  /** `{id}` of `POST /users/{id}/sendMail` (object id or UPN). */
  sender: string;
  message: Record<string, unknown>;
  saveToSentItems: unknown;
  receivedAt: string;
}

export interface PostedCard {
  tenantId: string;
  hookId: string;
  /** The Adaptive Card (`attachments[0].content`). */
  card: Record<string, unknown>;
  body: Record<string, unknown>;
  receivedAt: string;
}

export type JsonObject = Record<string, unknown>;

export interface PlannerTaskRecord {
  tenantId: string;
  task: JsonObject;
  details: JsonObject;
}

export interface SentItems {
  mails: SentMail[];
  cards: PostedCard[];
  /** Planner tasks as created and since patched (each with its details). */
  plannerTasks: PlannerTaskRecord[];
}

export type PatchOutcome =
  | { kind: "ok"; resource: JsonObject }
  | { kind: "notFound" }
  | { kind: "missingIfMatch" }
  | { kind: "preconditionFailed" };

function etag(kind: "Task" | "Details", version: number, id: string): string {
  return `W/"${Buffer.from(`'${version}-${kind}@${id}'`).toString("base64")}"`;
}

/** Planner ids look like `01gzSlKkIUSUl6DF_EilrmQAKDhh`: 28 URL-safe characters. */
function plannerId(): string {
  return randomBytes(21).toString("base64url");
}

/** Objects merge key by key; `null` removes a key (Planner's open-type semantics for checklist/references). */
function mergeOpenType(current: unknown, patch: JsonObject, nowIso: string): JsonObject {
  const out = new Map(Object.entries(typeof current === "object" && current !== null ? (current as JsonObject) : {}));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) out.delete(key);
    else if (typeof value === "object") {
      const previous = out.get(key);
      out.set(key, { ...(typeof previous === "object" && previous !== null ? previous : {}), ...(value as JsonObject), lastModifiedDateTime: nowIso });
    }
  }
  return Object.fromEntries(out);
}

export class PlannerStore {
  private readonly byId = new Map<string, PlannerTaskRecord>();
  private readonly versions = new Map<string, { task: number; details: number }>();

  constructor(private readonly sent: SentItems) {}

  create(tenantId: string, body: JsonObject, createdBy: string, nowIso: string): JsonObject {
    const id = plannerId();
    const assignments: JsonObject = {};
    const requested = typeof body.assignments === "object" && body.assignments !== null ? (body.assignments as JsonObject) : {};
    for (const [userId, value] of Object.entries(requested)) {
      assignments[userId] = { ...(value as JsonObject), assignedBy: { application: { id: createdBy } }, assignedDateTime: nowIso };
    }
    const task: JsonObject = {
      "@odata.etag": etag("Task", 1, id),
      planId: body.planId,
      bucketId: body.bucketId ?? null,
      title: body.title,
      orderHint: "8585269241797",
      assigneePriority: "",
      percentComplete: 0,
      priority: typeof body.priority === "number" ? body.priority : 5,
      startDateTime: body.startDateTime ?? null,
      createdDateTime: nowIso,
      dueDateTime: body.dueDateTime ?? null,
      hasDescription: false,
      previewType: "automatic",
      completedDateTime: null,
      completedBy: null,
      referenceCount: 0,
      checklistItemCount: 0,
      activeChecklistItemCount: 0,
      conversationThreadId: null,
      appliedCategories: body.appliedCategories ?? {},
      createdBy: { application: { id: createdBy } },
      assignments,
      id,
    };
    const details: JsonObject = {
      "@odata.etag": etag("Details", 1, id),
      description: "",
      previewType: "automatic",
      id,
      references: {},
      checklist: {},
    };
    const record = { tenantId, task, details };
    this.byId.set(id, record);
    this.versions.set(id, { task: 1, details: 1 });
    this.sent.plannerTasks.push(record);
    return task;
  }

  get(tenantId: string, id: string): PlannerTaskRecord | undefined {
    const record = this.byId.get(id);
    return record?.tenantId === tenantId ? record : undefined;
  }

  patch(tenantId: string, id: string, part: "task" | "details", ifMatch: string | undefined, body: JsonObject, nowIso: string): PatchOutcome {
    const record = this.get(tenantId, id);
    const version = this.versions.get(id);
    if (!record || !version) return { kind: "notFound" };
    if (!ifMatch) return { kind: "missingIfMatch" };
    const current = record[part];
    if (ifMatch !== "*" && ifMatch !== current["@odata.etag"]) return { kind: "preconditionFailed" };
    const next: JsonObject = { ...current };
    for (const [key, value] of Object.entries(body)) {
      if (key === "@odata.etag" || key === "id") continue;
      next[key] = key === "checklist" || key === "references" ? mergeOpenType(current[key], (value ?? {}) as JsonObject, nowIso) : value;
    }
    version[part]++;
    next["@odata.etag"] = etag(part === "task" ? "Task" : "Details", version[part], id);
    if (part === "details") {
      const checklist = Object.values(next.checklist as JsonObject) as JsonObject[];
      record.task = {
        ...record.task,
        hasDescription: typeof next.description === "string" && next.description !== "",
        checklistItemCount: checklist.length,
        activeChecklistItemCount: checklist.filter((item) => item.isChecked !== true).length,
      };
    } else if (next.percentComplete === 100 && current.percentComplete !== 100) {
      next.completedDateTime = nowIso;
    }
    record[part] = next;
    return { kind: "ok", resource: next };
  }
}
