/**
 * A local Microsoft Graph for tests, the demo and benchmarks: a real HTTP server (node:http on 127.0.0.1) that
 * follows Graph's documented behaviour for what blindwindow calls, so the real Graph client is exercised over the
 * wire. See README "Graph simulator" for the options; the data comes from GraphDataset (seeded, lazy).
 *
 * Tenant identification is the bearer token's `tid` claim (unsigned JWTs are fine: see simulatorToken).
 * nextLinks always use https://graph.microsoft.com, as Graph does; clients rewrite the origin
 * (SimulatorFetchMiddleware).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { DAY_MS, GraphDataset, HOUR_MS, RISK_RETENTION_DAYS, type PlantedAttack, type SeededTenant, type TenantOptions } from "./dataGenerator.js";
import { FaultInjector, type FaultKind, type FaultOptions } from "./faultInjector.js";
import { ODataError, compileFilter, parseFilter, type CompiledFilter, type FilterSchema } from "./odataFilter.js";
import { decodeSkipToken, encodeSkipToken, readPage } from "./pagedQuery.js";
import {
  DIRECTORY_AUDIT_FIELDS,
  DIRECTORY_AUDIT_FILTER,
  RISK_DETECTION_FIELDS,
  RISK_DETECTION_FILTER,
  SERVICE_ISSUE_FIELDS,
  SERVICE_ISSUE_FILTER,
  SIGN_IN_FIELDS,
  SIGN_IN_FILTER,
  type ApiVersion,
  type ServiceHealthIssue,
  type SignIn,
} from "./records.js";
import { PlannerStore, parseMimeMail, type JsonObject, type SentItems } from "./sentItems.js";
import { tenantOfToken } from "./simulatorToken.js";
import { GRAPH_ORIGIN } from "./simulatorTransport.js";
import { GraphThrottle, type ThrottledFamily } from "./throttle.js";

/** The simulator clock when none is given: the day after the September 2024 logging incident ended. */
interface RoleAssignment {
  id: string;
  roleDefinitionId: string;
  principalId: string;
  directoryScopeId: string;
}

/** Role template id of Global Administrator (the same in every tenant). */
const GLOBAL_ADMIN_ROLE = "62e90394-69f5-4237-9190-012177145e10";

export const DEFAULT_SIMULATOR_NOW = "2024-09-20T12:00:00Z";

export interface GraphSimulatorOptions {
  seed?: number | string;
  tenants?: readonly TenantOptions[];
  /** Users per tenant when a tenant does not say (default 25). */
  users?: number;
  /** Days of data before `now` (default 30). */
  days?: number;
  /** Simulator clock (ISO) for data and retention, independent of wall time. */
  now?: string;
  port?: number;
  /** Graph's throttling windows are divided by this (default 1). */
  timeScale?: number;
  /** false turns Graph's limits off (default true). */
  throttling?: boolean;
  /** Added before every list page (ms). */
  latencyMs?: number;
  /**
   * How long after its time a record appears in Graph's lists (ms on the simulator clock; default 0): Entra reports
   * sign-ins and audits minutes after the event, so a list never shows the most recent ones.
   */
  ingestionLatencyMs?: number;
  /**
   * Outages of Entra's own reporting (a `delay` incident): records whose time is in [from, to) are listed only from
   * `listedFrom` on (simulator clock), as Graph lists a backlog once it has been processed. Sign-ins, directory audits
   * and risk detections alike.
   */
  backlogs?: readonly { from: string; to: string; listedFrom: string }[];
  faults?: FaultOptions;
  /** Monotonic clock (ms) for throttling windows; performance.now by default. */
  monotonicClock?: () => number;
  interactivePerUserPerDay?: number;
  /** Where planted attacks may start (ISO instants), e.g. inside a blind window. */
  attacksBetween?: { start: string; end: string };
  nonInteractivePerUserPerDay?: number;
  serviceIssues?: readonly ServiceHealthIssue[];
  /**
   * Real Graph refuses signIns to tenants without Entra ID P1/P2 (403
   * Authentication_RequestFromNonPremiumTenantOrB2CTenant). Off by default so Free tenants show 7-day retention.
   */
  premiumRequiredForSignIns?: boolean;
  /** Entries kept in `requests` (oldest dropped). Default 10,000. */
  requestLogLimit?: number;
}

export interface RequestLogEntry {
  method: string;
  /** Path and query as received. */
  path: string;
  status: number;
  tenantId: string | undefined;
  /** Wall-clock ISO time the request arrived. */
  time: string;
  durationMs: number;
  fault?: FaultKind;
  /** The limit that answered 429, when throttled. */
  throttled?: string;
}

export interface GraphSimulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly tenants: readonly SeededTenant[];
  readonly groundTruth: readonly PlantedAttack[];
  readonly dataset: GraphDataset;
  readonly requests: RequestLogEntry[];
  readonly sent: SentItems;
  now(): string;
  setNow(now: string | Date | number): void;
  /** The Teams Workflows webhook URL the simulator accepts for a tenant. */
  workflowUrl(tenantId: string, hookId?: string): string;
  /** The next `count` eligible requests get `kind`, regardless of the configured rate. */
  injectFault(kind: FaultKind, count?: number): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Apply page latency. */
  page?: boolean;
}

class GraphHttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const MAX_BODY_BYTES = 1024 * 1024;
const SCAN_LIMIT = 200_000;

const badRequest = (message: string) => new GraphHttpError(400, "BadRequest", message);
const notFound = (message: string) => new GraphHttpError(404, "ResourceNotFound", message);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new GraphHttpError(413, "RequestEntityTooLarge", "The request body is too large."));
      else chunks.push(chunk);
    });
    req.on("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

async function readJsonObject(req: IncomingMessage): Promise<JsonObject> {
  const text = await readBody(req);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw badRequest("The request body must be a JSON object.");
  return parsed as JsonObject;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `$select=a,b` → a projection; unknown names are a 400 as in Graph. */
function projection<R extends object>(select: string | null, fields: readonly (keyof R & string)[], typeName: string): { pick: (record: R) => unknown; names: readonly string[] } {
  if (select === null) {
    return { pick: (record) => { const out: JsonObject = {}; for (const f of fields) out[f] = record[f]; return out; }, names: [] };
  }
  const names = select.split(",").map((s) => s.trim());
  for (const name of names) {
    if (!(fields as readonly string[]).includes(name)) {
      throw badRequest(`Could not find a property named '${name}' on type '${typeName}'.`);
    }
  }
  const keys = names as (keyof R & string)[];
  return { pick: (record) => { const out: JsonObject = {}; for (const k of keys) out[k] = record[k]; return out; }, names };
}

function parseTop(value: string | null, fallback: number, max: number): number {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw badRequest(`Invalid page size specified: '${value}'. Must be between 1 and ${max} inclusive.`);
  }
  return n;
}

function checkQueryOptions(query: URLSearchParams, allowed: readonly string[]): void {
  for (const key of query.keys()) {
    if (key.startsWith("$") && !allowed.includes(key)) throw badRequest(`Query option '${key}' is not allowed on this resource.`);
  }
}

function compile<R>(filter: string | null, schema: FilterSchema<R>): CompiledFilter<R> | undefined {
  return filter === null ? undefined : compileFilter(parseFilter(filter), schema);
}

/** Starts the simulator; resolves once it listens. */
export async function startGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulator> {
  let nowMs = Date.parse(options.now ?? DEFAULT_SIMULATOR_NOW);
  if (Number.isNaN(nowMs)) throw new RangeError(`now is not an ISO date: ${String(options.now)}`);
  const dataset = new GraphDataset({
    seed: options.seed ?? 1,
    nowMs,
    days: options.days ?? 30,
    tenants: options.tenants,
    users: options.users,
    interactivePerUserPerDay: options.interactivePerUserPerDay,
    nonInteractivePerUserPerDay: options.nonInteractivePerUserPerDay,
    serviceIssues: options.serviceIssues,
    ...(options.attacksBetween ? { attacksBetween: { startMs: Date.parse(options.attacksBetween.start), endMs: Date.parse(options.attacksBetween.end) } } : {}),
  });
  const throttle = options.throttling === false ? undefined : new GraphThrottle({ timeScale: options.timeScale, clock: options.monotonicClock });
  const faults = new FaultInjector(options.faults);
  // An injected Retry-After says 1 s, as Graph would; with a time scale the millisecond header says 1 s scaled.
  const injectedRetryAfter: Record<string, string> = { "retry-after": "1", ...(options.timeScale !== undefined && options.timeScale !== 1 ? { "x-ms-retry-after-ms": String(Math.ceil(1000 / options.timeScale)) } : {}) };
  const sent: SentItems = { mails: [], cards: [], plannerTasks: [] };
  const planner = new PlannerStore(sent);
  const requests: RequestLogEntry[] = [];
  const logLimit = options.requestLogLimit ?? 10_000;
  const latencyMs = options.latencyMs ?? 0;

  const nowIso = () => new Date(nowMs).toISOString();
  const backlogs = (options.backlogs ?? []).map((b) => {
    const parsed = { fromMs: Date.parse(b.from), toMs: Date.parse(b.to), listedFromMs: Date.parse(b.listedFrom) };
    if (Object.values(parsed).some(Number.isNaN)) throw new RangeError(`backlogs: ${JSON.stringify(b)} holds a time that is not ISO`);
    return parsed;
  });

  function authenticate(req: IncomingMessage): SeededTenant {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const tid = match?.[1] ? tenantOfToken(match[1]) : undefined;
    if (!header || !match) throw new GraphHttpError(401, "InvalidAuthenticationToken", "Access token is empty.");
    if (!tid) throw new GraphHttpError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).");
    const tenant = dataset.tenant(tid);
    if (!tenant) throw new GraphHttpError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    return tenant;
  }

  function listSignIns(tenant: SeededTenant, version: ApiVersion, query: URLSearchParams, path: string): Reply {
    if (options.premiumRequiredForSignIns && tenant.licence === "free") {
      throw new GraphHttpError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license");
    }
    checkQueryOptions(query, ["$filter", "$select", "$top", "$skiptoken", "$orderby"]);
    const orderby = query.get("$orderby");
    if (orderby !== null && !/^createdDateTime(\s+desc)?$/i.test(orderby.trim())) throw badRequest("$orderby is only supported on createdDateTime desc.");
    const filterText = query.get("$filter");
    const filter = compile(filterText, SIGN_IN_FILTER[version]);
    const { pick, names } = projection<SignIn>(query.get("$select"), SIGN_IN_FIELDS[version], "microsoft.graph.signIn");
    const top = parseTop(query.get("$top"), 1000, 1000);
    // v1.0 lists interactive sign-ins only; beta too unless the filter names signInEventTypes.
    const interactiveOnly = version === "v1.0" || !filter?.mentions.has("signInEventTypes");
    const matches = (r: SignIn) => (!interactiveOnly || r.signInEventTypes.includes("interactiveUser")) && (filter?.matches(r) ?? true);
    return listReply(path, version, "auditLogs/signIns", query, names, tenant.retentionDays, HOUR_MS, (b) => dataset.signInsInHour(tenant.id, b), filter, matches, pick, top);
  }

  /** A bucket as Graph lists it at the simulator's now: without the records of a backlog not processed yet. */
  function listedNow<R>(bucket: (index: number) => readonly { t: number; r: R }[]): (index: number) => readonly { t: number; r: R }[] {
    const held = backlogs.filter((b) => nowMs < b.listedFromMs);
    if (held.length === 0) return bucket;
    return (index) => bucket(index).filter((x) => !held.some((b) => x.t >= b.fromMs && x.t < b.toMs));
  }

  function listReply<R>(
    path: string,
    version: ApiVersion,
    entitySet: string,
    query: URLSearchParams,
    names: readonly string[],
    retentionDays: number,
    bucketMs: number,
    bucket: (index: number) => readonly { t: number; r: R }[],
    filter: CompiledFilter<R> | undefined,
    matches: (r: R) => boolean,
    pick: (r: R) => unknown,
    top: number,
  ): Reply {
    const queryKey = `${path}|${query.get("$filter") ?? ""}|${query.get("$select") ?? ""}|${top}`;
    const token = query.get("$skiptoken");
    const cursor = token === null ? undefined : decodeSkipToken(token, queryKey);
    const fromMs = Math.max(filter?.lowerMs ?? -Infinity, nowMs - retentionDays * DAY_MS, dataset.dataStartMs);
    const toMs = Math.min(filter?.upperMs ?? Infinity, nowMs - (options.ingestionLatencyMs ?? 0));
    const page = readPage({ bucketMs, bucket: listedNow(bucket), fromMs, toMs, matches, top, cursor, scanLimit: SCAN_LIMIT });
    const body: JsonObject = {
      "@odata.context": `${GRAPH_ORIGIN}/${version}/$metadata#${entitySet}${names.length > 0 ? `(${names.join(",")})` : ""}`,
    };
    if (page.next) {
      const params: string[] = [];
      if (query.get("$top") !== null) params.push(`$top=${top}`);
      for (const key of ["$filter", "$select"]) {
        const value = query.get(key);
        if (value !== null) params.push(`${key}=${encodeURIComponent(value)}`);
      }
      params.push(`$skiptoken=${encodeSkipToken(page.next, queryKey)}`);
      body["@odata.nextLink"] = `${GRAPH_ORIGIN}${path}?${params.join("&")}`;
    }
    body.value = page.items.map(pick);
    return { status: 200, body, page: true };
  }

  function listServiceIssues(query: URLSearchParams, path: string): Reply {
    checkQueryOptions(query, ["$filter", "$select", "$top", "$skip"]);
    const filter = compile(query.get("$filter"), SERVICE_ISSUE_FILTER);
    const { pick, names } = projection<ServiceHealthIssue>(query.get("$select"), SERVICE_ISSUE_FIELDS, "microsoft.graph.serviceHealthIssue");
    const top = parseTop(query.get("$top"), 100, 1000);
    const skipText = query.get("$skip") ?? "0";
    const skip = Number(skipText);
    if (!Number.isInteger(skip) || skip < 0) throw badRequest(`Invalid value '${skipText}' for $skip.`);
    const all = dataset
      .serviceIssues()
      .filter((issue) => Date.parse(issue.lastModifiedDateTime) <= nowMs && (filter?.matches(issue) ?? true))
      .sort((a, b) => Date.parse(b.lastModifiedDateTime) - Date.parse(a.lastModifiedDateTime));
    const body: JsonObject = {
      "@odata.context": `${GRAPH_ORIGIN}/v1.0/$metadata#admin/serviceAnnouncement/issues${names.length > 0 ? `(${names.join(",")})` : ""}`,
    };
    if (skip + top < all.length) {
      const params = [`$skip=${skip + top}`];
      if (query.get("$top") !== null) params.unshift(`$top=${top}`);
      for (const key of ["$filter", "$select"]) {
        const value = query.get(key);
        if (value !== null) params.push(`${key}=${encodeURIComponent(value)}`);
      }
      body["@odata.nextLink"] = `${GRAPH_ORIGIN}${path}?${params.join("&")}`;
    }
    body.value = all.slice(skip, skip + top).map(pick);
    return { status: 200, body, page: true };
  }

  function graphRoute(method: string, version: ApiVersion, rest: string): { family?: ThrottledFamily; handle: (tenant: SeededTenant, req: IncomingMessage, query: URLSearchParams, path: string) => Reply | Promise<Reply> } {
    const segments = rest.split("/").filter((s) => s !== "");
    const route = segments.join("/");
    const get = method === "GET";
    if (get && route === "auditLogs/signIns") return { family: "reports", handle: (t, _r, q, p) => listSignIns(t, version, q, p) };
    if (get && route === "auditLogs/directoryAudits") {
      return {
        family: "reports",
        handle: (tenant, _req, query, path) => {
          checkQueryOptions(query, ["$filter", "$select", "$top", "$skiptoken", "$orderby"]);
          const filter = compile(query.get("$filter"), DIRECTORY_AUDIT_FILTER);
          const { pick, names } = projection(query.get("$select"), DIRECTORY_AUDIT_FIELDS, "microsoft.graph.directoryAudit");
          const top = parseTop(query.get("$top"), 1000, 1000);
          return listReply(path, version, "auditLogs/directoryAudits", query, names, tenant.retentionDays, DAY_MS, (b) => dataset.auditsInDay(tenant.id, b), filter, (r) => filter?.matches(r) ?? true, pick, top);
        },
      };
    }
    if (get && route === "identityProtection/riskDetections") {
      return {
        family: "identityProtection",
        handle: (tenant, _req, query, path) => {
          checkQueryOptions(query, ["$filter", "$select", "$top", "$skiptoken", "$orderby"]);
          const filter = compile(query.get("$filter"), RISK_DETECTION_FILTER);
          const { pick, names } = projection(query.get("$select"), RISK_DETECTION_FIELDS, "microsoft.graph.riskDetection");
          const top = parseTop(query.get("$top"), 100, 500);
          return listReply(path, version, "riskDetections", query, names, RISK_RETENTION_DAYS, DAY_MS, (b) => dataset.riskDetectionsInDay(tenant.id, b), filter, (r) => filter?.matches(r) ?? true, pick, top);
        },
      };
    }
    if (get && route === "roleManagement/directory/roleAssignments") {
      // Directory role assignments (unified RBAC, RoleManagement.Read.Directory): the tenant's admins hold Global
      // Administrator. Only `$select` and `$top` are served; a `$filter` is a 400 here, as it is not needed.
      return {
        handle: (tenant, _req, query) => {
          checkQueryOptions(query, ["$select", "$top"]);
          const all = dataset.users(tenant.id).filter((u) => u.isAdmin).map((u) => ({
            id: `${GLOBAL_ADMIN_ROLE}_${u.id}`,
            roleDefinitionId: GLOBAL_ADMIN_ROLE,
            principalId: u.id,
            directoryScopeId: "/",
          }));
          const { pick, names } = projection<RoleAssignment>(query.get("$select"), ["id", "roleDefinitionId", "principalId", "directoryScopeId"], "microsoft.graph.unifiedRoleAssignment");
          return {
            status: 200,
            body: { "@odata.context": `${GRAPH_ORIGIN}/${version}/$metadata#roleManagement/directory/roleAssignments${names.length > 0 ? `(${names.join(",")})` : ""}`, value: all.map(pick) },
          };
        },
      };
    }
    if (get && route === "admin/serviceAnnouncement/issues") {
      return { family: "serviceCommunications", handle: (_t, _r, q, p) => listServiceIssues(q, p) };
    }
    if (get && segments.length === 4 && route.startsWith("admin/serviceAnnouncement/issues/")) {
      return {
        family: "serviceCommunications",
        handle: () => {
          const issue = dataset.serviceIssues().find((i) => i.id === segments[3]);
          if (!issue) throw notFound(`The issue '${segments[3] ?? ""}' was not found.`);
          return { status: 200, body: { "@odata.context": `${GRAPH_ORIGIN}/v1.0/$metadata#admin/serviceAnnouncement/issues/$entity`, ...issue } };
        },
      };
    }
    if (method === "POST" && segments.length === 3 && segments[0] === "users" && segments[2] === "sendMail") {
      return {
        handle: async (tenant, req) => {
          if (/^text\/plain/i.test(req.headers["content-type"] ?? "")) {
            // MIME form: the base64 RFC 5322 message (https://learn.microsoft.com/graph/outlook-send-mime-message).
            const parsed = parseMimeMail(await readBody(req));
            if ("code" in parsed) throw new GraphHttpError(parsed.status, parsed.code, parsed.message);
            sent.mails.push({ tenantId: tenant.id, sender: decodeURIComponent(segments[1] ?? ""), message: parsed.message, saveToSentItems: true, receivedAt: nowIso(), mime: parsed.mime });
            return { status: 202 };
          }
          const body = await readJsonObject(req);
          const message = body.message;
          if (typeof message !== "object" || message === null) throw new GraphHttpError(400, "ErrorInvalidRequest", "The 'message' parameter is required.");
          const m = message as JsonObject;
          const recipients = ["toRecipients", "ccRecipients", "bccRecipients"].flatMap((k) => (Array.isArray(m[k]) ? (m[k] as unknown[]) : []));
          if (recipients.length === 0) throw new GraphHttpError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.");
          sent.mails.push({ tenantId: tenant.id, sender: decodeURIComponent(segments[1] ?? ""), message: m, saveToSentItems: body.saveToSentItems, receivedAt: nowIso() });
          return { status: 202 };
        },
      };
    }
    if (get && segments.length === 4 && segments[0] === "planner" && segments[1] === "plans" && segments[3] === "tasks") {
      const planId = segments[2] ?? "";
      return { handle: (tenant) => ({ status: 200, body: { "@odata.context": `${GRAPH_ORIGIN}/v1.0/$metadata#planner/plans('${planId}')/tasks`, value: planner.listByPlan(tenant.id, planId) } }) };
    }
    if (segments[0] === "planner" && segments[1] === "tasks") return plannerRoute(method, segments);
    throw notFound(`Resource not found for the segment '${segments[0] ?? ""}'.`);
  }

  function plannerRoute(method: string, segments: string[]): { handle: (tenant: SeededTenant, req: IncomingMessage) => Reply | Promise<Reply> } {
    const id = segments[2];
    const part = segments[3] === "details" ? "details" : segments.length === 3 ? "task" : undefined;
    if (method === "POST" && segments.length === 2) {
      return {
        handle: async (tenant, req) => {
          const body = await readJsonObject(req);
          if (typeof body.planId !== "string" || typeof body.title !== "string" || body.title === "") {
            throw badRequest("The request is invalid: planId and title are required.");
          }
          const appId = "00000000-0000-0000-0000-0000000b11d0";
          return { status: 201, body: { "@odata.context": `${GRAPH_ORIGIN}/v1.0/$metadata#planner/tasks/$entity`, ...planner.create(tenant.id, body, appId, nowIso()) } };
        },
      };
    }
    if (id && part && (method === "GET" || method === "PATCH") && segments.length <= 4) {
      return {
        handle: async (tenant, req) => {
          if (method === "GET") {
            const record = planner.get(tenant.id, id);
            if (!record) throw notFound(`The requested item is not found.`);
            return { status: 200, body: record[part] };
          }
          const body = await readJsonObject(req);
          const outcome = planner.patch(tenant.id, id, part, req.headers["if-match"], body, nowIso());
          switch (outcome.kind) {
            case "notFound":
              throw notFound("The requested item is not found.");
            case "missingIfMatch":
              throw badRequest("The If-Match header must be specified for this kind of request.");
            case "preconditionFailed":
              throw new GraphHttpError(412, "PreconditionFailed", "The request does not match the current version of the item (If-Match).");
            case "limitExceeded":
              throw new GraphHttpError(403, outcome.code, outcome.message);
            case "ok":
              return /return=representation/i.test(String(req.headers.prefer ?? "")) ? { status: 200, body: outcome.resource } : { status: 204 };
          }
        },
      };
    }
    throw notFound(`Resource not found for the segment 'planner'.`);
  }

  async function workflowHook(req: IncomingMessage, tenantId: string, hookId: string): Promise<Reply> {
    if (!dataset.tenant(tenantId)) throw notFound("The workflow was not found.");
    const body = await readJsonObject(req);
    const attachments = body.attachments;
    const first: unknown = Array.isArray(attachments) ? attachments[0] : undefined;
    const card = typeof first === "object" && first !== null ? (first as JsonObject) : undefined;
    const content = card?.content;
    if (body.type !== "message" || card?.contentType !== "application/vnd.microsoft.card.adaptive" || typeof content !== "object" || content === null || (content as JsonObject).type !== "AdaptiveCard") {
      throw badRequest("Expected {\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/vnd.microsoft.card.adaptive\",\"content\":{\"type\":\"AdaptiveCard\",…}}]}.");
    }
    sent.cards.push({ tenantId: tenantId.toLowerCase(), hookId, card: content as JsonObject, body, receivedAt: nowIso() });
    return { status: 202 };
  }

  function send(res: ServerResponse, reply: Reply, requestId: string, clientRequestId: string | undefined, truncate = false): void {
    const headers: Record<string, string> = { "request-id": requestId, "client-request-id": clientRequestId ?? requestId, ...reply.headers };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    let text = JSON.stringify(reply.body);
    if (truncate) text = text.slice(0, Math.floor(text.length / 2));
    res.writeHead(reply.status, { ...headers, "content-type": JSON_TYPE }).end(text);
  }

  function errorReply(error: GraphHttpError, requestId: string, clientRequestId: string | undefined): Reply {
    return {
      status: error.status,
      headers: error.headers,
      body: {
        error: {
          code: error.code,
          message: error.message,
          innerError: { date: new Date().toISOString().replace(/\.\d{3}Z$/, ""), "request-id": requestId, "client-request-id": clientRequestId ?? requestId },
        },
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? "GET";
    const rawPath = req.url ?? "/";
    const url = new URL(rawPath, "http://simulator");
    const requestId = randomUUID();
    const clientRequestId = typeof req.headers["client-request-id"] === "string" ? req.headers["client-request-id"] : undefined;
    const entry: RequestLogEntry = { method, path: rawPath, status: 0, tenantId: undefined, time: new Date().toISOString(), durationMs: 0 };
    const log = (status: number) => {
      entry.status = status;
      entry.durationMs = Math.round(performance.now() - started);
      requests.push(entry);
      if (requests.length > logLimit) requests.splice(0, requests.length - logLimit);
    };
    let reply: Reply;
    let fault: FaultKind | undefined;
    try {
      const hook = /^\/workflows\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
      const graph = /^\/(v1\.0|beta)(\/.*)$/.exec(url.pathname);
      if (hook && method === "POST") {
        entry.tenantId = hook[1];
        fault = faults.draw(`hook:${hook[1] ?? ""}`, method);
        reply = fault === undefined || fault === "slow" ? await workflowHook(req, hook[1] ?? "", hook[2] ?? "") : { status: 0 };
      } else if (graph) {
        const version = graph[1] as ApiVersion;
        const tenant = authenticate(req);
        entry.tenantId = tenant.id;
        const route = graphRoute(method, version, graph[2] ?? "/");
        if (throttle && route.family) {
          const decision = throttle.admit(route.family, tenant.id);
          if (!decision.admitted) {
            entry.throttled = decision.limit;
            const headers: Record<string, string> = {};
            if (decision.retryAfterSeconds !== null) {
              headers["retry-after"] = String(decision.retryAfterSeconds);
              if (throttle.timeScale !== 1) headers["x-ms-retry-after-ms"] = String(Math.ceil(decision.waitMs));
            }
            throw new GraphHttpError(429, "TooManyRequests", "Too many requests.", headers);
          }
        }
        fault = faults.draw(tenant.id, method);
        reply = fault === undefined || fault === "slow" || fault === "malformed" ? await route.handle(tenant, req, url.searchParams, url.pathname) : { status: 0 };
      } else {
        throw notFound(`Resource not found for the segment '${url.pathname.split("/")[1] ?? ""}'.`);
      }
    } catch (error) {
      if (error instanceof GraphHttpError) reply = errorReply(error, requestId, clientRequestId);
      else if (error instanceof ODataError) reply = errorReply(badRequest(error.message), requestId, clientRequestId);
      else reply = errorReply(new GraphHttpError(500, "UnknownError", "An internal error occurred in the simulator."), requestId, clientRequestId);
      fault = undefined;
    }
    if (fault !== undefined) entry.fault = fault;
    switch (fault) {
      case "drop":
        log(0);
        req.socket.destroy();
        return;
      case "429":
        reply = errorReply(new GraphHttpError(429, "TooManyRequests", "Too many requests (injected).", injectedRetryAfter), requestId, clientRequestId);
        break;
      case "500":
      case "502":
      case "503":
      case "504": {
        const code = { "500": "UnknownError", "502": "BadGateway", "503": "ServiceNotAvailable", "504": "GatewayTimeout" }[fault];
        reply = errorReply(new GraphHttpError(Number(fault), code, "Injected fault.", fault === "503" ? injectedRetryAfter : {}), requestId, clientRequestId);
        break;
      }
      case "slow":
        await sleep(faults.slowMs);
        break;
      default:
        break;
    }
    if (reply.page && latencyMs > 0) await sleep(latencyMs);
    send(res, reply, requestId, clientRequestId, fault === "malformed" && reply.body !== undefined);
    log(reply.status);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    tenants: dataset.tenants,
    groundTruth: dataset.groundTruth,
    dataset,
    requests,
    sent,
    now: nowIso,
    setNow(now) {
      const ms = typeof now === "number" ? now : typeof now === "string" ? Date.parse(now) : now.getTime();
      if (Number.isNaN(ms)) throw new RangeError(`not a date: ${String(now)}`);
      nowMs = ms;
    },
    workflowUrl: (tenantId, hookId = "default") => `${url}/workflows/${tenantId}/${hookId}`,
    injectFault: (kind, count = 1) => {
      faults.queue(kind, count);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
