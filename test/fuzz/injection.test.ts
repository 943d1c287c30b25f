import fc from "fast-check";
import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { noticeProcess } from "../../functions/noticeProcess.js";
import { noticeSubmit } from "../../functions/noticeSubmit.js";
import { noticesList } from "../../functions/noticesList.js";
import { tenantGet, tenantPut } from "../../functions/tenants.js";
import { windowsList } from "../../functions/windows.js";
import type { Services } from "../../shared/runtime.js";
import { fixtureJson } from "../support/fixtures.js";
import { context, jsonRequest } from "../support/http.js";
import { peekAll, testServices, type CapturedLog } from "../support/storage.js";
import { caseCounts, counted, expectClientProblem, leakingLines, runs } from "./fuzzSupport.js";

const { HttpRequest } = functions;
const A = "3f2b8c1e-6d4a-4e7b-9c5f-0a1d2e3f4b5c";
const B = "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f";
const PIR = fixtureJson("notices", "manual-sept-2024-pir.json") as Record<string, unknown>;
const INJECTIONS = [
  "' or 1 eq 1 or '", `${A}' or PartitionKey ne '`, `${A}' or 1 eq 1 or '`, "%27", `${A}%27`, ")", `${A})`, "PartitionKey", "PartitionKey ne ''",
  "true' or 'a' eq 'a", "true or true", "true)", "'", "''", `${A} or PartitionKey eq '${B}'`, "suspected' or status ne '", "resolved or 1 eq 1",
];

let azurite: EmbeddedAzurite;
let services: Services;
let log: CapturedLog;

const get = (url: string, params: Record<string, string> = {}) => new HttpRequest({ method: "GET", url, params });
const query = (path: string, q: Record<string, string>) => `http://localhost${path}?${new URLSearchParams(q).toString()}`;

async function windowsOf(q: Record<string, string>) {
  return windowsList(get(query("/api/windows", q)), context(), services);
}

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  ({ services, log } = testServices(azurite));
  // Two tenants, each named by its own PIR, so each gets windows of its own.
  const profile = (tenantId: string, name: string) => ({ tenantId, name, subscriptions: [], regions: ["Global"], logSources: ["entra-signin", "entra-audit", "sentinel"], licence: "p1", onboardedAt: "2024-01-01T00:00:00Z", contacts: { emails: ["soc@example.com"] } });
  for (const [id, name] of [[A, "Tenant A"], [B, "Tenant B"]] as const) {
    const put = new HttpRequest({ method: "PUT", url: `http://localhost/api/tenants/${id}`, params: { id }, headers: { "content-type": "application/json" }, body: { string: JSON.stringify(profile(id, name)) } });
    expect((await tenantPut(put, context(), services)).status).toBe(201);
    const response = await noticeSubmit(jsonRequest("http://localhost/api/notices", { ...PIR, id: `PIR-${name}`, tenants: [id] }), context(), services);
    expect(response.status).toBe(202);
  }
  for (const message of await peekAll(azurite, "notices")) expect((await noticeProcess(message, context(), services)).outcome).toBe("processed");
});

afterAll(async () => {
  expect(leakingLines(log.lines)).toEqual([]);
  await azurite.stop();
  const total = [...caseCounts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`injection fuzz cases: ${JSON.stringify(Object.fromEntries(caseCounts))} total ${total}\n`);
});

describe("OData injection through query parameters and path ids is refused", () => {
  it("each tenant sees only its own windows", async () => {
    for (const [tenant, other] of [[A, B], [B, A]] as const) {
      const response = await windowsOf({ tenant });
      expect(response.status).toBe(200);
      const { windows } = JSON.parse(response.body as string) as { windows: { tenantId: string }[] };
      expect(windows.length).toBeGreaterThan(0);
      expect(windows.every((w) => w.tenantId === tenant)).toBe(true);
      expect(JSON.stringify(windows)).not.toContain(other);
    }
  });

  it("GET /api/windows?tenant=…&status=… with injection attempts → 400, never another tenant's rows", async () => {
    for (const tenant of INJECTIONS) expectClientProblem(await windowsOf({ tenant }));
    for (const status of INJECTIONS) expectClientProblem(await windowsOf({ tenant: A, status }));
    expectClientProblem(await windowsOf({ tenant: A, $filter: "PartitionKey ne ''" }));
  });

  it("GET /api/notices?unmatched=… with injection attempts → 400", async () => {
    for (const unmatched of INJECTIONS) expectClientProblem(await noticesList(get(query("/api/notices", { unmatched })), context(), services));
  });

  it("GET /api/tenants/{id} with injection attempts → 400 or 404, never a profile", async () => {
    for (const id of [...INJECTIONS, `${A} `.repeat(2), `${A}\u0000`, `${A}/../${B}`]) {
      const response = await tenantGet(get(`http://localhost/api/tenants/x`, { id }), context(), services);
      expect([400, 404]).toContain(expectClientProblem(response));
    }
  });

  it("fuzzed query values: 400, or 200 with only the asked tenant's rows", async () => {
    const value = fc.oneof(fc.constantFrom(...INJECTIONS), fc.constantFrom(A, B, A.toUpperCase()).chain((t) => fc.string({ maxLength: 12 }).map((s) => `${t}${s}`)), fc.string({ maxLength: 30 }));
    const arb = fc.record({ tenant: value, status: fc.oneof(value, fc.constantFrom("suspected", "confirmed", "resolved")) }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(arb, counted("GET /api/windows fuzzed query", async (q) => {
      const response = await windowsOf(q);
      if (response.status !== 200) {
        expectClientProblem(response);
        return;
      }
      const { windows } = JSON.parse(response.body as string) as { windows: { tenantId: string; status: string }[] };
      if (q.tenant !== undefined) expect(windows.every((w) => w.tenantId === q.tenant?.toLowerCase())).toBe(true);
      if (q.status !== undefined) expect(windows.every((w) => w.status === q.status)).toBe(true);
    })), runs(300));
  });
});

describe("ids that look like OData or key syntax are stored under escaped keys", () => {
  it("a notice id with OData and key syntax is its own partition; listing revisions of another id never returns it", async () => {
    const ids = ["x' or PartitionKey ne '", "x", "x~notice", "manual~x", "x' or RowKey eq 'notice", "x%27", "x')", "r~x"];
    for (const id of ids) expect((await noticeSubmit(jsonRequest("http://localhost/api/notices", { ...PIR, id, title: `t ${id}` }), context(), services)).status).toBe(202);
    for (const id of ids) {
      const revisions: string[] = [];
      for await (const r of services.notices.listRevisions("manual", id)) revisions.push(r.notice.id);
      expect(revisions).toEqual([id]);
      expect((await services.notices.getNotice("manual", id))?.title).toBe(`t ${id}`);
    }
  });
});
