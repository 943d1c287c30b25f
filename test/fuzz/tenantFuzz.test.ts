import fc from "fast-check";
import functions, { type HttpResponseInit } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { tenantGet, tenantPut, tenantsImport } from "../../functions/tenants.js";
import { TABLES } from "../../shared/adapters/tables.js";
import { parseTenantImport, parseTenantProfile, type TenantProfile } from "../../shared/domain/tenant.js";
import type { Services } from "../../shared/runtime.js";
import { fixtureJson } from "../support/fixtures.js";
import { context } from "../support/http.js";
import { countEntities, testServices, type CapturedLog } from "../support/storage.js";
import { awkwardValue, caseCounts, counted, expectClientProblem, keyBreakingString, leakingLines, mutate, mutations, runs, spiedServices } from "./fuzzSupport.js";

const { HttpRequest } = functions;
const BASE = "http://localhost/api/tenants";
const SAMPLE = fixtureJson("tenants", "tenants.json") as { tenants: TenantProfile[] };

let azurite: EmbeddedAzurite;
let services: Services;
let log: CapturedLog;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  ({ services, log } = testServices(azurite));
});

afterAll(async () => {
  expect(leakingLines(log.lines)).toEqual([]);
  await azurite.stop();
  const total = [...caseCounts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`tenant fuzz cases: ${JSON.stringify(Object.fromEntries(caseCounts))} total ${total}\n`);
});

function put(url: string, text: string, params: Record<string, string> = {}) {
  return new HttpRequest({ method: "PUT", url, headers: { "content-type": "application/json" }, body: { string: text }, params });
}

async function tableCounts(): Promise<number[]> {
  return [await countEntities(azurite, TABLES.tenants), await countEntities(azurite, TABLES.subscriptions)];
}

/** 2xx: every profile reads back equal to what validation produced. 4xx problem: nothing written (port and tables). */
async function check(response: HttpResponseInit, expected: TenantProfile[] | undefined, writes: number, before: number[]): Promise<void> {
  expect(response.status, log.lines.at(-1)).toBeLessThan(500);
  if (response.status === 200 || response.status === 201) {
    expect(expected).toBeDefined();
    for (const profile of expected ?? []) {
      const read = await tenantGet(new HttpRequest({ method: "GET", url: `${BASE}/${profile.tenantId}`, params: { id: profile.tenantId } }), context(), services);
      expect(read.status).toBe(200);
      expect(JSON.parse(read.body as string)).toEqual(profile);
    }
    return;
  }
  expectClientProblem(response);
  expect(writes).toBe(0);
  expect(await tableCounts()).toEqual(before);
}

/** Ids drawn from the sample so that conflicts (409) and replacements (200) happen, plus fresh and broken ones. */
const tenantIds = [...SAMPLE.tenants.map((t) => t.tenantId), "0f0f0f0f-0000-4000-8000-000000000001", "0F0F0F0F-0000-4000-8000-000000000002"];

describe("tenant profiles: 2xx with an equal round trip, or 4xx problem+json with nothing written", () => {
  it("PUT /api/tenants: mutated imports", async () => {
    await fc.assert(fc.asyncProperty(mutations(3), fc.boolean(), counted("PUT /api/tenants mutated", async (list, asArray) => {
      const body = mutate(asArray ? SAMPLE.tenants : SAMPLE, list);
      const before = await tableCounts();
      const spied = spiedServices(services);
      const response = await tenantsImport(put(BASE, JSON.stringify(body)), context(), spied.services);
      const parsed = parseTenantImport(body);
      await check(response, parsed.ok ? parsed.value : undefined, spied.counter.writes, before);
    })), runs(700));
  });

  it("PUT /api/tenants: arbitrary JSON", async () => {
    const arb = fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.record({ tenants: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }) }), fc.array(fc.dictionary(fc.constantFrom("tenantId", "name", "subscriptions", "regions", "logSources", "licence", "onboardedAt", "contacts", "__proto__"), awkwardValue())));
    await fc.assert(fc.asyncProperty(arb, counted("PUT /api/tenants arbitrary", async (body) => {
      const before = await tableCounts();
      const spied = spiedServices(services);
      const response = await tenantsImport(put(BASE, JSON.stringify(body)), context(), spied.services);
      const parsed = parseTenantImport(body);
      await check(response, parsed.ok ? parsed.value : undefined, spied.counter.writes, before);
    })), runs(800));
  });

  it("PUT /api/tenants/{id}: mutated profiles and hostile path ids", async () => {
    const id = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tenantIds) }, { weight: 1, arbitrary: keyBreakingString() }, { weight: 1, arbitrary: fc.constantFrom("' or 1 eq 1 or '", "%27", ")", "PartitionKey", "", " ", `${tenantIds[0] ?? ""}'`) });
    const arb = fc.record({ id, profile: fc.constantFrom(...SAMPLE.tenants), list: fc.option(mutations(3), { nil: undefined }), dropId: fc.boolean() });
    await fc.assert(fc.asyncProperty(arb, counted("PUT /api/tenants/{id}", async ({ id: pathId, profile, list, dropId }) => {
      const base: Record<string, unknown> = { ...profile };
      if (dropId) delete base.tenantId;
      const body = list ? mutate(base, list) : base;
      const before = await tableCounts();
      const spied = spiedServices(services);
      const response = await tenantPut(put(`${BASE}/x`, JSON.stringify(body), { id: pathId }), context(), spied.services);
      let expected: TenantProfile[] | undefined;
      if (response.status === 200 || response.status === 201) {
        const parsed = parseTenantProfile({ ...(body as object), tenantId: pathId.trim().toLowerCase() });
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expected = [parsed.value];
          expect(JSON.parse(response.body as string)).toEqual(parsed.value);
        }
      }
      await check(response, expected, spied.counter.writes, before);
    })), runs(700));
  });
});
