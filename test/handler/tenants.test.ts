import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import functions, { type HttpRequest as HttpRequestType } from "@azure/functions";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { emptyAccount } from "../support/azurite.js";
import { tenantGet, tenantPut, tenantsImport, tenantsList } from "../../functions/tenants.js";
import { registerTenants } from "../../cli/commands/tenants.js";
import { runCli, type CliIo } from "../../cli/program.js";
import { TABLES } from "../../shared/adapters/tables.js";
import { storageAccountFromSettings, type StorageAccount } from "../../shared/adapters/storageAccount.js";
import { loadSettings } from "../../shared/config.js";
import { createServices, type Services } from "../../shared/runtime.js";
import { TenantProfileSchema, type TenantProfile } from "../../shared/domain/tenant.js";
import { fixtureJson, fixturePath } from "../support/fixtures.js";
import { bodyJson, context, expectProblem, header } from "../support/http.js";
import { countEntities, table, testServices } from "../support/storage.js";

const { HttpRequest } = functions;
const BASE = "http://localhost/api/tenants";
const sample = fixtureJson("tenants", "tenants.json") as { tenants: TenantProfile[] };
const [FREE, P1, P2] = sample.tenants as [TenantProfile, TenantProfile, TenantProfile];

let azurite: EmbeddedAzurite;
let services: Services;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
});
afterAll(async () => {
  await azurite.stop();
});
beforeEach(async () => {
  await emptyAccount(azurite, ["table"]);
  ({ services } = testServices(azurite));
});

function put(url: string, body: unknown, params: Record<string, string> = {}): HttpRequestType {
  return new HttpRequest({
    method: "PUT",
    url,
    headers: { "content-type": "application/json" },
    body: { string: typeof body === "string" ? body : JSON.stringify(body) },
    params,
  });
}

function get(url: string, params: Record<string, string> = {}): HttpRequestType {
  return new HttpRequest({ method: "GET", url, params });
}

const importBody = (body: unknown) => tenantsImport(put(BASE, body), context("tenantsImport"), services);
const getOne = (id: string) => tenantGet(get(`${BASE}/${id}`, { id }), context("tenantGet"), services);
const putOne = (id: string, body: unknown) => tenantPut(put(`${BASE}/${id}`, body, { id }), context("tenantPut"), services);
const listAll = () => tenantsList(get(BASE), context("tenantsList"), services);

async function subscriptionIndex(): Promise<Record<string, string>> {
  const rows: Record<string, string> = {};
  for await (const row of table(azurite, TABLES.subscriptions).listEntities<{ tenantId: string }>()) rows[row.rowKey ?? ""] = row.tenantId;
  return rows;
}

function tenant(i: number, subscriptions: string[] = []): TenantProfile {
  const hex = i.toString(16).padStart(12, "0");
  return { ...FREE, tenantId: `00000000-0000-4000-8000-${hex}`, name: `Tenant ${i}`, subscriptions };
}

describe("PUT /api/tenants (import), GET /api/tenants[/{id}]", () => {
  it("imports the sample file, then lists and reads each tenant back", async () => {
    const response = await importBody(sample);
    expect(response.status).toBe(200);
    expect(bodyJson(response)).toEqual({ tenants: 3, subscriptions: 6, tenantIds: sample.tenants.map((t) => t.tenantId) });

    const list = bodyJson(await listAll()) as { tenants: TenantProfile[] };
    expect(list.tenants.map((t) => t.name)).toEqual(["Contoso Health", "Fabrikam Bakeries", "Northwind Logistics"]);

    const one = await getOne(P1.tenantId.toUpperCase());
    expect(one.status).toBe(200);
    expect(bodyJson(one)).toMatchObject({ tenantId: P1.tenantId, licence: "p1", subscriptions: ["45529734-0ed9-4895-a0df-44b59a5a07f9", P1.subscriptions[1]] });

    expect(await subscriptionIndex()).toEqual({
      [FREE.subscriptions[0] ?? ""]: FREE.tenantId,
      "45529734-0ed9-4895-a0df-44b59a5a07f9": P1.tenantId,
      [P1.subscriptions[1] ?? ""]: P1.tenantId,
      "11111111-1111-1111-1111-111111111111": P2.tenantId,
      [P2.subscriptions[1] ?? ""]: P2.tenantId,
      [P2.subscriptions[2] ?? ""]: P2.tenantId,
    });
    const owners = await services.tenants.tenantsForSubscriptions(["11111111-1111-1111-1111-111111111111", "45529734-0ED9-4895-A0DF-44B59A5A07F9", "99999999-9999-9999-9999-999999999999"]);
    expect(owners).toEqual(new Map([["11111111-1111-1111-1111-111111111111", P2.tenantId], ["45529734-0ed9-4895-a0df-44b59a5a07f9", P1.tenantId]]));
  });

  it("answers what it listed when given it back (export = import), and a re-import changes nothing", async () => {
    await importBody(sample.tenants);
    const listed = bodyJson(await listAll());
    const again = await importBody(listed);
    expect(again.status).toBe(200);
    expect(bodyJson(await listAll())).toEqual(listed);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(3);
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(6);
  });

  it("writes nothing when one profile of the import is invalid, and lists every problem", async () => {
    const tenants = structuredClone(sample.tenants) as unknown as Record<string, unknown>[];
    (tenants[1] as { contacts: { emails: string[] } }).contacts.emails = ["ok@northwind.example", "broken"];
    (tenants[2] as { unexpected?: boolean }).unexpected = true;
    const p = expectProblem(await importBody({ tenants }), 400);
    expect(p.errors).toEqual(["tenants.1.contacts.emails.1: must be a valid e-mail address", 'tenants.2: Unrecognized key: "unexpected"']);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(0);
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(0);
  });

  it("refuses a subscription another registered tenant owns (409, naming it) and writes nothing", async () => {
    await importBody([P2]);
    const claim = { ...P1, subscriptions: ["11111111-1111-1111-1111-111111111111"] };
    const p = expectProblem(await importBody([claim]), 409);
    expect(p.errors).toEqual([`tenants.0.subscriptions.0: subscription 11111111-1111-1111-1111-111111111111 belongs to tenant ${P2.tenantId} (Contoso Health); remove it there first`]);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(1);
  });

  it("moves a subscription when both tenants are imported together", async () => {
    await importBody([P1, P2]);
    const moved = [{ ...P2, subscriptions: P2.subscriptions.slice(1) }, { ...P1, subscriptions: [...P1.subscriptions, "11111111-1111-1111-1111-111111111111"] }];
    expect((await importBody(moved)).status).toBe(200);
    expect((await subscriptionIndex())["11111111-1111-1111-1111-111111111111"]).toBe(P1.tenantId);
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(5);
  });

  it("GET of an unknown tenant → 404 problem+json; a malformed id → 400", async () => {
    const p = expectProblem(await getOne("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), 404);
    expect(p.title).toContain("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    expectProblem(await getOne("x"), 400);
  });

  it("refuses an import that is not JSON, or not a list (400)", async () => {
    expectProblem(await importBody("{"), 400);
    const p = expectProblem(await importBody({ tenants: "all" }), 400);
    expect(p.errors?.[0]).toMatch(/^tenants: /);
  });
});

describe("PUT /api/tenants/{id}", () => {
  it("creates (201) then replaces (200) one tenant; the body may omit its id", async () => {
    const { tenantId: _omitted, ...body } = P2;
    const created = await putOne(P2.tenantId, body);
    expect(created.status).toBe(201);
    expect(bodyJson(created)).toEqual(TenantProfileSchema.parse(P2));
    expect(bodyJson(created)).toMatchObject({ onboardedAt: "2024-06-01T00:00:00.000Z" });
    const updated = await putOne(P2.tenantId, { ...P2, licence: "p1" });
    expect(updated.status).toBe(200);
    expect(bodyJson(await getOne(P2.tenantId))).toMatchObject({ licence: "p1" });
    expect(await countEntities(azurite, TABLES.tenants)).toBe(1);
  });

  it("refuses a body whose tenantId differs from the path, and invalid bodies with every problem", async () => {
    const p = expectProblem(await putOne(P2.tenantId, P1), 400);
    expect(p.errors).toEqual([`tenantId: must equal the tenant id in the path (${P2.tenantId}) or be omitted`]);
    const bad = expectProblem(await putOne(P2.tenantId, { ...P2, licence: "e5", regions: ["Mars 1/2"] }), 400);
    expect(bad.errors?.map((e) => e.split(":")[0])).toEqual(["regions.0", "licence"]);
    expectProblem(await putOne(P2.tenantId, []), 400);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(0);
  });

  it("removes the index row of a subscription a tenant dropped, and keeps the others", async () => {
    await importBody(sample);
    const kept = P2.subscriptions.slice(0, 1);
    expect((await putOne(P2.tenantId, { ...P2, subscriptions: kept })).status).toBe(200);
    const index = await subscriptionIndex();
    expect(Object.entries(index).filter(([, owner]) => owner === P2.tenantId).map(([s]) => s)).toEqual(kept);
    expect(Object.keys(index)).toHaveLength(4);
    const dropped = P2.subscriptions[1] ?? "";
    expect((await services.tenants.tenantsForSubscriptions([dropped])).size).toBe(0);
    // Once dropped, another tenant may claim it.
    expect((await putOne(P1.tenantId, { ...P1, subscriptions: [...P1.subscriptions, dropped] })).status).toBe(200);
    expect((await subscriptionIndex())[dropped]).toBe(P1.tenantId);
  });
});

describe("subscription index upkeep across many tenants", () => {
  it("removes dropped subscriptions of a large import (one scan) and leaves other tenants' rows alone", async () => {
    await importBody([P2]);
    const sub = (i: number, k: number) => `30000000-0000-4000-8000-${(i * 10 + k).toString(16).padStart(12, "0")}`;
    await importBody(Array.from({ length: 20 }, (_, i) => tenant(i, [sub(i, 0), sub(i, 1)])));
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(43);
    expect((await importBody(Array.from({ length: 20 }, (_, i) => tenant(i, [sub(i, 1)])))).status).toBe(200);
    const index = await subscriptionIndex();
    expect(Object.keys(index)).toHaveLength(23);
    expect(index[sub(4, 0)]).toBeUndefined();
    expect(index[sub(4, 1)]).toBe(tenant(4).tenantId);
    expect(index["11111111-1111-1111-1111-111111111111"]).toBe(P2.tenantId);
  });

  it("finds owners of many subscriptions at once (one scan) and refuses a large import claiming one of them", async () => {
    const sub = (i: number) => `40000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
    await importBody([P2, tenant(1, Array.from({ length: 80 }, (_, i) => sub(i)))]);
    const owners = await services.tenants.tenantsForSubscriptions([...Array.from({ length: 100 }, (_, i) => sub(i).toUpperCase()), "11111111-1111-1111-1111-111111111111"]);
    expect(owners.size).toBe(81);
    expect(owners.get(sub(79))).toBe(tenant(1).tenantId);
    expect(owners.get("11111111-1111-1111-1111-111111111111")).toBe(P2.tenantId);
    const claim = tenant(2, [...Array.from({ length: 70 }, (_, i) => sub(100 + i)), "11111111-1111-1111-1111-111111111111"]);
    const p = expectProblem(await importBody([claim]), 409);
    expect(p.errors).toEqual([expect.stringMatching(/^tenants\.0\.subscriptions\.70: subscription 11111111-1111-1111-1111-111111111111 belongs to tenant d4e5f6a7-/)]);
  });
});

describe("batching", () => {
  it("imports 250 tenants in transactions of at most 100 per partition", async () => {
    // Count Entity Group Transactions on the wire, with a pipeline policy on each table client (no module mocks).
    let transactions = 0;
    const settings = loadSettings({ AzureWebJobsStorage: azurite.connectionString });
    const real = storageAccountFromSettings(settings);
    const account: StorageAccount = {
      ...real,
      table: (name) => {
        const client = real.table(name);
        client.pipeline.addPolicy({
          name: "countTransactions",
          sendRequest: (request, next) => {
            if (new URL(request.url).pathname.endsWith("/$batch")) transactions += 1;
            return next(request);
          },
        });
        return client;
      },
    };
    const counted = createServices(settings, { account });
    const tenants = Array.from({ length: 250 }, (_, i) => tenant(i, [`10000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`]));
    const response = await tenantsImport(put(BASE, { tenants }), context(), counted);
    expect(response.status).toBe(200);
    expect(bodyJson(response)).toMatchObject({ tenants: 250, subscriptions: 250 });
    // 250 profiles → 3 transactions; 250 index rows → 3 more; nothing stale to delete.
    expect(transactions).toBe(6);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(250);
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(250);
    expect((bodyJson(await listAll()).tenants as unknown[]).length).toBe(250);
  });

  it("stores a profile too long for one string property through the gzip codec and reads it back", async () => {
    const subscriptions = Array.from({ length: 1000 }, (_, i) => `20000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
    const big = tenant(7, subscriptions);
    expect(JSON.stringify(big).length).toBeGreaterThan(32_000);
    expect((await importBody([big])).status).toBe(200);
    expect(bodyJson(await getOne(big.tenantId))).toEqual(TenantProfileSchema.parse(big));
    const row = await table(azurite, TABLES.tenants).getEntity("tenant", big.tenantId);
    expect([row.profile, row.profileChunks, row.subscriptionCount]).toEqual([undefined, 1, 1000]);
    expect(await countEntities(azurite, TABLES.subscriptions)).toBe(1000);
  });
});

describe("storage down", () => {
  it("answers 503 with Retry-After on every route, and never 500", async () => {
    await azurite.stopService("table");
    for (const response of [await listAll(), await getOne(P1.tenantId), await putOne(P1.tenantId, P1), await importBody(sample)]) {
      const p = expectProblem(response, 503);
      expect(p.title).toMatch(/unavailable/i);
      expect(header(response, "retry-after")).toBe("30");
    }
  });
});

describe("blindwindow tenants (CLI)", () => {
  const saved = process.env.AzureWebJobsStorage;
  beforeEach(() => {
    process.env.AzureWebJobsStorage = azurite.connectionString;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.AzureWebJobsStorage;
    else process.env.AzureWebJobsStorage = saved;
  });

  async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t) };
    const code = await runCli(["tenants", ...args], [registerTenants], io);
    return { code, out, err };
  }

  it("imports the sample file and lists it as a table and as JSON", async () => {
    const imported = await cli(["import", fixturePath("tenants", "tenants.json")]);
    expect(imported).toEqual({ code: 0, out: ["imported 3 tenants (6 subscriptions)"], err: [] });

    const listed = await cli(["list"]);
    expect(listed.code).toBe(0);
    const lines = (listed.out[0] ?? "").split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^TENANT\s+NAME\s+LICENCE\s+RETENTION\s+SUBSCRIPTIONS\s+LOG SOURCES$/);
    expect(lines[1]).toMatch(new RegExp(`^${P2.tenantId}\\s+Contoso Health\\s+p2\\s+30 days\\s+3\\s+entra-signin,entra-audit,entra-risk,sentinel,defender-xdr,purview-audit$`));
    expect(lines[2]).toMatch(/Fabrikam Bakeries\s+free\s+7 days\s+1\s+entra-signin,entra-audit$/);

    const json = await cli(["list", "--json"]);
    expect(JSON.parse(json.out.join(""))).toEqual(bodyJson(await listAll()));
  });

  it("refuses an invalid file with one line naming the count and the first problems, exit 1, nothing written", async () => {
    const tenants = structuredClone(sample.tenants) as unknown as Record<string, unknown>[];
    for (const t of tenants) t.licence = "gold";
    const file = path.join(mkdtempSync(path.join(tmpdir(), "bw-tenants-")), "bad.json");
    writeFileSync(file, JSON.stringify(tenants));
    const result = await cli(["import", file]);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      "blindwindow: 3 problems: tenants.0.licence: must be one of free, p1, p2; tenants.1.licence: must be one of free, p1, p2; tenants.2.licence: must be one of free, p1, p2",
    ]);
    expect(await countEntities(azurite, TABLES.tenants)).toBe(0);

    for (const t of tenants) t.name = "";
    writeFileSync(file, JSON.stringify(tenants));
    const all = await cli(["import", file, "--json"]);
    expect(all.code).toBe(1);
    expect(all.err).toHaveLength(1);
    expect(all.err[0]).toMatch(/^blindwindow: 6 problems: .* … \(and 3 more; --json lists all\)$/);
    expect((JSON.parse(all.out.join("")) as { problems: string[] }).problems).toHaveLength(6);
  });

  it("names an unreadable file, and storage that is down, in one line", async () => {
    const missing = await cli(["import", "/nonexistent/tenants.json"]);
    expect([missing.code, missing.err]).toEqual([1, ["blindwindow: cannot read /nonexistent/tenants.json: ENOENT"]]);
    await azurite.stopService("table");
    const down = await cli(["list"]);
    expect(down.code).toBe(1);
    expect(down.err).toEqual([expect.stringMatching(/^blindwindow: Storage is unavailable \(list tenants\)$/)]);
  });
});
