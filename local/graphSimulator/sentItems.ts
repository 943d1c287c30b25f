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
  /** The MIME text when the mail was sent in MIME form (`Content-Type: text/plain`, base64 body). */
  mime?: string;
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
  | { kind: "preconditionFailed" }
  | { kind: "limitExceeded"; code: string; message: string };

/** Planner's limit on checklist items per task (403 MaximumChecklistItemsOnTask beyond it). */
export const MAX_CHECKLIST_ITEMS = 20;

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`) decoded, as Exchange shows a subject. */
function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1").toString("utf8"),
    );
}

/**
 * A mail sent in MIME form (Graph `sendMail` with `Content-Type: text/plain`: the RFC 5322 message, base64-encoded),
 * read as far as the simulator needs: the recipients and subject, as a JSON message would carry them.
 */
export function parseMimeMail(body: string): { mime: string; message: JsonObject } | { status: number; code: string; message: string } {
  const compact = body.replace(/\s+/g, "");
  if (compact === "" || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    return { status: 400, code: "ErrorMimeContentInvalidBase64String", message: "Invalid base64 string for MIME content." };
  }
  const mime = Buffer.from(compact, "base64").toString("utf8");
  const end = mime.search(/\r?\n\r?\n/);
  const head = (end < 0 ? mime : mime.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const addresses = (name: string) =>
    (headers.get(name) ?? "")
      .split(",")
      .map((a) => /<([^>]+)>/.exec(a)?.[1] ?? a.trim())
      .filter((a) => a !== "")
      .map((address) => ({ emailAddress: { address } }));
  const toRecipients = addresses("to");
  const ccRecipients = addresses("cc");
  if (toRecipients.length + ccRecipients.length + addresses("bcc").length === 0) {
    return { status: 400, code: "ErrorInvalidRecipients", message: "At least one recipient isn't valid." };
  }
  const internetMessageHeaders = [...headers].filter(([name]) => name.startsWith("x-")).map(([name, value]) => ({ name, value }));
  return { mime, message: { subject: decodeEncodedWords(headers.get("subject") ?? ""), from: { emailAddress: { address: headers.get("from") ?? "" } }, toRecipients, ccRecipients, internetMessageHeaders } };
}

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

  /** Tasks of a plan in a tenant, as `GET /planner/plans/{id}/tasks` lists them. */
  listByPlan(tenantId: string, planId: string): JsonObject[] {
    return [...this.byId.values()].filter((r) => r.tenantId === tenantId && r.task.planId === planId).map((r) => r.task);
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
    if (part === "details" && Object.keys(next.checklist as JsonObject).length > MAX_CHECKLIST_ITEMS) {
      return { kind: "limitExceeded", code: "MaximumChecklistItemsOnTask", message: "The checklist property on the plannerTaskDetails resource contains too many values." };
    }
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
