import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AccessToken } from "@azure/identity";
import { startGraphSimulator, type GraphSimulator, type RequestLogEntry } from "../../local/graphSimulator/startGraphSimulator.js";
import { loadSettings } from "../../shared/config.js";
import { createGraphClientFactory, retryAfterMs, type GraphClientFactoryOptions } from "../../shared/adapters/graph/graphClientFactory.js";
import { LoopbackSimulatorCredential, graphConfigurationFromSettings, isLoopbackHttpUrl, type GraphCredentials } from "../../shared/adapters/graph/graphCredentials.js";
import { GraphRequestError, graphErrorCodeForStatus } from "../../shared/adapters/graph/graphErrors.js";
import { PageCheckpointSchema, firstPageUrl, graphFilter, type PageCheckpoint } from "../../shared/adapters/graph/graphPager.js";
import { ThrottleBudget } from "../../shared/adapters/graph/throttleBudget.js";

const NOW = "2024-09-20T12:00:00Z";
const FROM = new Date("2024-09-18T00:00:00Z");
const tenants = [
  { displayName: "Contoso", licence: "p2" as const, users: 6 },
  { displayName: "Fabrikam", licence: "p2" as const, users: 4 },
];

/** A budget that never waits: lets the simulator's own limits answer (to provoke 429s on purpose). */
const unlimited = () => new ThrottleBudget({ timeScale: 1e9 });

function factory(sim: GraphSimulator, options: GraphClientFactoryOptions = {}) {
  return createGraphClientFactory(loadSettings({ BLINDWINDOW_GRAPH_BASE_URL: sim.url }), options);
}

/** Against a simulator with throttling off the client budget is not under test: it must not slow paging down. */
function unthrottled(sim: GraphSimulator, options: GraphClientFactoryOptions = {}) {
  return factory(sim, { budget: unlimited(), ...options });
}

async function caught(promise: Promise<unknown>): Promise<GraphRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphRequestError) return error;
    throw error;
  }
  throw new Error("expected a GraphRequestError");
}

/** Milliseconds between consecutive log entries (wall-clock arrival times at the simulator). */
function gaps(entries: readonly RequestLogEntry[]): number[] {
  return entries.slice(1).map((e, i) => Date.parse(e.time) - Date.parse(entries[i]?.time ?? e.time));
}

const signInQuery = { select: ["id", "createdDateTime", "userPrincipalName"], filter: graphFilter`createdDateTime ge ${FROM}`, timestampField: "createdDateTime" } as const;

async function ids(pages: AsyncIterable<{ items: unknown[] }>): Promise<{ ids: string[]; pages: number }> {
  const out: string[] = [];
  let count = 0;
  for await (const page of pages) {
    count++;
    for (const item of page.items) out.push((item as { id: string }).id);
  }
  return { ids: out, pages: count };
}

describe("Graph adapter: paging and checkpoints (throttling off)", () => {
  let sim: GraphSimulator;
  let tenant: string;
  beforeAll(async () => {
    sim = await startGraphSimulator({ seed: 21, now: NOW, days: 3, throttling: false, tenants });
    tenant = sim.tenants[0]?.id ?? "";
  });
  afterAll(async () => {
    await sim.close();
  });

  it("follows @odata.nextLink across many pages with $select, exactly the records of one big page", async () => {
    const graph = unthrottled(sim)(tenant);
    const whole = await ids(graph.pages("/auditLogs/signIns", { ...signInQuery, top: 1000 }));
    expect(whole.pages).toBe(1);
    expect(whole.ids.length).toBeGreaterThan(40);

    const before = sim.requests.length;
    const seenKeys = new Set<string>();
    let pages = 0;
    const paged: string[] = [];
    for await (const page of graph.pages<Record<string, unknown>>("/auditLogs/signIns", { ...signInQuery, top: 4 })) {
      pages++;
      for (const item of page.items) {
        Object.keys(item).forEach((k) => seenKeys.add(k));
        paged.push(String(item.id));
      }
    }
    // Graph may end a stream with an empty page after a full one; the simulator does so too.
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(whole.ids.length / 4));
    expect(pages).toBeLessThanOrEqual(Math.ceil(whole.ids.length / 4) + 1);
    expect(paged).toEqual(whole.ids);
    expect(new Set(paged).size).toBe(paged.length);
    expect([...seenKeys].sort()).toEqual(["createdDateTime", "id", "userPrincipalName"]);
    // Every page went over the wire with the selection and the filter, URL-encoded.
    const requests = sim.requests.slice(before);
    expect(requests).toHaveLength(pages);
    expect(requests[0]?.path).toContain("$select=id%2CcreatedDateTime%2CuserPrincipalName");
    expect(requests[0]?.path).toContain("$filter=createdDateTime%20ge%202024-09-18T00%3A00%3A00.000Z");
    expect(requests.slice(1).every((r) => r.path.includes("$skiptoken="))).toBe(true);
  });

  it("resumes from a persisted checkpoint mid-stream: exactly the remaining records, no duplicates", async () => {
    const graph = unthrottled(sim)(tenant);
    const whole = await ids(graph.pages("/auditLogs/signIns", { ...signInQuery, top: 1000 }));
    const firstRun: string[] = [];
    let saved: string | undefined;
    let pagesRead = 0;
    for await (const page of graph.pages<{ id: string; createdDateTime: string }>("/auditLogs/signIns", { ...signInQuery, top: 5 })) {
      firstRun.push(...page.items.map((i) => i.id));
      saved = JSON.stringify(page.checkpoint); // what a caller persists after every page
      expect(page.checkpoint.lastTimestamp).toBe(page.items.at(-1)?.createdDateTime);
      if (++pagesRead === 3) break; // the instance dies here
    }
    const checkpoint: PageCheckpoint = PageCheckpointSchema.parse(JSON.parse(saved ?? "null"));
    expect(checkpoint.nextLink).toMatch(/^https:\/\/graph\.microsoft\.com\/v1\.0\/auditLogs\/signIns\?/);

    // A new process (a new factory) resumes from the checkpoint alone.
    const resumed = await ids(unthrottled(sim)(tenant).pages("/auditLogs/signIns", { ...signInQuery, top: 5, checkpoint }));
    expect(firstRun).toEqual(whole.ids.slice(0, 15));
    expect(resumed.ids).toEqual(whole.ids.slice(15));
    expect(new Set([...firstRun, ...resumed.ids]).size).toBe(whole.ids.length);
    // A finished stream's checkpoint yields nothing.
    expect((await ids(graph.pages("/auditLogs/signIns", { checkpoint: { nextLink: null, lastTimestamp: "x" } }))).pages).toBe(0);
  });

  it("recovers from 503, dropped connections, 500/502 and malformed pages within bounded retries", async () => {
    const graph = unthrottled(sim, { backoffBaseMs: 10, backoffMaxMs: 40 })(tenant);
    const clean = await ids(graph.pages("/auditLogs/signIns", { ...signInQuery, top: 20 }));
    for (const kind of ["503", "drop", "malformed", "500", "502", "504"] as const) {
      const before = sim.requests.length;
      sim.injectFault(kind, 2);
      const again = await ids(graph.pages("/auditLogs/signIns", { ...signInQuery, top: 20 }));
      expect(again.ids, kind).toEqual(clean.ids);
      const log = sim.requests.slice(before);
      expect(log.filter((r) => r.fault === kind), kind).toHaveLength(2);
      expect(log, kind).toHaveLength(clean.pages + 2);
    }
  });

  it("gives up after maxAttempts with a retryable typed error", async () => {
    const graph = unthrottled(sim, { backoffBaseMs: 5, backoffMaxMs: 5, maxAttempts: 3 })(tenant);
    const before = sim.requests.length;
    sim.injectFault("500", 3);
    const error = await caught(graph.get("/auditLogs/signIns?$top=1"));
    expect(error).toMatchObject({ code: "graph-unavailable", graphStatus: 500, retryable: true });
    expect(sim.requests.length - before).toBe(3);

    sim.injectFault("drop", 3);
    expect(await caught(graph.get("/auditLogs/signIns?$top=1"))).toMatchObject({ code: "graph-unavailable", graphStatus: 0, retryable: true });
    sim.injectFault("malformed", 3);
    expect(await caught(graph.get("/auditLogs/signIns?$top=1"))).toMatchObject({ code: "graph-unavailable", retryable: true });
  });

  it("surfaces 403 (unknown tenant) and 401 (bad token) as typed errors, never retried", async () => {
    const stranger = "0b0b0b0b-0000-4000-8000-000000000403";
    const before = sim.requests.length;
    const forbidden = await caught(unthrottled(sim)(stranger).get("/admin/serviceAnnouncement/issues"));
    expect(forbidden).toMatchObject({ code: "graph-forbidden", graphStatus: 403, retryable: false, details: { graphErrorCode: "Authorization_RequestDenied" } });
    expect(sim.requests.length - before).toBe(1);
    // Graph's own code tells a tenant without the licence the sign-in logs API needs from a missing permission.
    expect(graphErrorCodeForStatus(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")).toBe("graph-licence-required");
    expect(graphErrorCodeForStatus(403, "Authorization_RequestDenied")).toBe("graph-forbidden");

    const garbage: GraphCredentials = {
      kind: "client-secret",
      describe: () => "test",
      forTenant: () => ({ getToken: (): Promise<AccessToken> => Promise.resolve({ token: "not-a-jwt", expiresOnTimestamp: Date.now() + 60_000 }) }),
    };
    const unauthorized = await caught(unthrottled(sim, { credentials: garbage })(tenant).get("/admin/serviceAnnouncement/issues"));
    expect(unauthorized).toMatchObject({ code: "graph-unauthorized", graphStatus: 401, retryable: false });
    expect(sim.requests.length - before).toBe(2);

    const failing: GraphCredentials = {
      kind: "client-secret",
      describe: () => "test",
      forTenant: () => ({
        getToken: () => Promise.reject(Object.assign(new Error("AADSTS7000215: Invalid client secret provided."), { name: "AuthenticationError" })),
      }),
    };
    expect(await caught(unthrottled(sim, { credentials: failing })(tenant).get("/admin/serviceAnnouncement/issues"))).toMatchObject({ code: "graph-unauthorized", retryable: false });
    expect(sim.requests.length - before).toBe(2);
  });

  it("refuses a page that is not a collection and a nextLink that leaves Graph", async () => {
    const graph = unthrottled(sim)(tenant);
    const single = graph.pages(`/admin/serviceAnnouncement/issues/${(sim.dataset.serviceIssues()[0]?.id) ?? ""}`);
    expect(await caught(ids(single))).toMatchObject({ code: "graph-invalid-response" });
    // A stored checkpoint's nextLink is checked before anything is sent: our bearer token only ever goes to Graph.
    const before = sim.requests.length;
    const evil = graph.pages("/x", { checkpoint: { nextLink: "https://evil.example/steal", lastTimestamp: null } });
    const refused = await caught(ids(evil));
    expect(refused).toBeInstanceOf(GraphRequestError);
    expect(refused).toMatchObject({ code: "graph-invalid-response" });
    expect(sim.requests.length).toBe(before);
  });
});

describe("Graph adapter: throttling against the simulator's limits", () => {
  let sim: GraphSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("obeys Retry-After: the retry arrives no earlier than the server asked", async () => {
    sim = await startGraphSimulator({ seed: 5, now: NOW, days: 1, throttling: false, tenants });
    const tenant = sim.tenants[0]?.id ?? "";
    const graph = factory(sim, { backoffBaseMs: 1 })(tenant);
    sim.injectFault("429", 2); // 429 with Retry-After: 1
    await graph.get("/admin/serviceAnnouncement/issues?$top=1");
    const log = sim.requests.filter((r) => r.tenantId === tenant);
    expect(log.map((r) => r.status)).toEqual([429, 429, 200]);
    for (const gap of gaps(log)) expect(gap).toBeGreaterThanOrEqual(1000 - 1); // ms resolution of the log
    expect(graph.tenantId).toBe(tenant);
  });

  it("obeys the scaled x-ms-retry-after-ms of a throttled reports call, and pauses the tenant for every caller", async () => {
    sim = await startGraphSimulator({ seed: 5, now: NOW, days: 1, timeScale: 20, tenants });
    const tenant = sim.tenants[0]?.id ?? "";
    const graph = factory(sim, { budget: unlimited() })(tenant);
    await Promise.all(Array.from({ length: 8 }, () => graph.get("/auditLogs/signIns?$top=1&$select=id")));
    const log = sim.requests.filter((r) => r.tenantId === tenant);
    const ok = log.filter((r) => r.status === 200);
    expect(ok).toHaveLength(8);
    expect(log.some((r) => r.status === 429)).toBe(true);
    // Granted requests never more than 5 per (scaled) 500 ms window, because retries waited as told.
    const times = ok.map((r) => Date.parse(r.time));
    for (let i = 5; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 5] ?? 0)).toBeGreaterThanOrEqual(500 - 2);
  });

  it("backs off with bounded jitter when Identity Protection answers 429 without Retry-After", async () => {
    sim = await startGraphSimulator({ seed: 5, now: NOW, days: 1, tenants });
    const tenant = sim.tenants[0]?.id ?? "";
    const randoms = [0, 1, 0.5, 0.25];
    let r = 0;
    const base = 200;
    const graph = factory(sim, { budget: unlimited(), backoffBaseMs: base, backoffMaxMs: 10_000, random: () => randoms[r++ % randoms.length] ?? 0 })(tenant);
    await graph.get("/identityProtection/riskDetections?$top=1");
    await graph.get("/identityProtection/riskDetections?$top=1"); // within the same second: 429 without Retry-After
    const log = sim.requests.filter((x) => x.tenantId === tenant).slice(1);
    expect(log.at(-1)?.status).toBe(200);
    const statuses = log.map((x) => x.status);
    expect(statuses.slice(0, -1).every((s) => s === 429)).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(3);
    // Attempt k waits within [d/2, d], d = base·2^(k−1); with random 0 → d/2, 1 → d, 0.5 → 3d/4.
    const expected = [base / 2, 2 * base, (3 / 4) * 4 * base];
    gaps(log).forEach((gap, k) => {
      const d = base * 2 ** k;
      expect(gap).toBeGreaterThanOrEqual(d / 2 - 2);
      expect(gap).toBeLessThanOrEqual(d + 150);
      expect(gap).toBeGreaterThanOrEqual((expected[k] ?? 0) - 2);
    });

    // Bounded: with 2 attempts the call fails typed, after exactly 2 requests.
    const bounded = factory(sim, { budget: unlimited(), backoffBaseMs: 1, maxAttempts: 2 })(tenant);
    const before = sim.requests.length;
    await bounded.get("/identityProtection/riskDetections?$top=1").catch(() => undefined);
    const error = await caught(bounded.get("/identityProtection/riskDetections?$top=1"));
    expect(error).toMatchObject({ code: "graph-throttled", graphStatus: 429, retryable: true });
    expect(sim.requests.slice(before).filter((x) => x.status === 429).length).toBeGreaterThanOrEqual(2);
  });

  it("never exceeds the budget: concurrent readers of one tenant get no 429 with Graph's limits on, pages slower than the arrival allowance", async () => {
    const timeScale = 25; // reports: 5 per 400 ms per tenant
    // Pages take 100 ms, so tokens count from the arrival allowance, not the answer. The allowance is 2 s at scale 1
    // (80 ms here, not 12): test workers share the machine, and a request held up longer than the allowance by a
    // busy event loop is exactly the case the allowance must cover.
    sim = await startGraphSimulator({ seed: 8, now: NOW, days: 2, timeScale, tenants, latencyMs: 100 });
    const [a, b] = sim.tenants.map((t) => t.id);
    const graph = factory(sim, { timeScale, budget: new ThrottleBudget({ timeScale, arrivalMs: 2000 }) });
    const readers = [a, a, a, a, a, a, b, b].map((tenant) => ids(graph(tenant ?? "").pages("/auditLogs/signIns", { ...signInQuery, top: 10 })));
    const results = await Promise.all(readers);
    expect(results.every((x) => x.ids.length > 0)).toBe(true);
    const graphRequests = sim.requests.filter((r) => r.path.includes("/auditLogs/"));
    expect(graphRequests.length).toBeGreaterThan(40);
    expect(graphRequests.filter((r) => r.status === 429).map((r) => `${r.time} ${r.throttled ?? ""}`)).toEqual([]);
    expect(graph.stats()).toMatchObject({ throttled: 0, retries: 0 });
    expect(graph.budget.stats().waits).toBeGreaterThan(0);
  });
});

describe("Graph credentials and helpers", () => {
  const app = "11111111-2222-4333-8444-555555555555";
  it("chooses the credential from settings, federated first, and never describes a secret", () => {
    const secret = "s3cr3t-value-never-logged";
    const bySecret = graphConfigurationFromSettings(loadSettings({ BLINDWINDOW_GRAPH_CLIENT_ID: app, BLINDWINDOW_GRAPH_CLIENT_SECRET: secret }));
    expect(bySecret).toMatchObject({ configured: true, credentials: { kind: "client-secret" } });
    if (bySecret.configured) {
      expect(bySecret.credentials.describe()).not.toContain(secret);
      expect(bySecret.credentials.forTenant("AAAAAAAA-0000-4000-8000-000000000001")).toBe(bySecret.credentials.forTenant("aaaaaaaa-0000-4000-8000-000000000001"));
    }
    expect(graphConfigurationFromSettings(loadSettings({
      BLINDWINDOW_GRAPH_CLIENT_ID: app, BLINDWINDOW_GRAPH_CLIENT_SECRET: secret, BLINDWINDOW_GRAPH_CERTIFICATE_PATH: "/nowhere.pem",
      BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID: "66666666-7777-4888-8999-000000000000",
    }))).toMatchObject({ configured: true, credentials: { kind: "federated-managed-identity" } });
    expect(graphConfigurationFromSettings(loadSettings({ BLINDWINDOW_GRAPH_CLIENT_ID: app, BLINDWINDOW_GRAPH_CERTIFICATE_PATH: "/nowhere.pem" })))
      .toMatchObject({ configured: true, credentials: { kind: "client-certificate" } });
    expect(graphConfigurationFromSettings(loadSettings({ BLINDWINDOW_GRAPH_CLIENT_ID: app }))).toMatchObject({ configured: false });
    expect(graphConfigurationFromSettings(loadSettings({}))).toMatchObject({ configured: false, reason: "BLINDWINDOW_GRAPH_CLIENT_ID is not set" });
    expect(graphConfigurationFromSettings(loadSettings({ BLINDWINDOW_GRAPH_BASE_URL: "https://graph.example.com" }))).toMatchObject({ configured: false });
    expect(graphConfigurationFromSettings(loadSettings({ BLINDWINDOW_GRAPH_BASE_URL: "http://127.0.0.1:5555" })))
      .toMatchObject({ configured: true, credentials: { kind: "loopback-simulator" } });
    expect(() => createGraphClientFactory(loadSettings({}))).toThrow(/Graph is not configured/);
  });

  it("mints simulator tokens only for a loopback http base URL", async () => {
    for (const url of ["http://127.0.0.1:1", "http://localhost:8080", "http://[::1]:9"]) expect(isLoopbackHttpUrl(url), url).toBe(true);
    for (const url of ["https://127.0.0.1:1", "http://graph.microsoft.com", "http://127.0.0.1.evil.example", "http://10.0.0.1"]) {
      expect(isLoopbackHttpUrl(url), url).toBe(false);
      expect(() => new LoopbackSimulatorCredential("t", url), url).toThrow(/loopback/);
    }
    const token = await new LoopbackSimulatorCredential("abc", "http://127.0.0.1:1").getToken();
    const claims = JSON.parse(Buffer.from(token.token.split(".")[1] ?? "", "base64url").toString("utf8")) as { tid: string };
    expect(claims.tid).toBe("abc");
  });

  it("escapes filter values in one place and reads Retry-After in all its forms", () => {
    expect(graphFilter`title eq ${"O'Brien & co"} and isResolved eq ${false} and lastModifiedDateTime ge ${new Date("2024-09-01T00:00:00Z")}`)
      .toBe("title eq 'O''Brien & co' and isResolved eq false and lastModifiedDateTime ge 2024-09-01T00:00:00.000Z");
    expect(firstPageUrl("/admin/serviceAnnouncement/issues", { filter: "title eq 'a&b'", top: 5, select: ["id"] }))
      .toBe("https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/issues?$select=id&$filter=title%20eq%20'a%26b'&$top=5");
    expect(() => firstPageUrl("/x?$top=1", {})).toThrow(RangeError);
    expect(retryAfterMs(new Headers({ "retry-after": "7" }))).toBe(7000);
    expect(retryAfterMs(new Headers({ "retry-after": "1", "x-ms-retry-after-ms": "40" }))).toBe(40);
    expect(retryAfterMs(new Headers({ "retry-after": new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
