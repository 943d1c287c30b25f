import { describe, expect, it } from "vitest";
import {
  normaliseRegion,
  parseTenantImport,
  parseTenantProfile,
  retentionDays,
  reviewDeadline,
  TenantProfileSchema,
  type TenantProfile,
} from "../../shared/domain/tenant.js";
import { fixtureJson } from "../support/fixtures.js";

const sample = fixtureJson("tenants", "tenants.json") as { tenants: Record<string, unknown>[] };

function profile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenantId: "3F2B8C1E-6D4A-4E7B-9C5F-0A1D2E3F4B5C",
    name: "Fabrikam",
    subscriptions: ["11111111-1111-1111-1111-111111111111"],
    regions: ["West Europe"],
    logSources: ["entra-signin"],
    licence: "p1",
    onboardedAt: "2024-03-11T09:00:00Z",
    contacts: { emails: ["soc@fabrikam.example"] },
    ...overrides,
  };
}

function errorsOf(json: unknown): string[] {
  const result = parseTenantProfile(json);
  if (result.ok) throw new Error("expected the profile to be refused");
  return result.errors;
}

describe("TenantProfileSchema", () => {
  it("accepts every profile of the sample file", () => {
    for (const p of sample.tenants) expect(TenantProfileSchema.safeParse(p).success).toBe(true);
    const result = parseTenantImport(sample);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.map((p) => p.licence)).toEqual(["free", "p1", "p2"]);
  });

  it("stores tenant and subscription ids lower-case, and instants in one form", () => {
    const result = parseTenantProfile(profile({ subscriptions: ["45529734-0ED9-4895-A0DF-44B59A5A07F9"], onboardedAt: "2024-03-11T11:00:00+02:00" }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.tenantId).toBe("3f2b8c1e-6d4a-4e7b-9c5f-0a1d2e3f4b5c");
    expect(result.value.subscriptions).toEqual(["45529734-0ed9-4895-a0df-44b59a5a07f9"]);
    expect(result.value.onboardedAt).toBe("2024-03-11T09:00:00.000Z");
  });

  it("accepts the non-RFC GUID of the Azure test-action sample", () => {
    expect(parseTenantProfile(profile({ subscriptions: ["11111111-1111-1111-1111-111111111111"] })).ok).toBe(true);
  });

  it("lists every problem with its path, not just the first", () => {
    const errors = errorsOf(
      profile({
        tenantId: "not-a-guid",
        name: "",
        subscriptions: ["1234", "11111111-1111-1111-1111-111111111111"],
        regions: ["West Europe", "westeurope", "Mars/1"],
        logSources: ["entra-signin", "splunk"],
        licence: "e5",
        onboardedAt: "yesterday",
        contacts: { emails: ["soc@fabrikam.example", "not an address"], teamsWorkflowUrl: "http://prod-1.westeurope.logic.azure.com/workflows/x", escalation: "boss" },
      }),
    );
    const paths = errors.map((e) => e.slice(0, e.indexOf(":")));
    expect(paths).toEqual(
      expect.arrayContaining([
        "tenantId",
        "name",
        "subscriptions.0",
        "regions.1",
        "regions.2",
        "logSources.1",
        "licence",
        "onboardedAt",
        "contacts.emails.1",
        "contacts.teamsWorkflowUrl",
        "contacts.escalation",
      ]),
    );
    expect(errors).toContain("tenantId: must be a tenant id (GUID)");
    expect(errors).toContain("regions.1: duplicate of item 0");
    expect(errors).toContain("contacts.teamsWorkflowUrl: must be an https URL");
  });

  it("refuses unknown keys, at the top and inside contacts and planner", () => {
    const errors = errorsOf(profile({ license: "p1", contacts: { emails: ["a@b.example"], phone: "123", planner: { planId: "p", bucketId: "b", extra: 1 } } }));
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(root\): Unrecognized key: "license"/),
        expect.stringMatching(/^contacts: Unrecognized key: "phone"/),
        expect.stringMatching(/^contacts\.planner: Unrecognized key: "extra"/),
      ]),
    );
  });

  it("refuses an http:// workflow URL but takes https with a port", () => {
    expect(errorsOf(profile({ contacts: { emails: ["a@b.example"], teamsWorkflowUrl: "http://prod-27.westeurope.logic.azure.com/workflows/1" } }))).toEqual([
      "contacts.teamsWorkflowUrl: must be an https URL",
    ]);
    const ok = parseTenantProfile(profile({ contacts: { emails: ["a@b.example"], teamsWorkflowUrl: "https://prod-27.westeurope.logic.azure.com:443/workflows/1" } }));
    expect(ok.ok).toBe(true);
  });

  it("requires a contact e-mail and a log source, and refuses duplicate subscriptions in any case", () => {
    const errors = errorsOf(
      profile({
        logSources: [],
        subscriptions: ["45529734-0ed9-4895-a0df-44b59a5a07f9", "45529734-0ED9-4895-A0DF-44B59A5A07F9"],
        contacts: { emails: [] },
      }),
    );
    expect(errors).toEqual(expect.arrayContaining([
      "logSources: at least one log source is required",
      "contacts.emails: at least one e-mail address is required",
      "subscriptions.1: duplicate of item 0",
    ]));
  });

  it("keeps region display names as written and normalises them for comparison", () => {
    const result = parseTenantProfile(profile({ regions: ["  East   US ", "Global"] }));
    expect(result.ok && result.value.regions).toEqual(["East US", "Global"]);
    expect(normaliseRegion("West Europe")).toBe(normaliseRegion("westeurope"));
    expect(normaliseRegion(" Australia  East")).toBe("australiaeast");
    expect(normaliseRegion("East US")).not.toBe(normaliseRegion("East US 2"));
  });
});

describe("retention and review deadline", () => {
  it.each([
    ["free", 7],
    ["p1", 30],
    ["p2", 30],
  ] as const)("%s keeps sign-in and audit logs %i days", (licence, days) => {
    expect(retentionDays(licence)).toBe(days);
  });

  it("puts the deadline retention days after the window start", () => {
    const start = new Date("2024-09-02T23:00:00Z");
    expect(reviewDeadline(start, "free").toISOString()).toBe("2024-09-09T23:00:00.000Z");
    expect(reviewDeadline(start, "p2").toISOString()).toBe("2024-10-02T23:00:00.000Z");
    expect(start.toISOString()).toBe("2024-09-02T23:00:00.000Z");
  });
});

describe("parseTenantImport", () => {
  it("takes a bare array as well as { tenants }", () => {
    const result = parseTenantImport(sample.tenants);
    expect(result.ok && result.value.length).toBe(3);
  });

  it("prefixes each problem with the profile's position", () => {
    const tenants = structuredClone(sample.tenants);
    (tenants[2] as { contacts: { emails: string[] } }).contacts.emails = ["nope"];
    const result = parseTenantImport({ tenants });
    expect(result).toEqual({ ok: false, errors: ["tenants.2.contacts.emails.0: must be a valid e-mail address"] });
  });

  it("refuses repeated tenant ids and subscriptions claimed by two tenants, beside other problems", () => {
    const [a, b, c] = structuredClone(sample.tenants) as [TenantProfile, TenantProfile, TenantProfile];
    const repeat = { ...a, name: "Fabrikam again" };
    b.subscriptions.push("11111111-1111-1111-1111-111111111111");
    c.licence = "gold" as TenantProfile["licence"];
    const result = parseTenantImport([a, b, c, repeat]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(expect.arrayContaining([
      "tenants.2.licence: must be one of free, p1, p2",
      `tenants.3.tenantId: ${a.tenantId} is repeated (first at tenants.0)`,
      expect.stringMatching(/^tenants\.2\.subscriptions\.0: subscription 11111111-1111-1111-1111-111111111111 is also claimed by tenant 8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f \(tenants\.1\)$/),
    ]));
    expect(result.errors).toHaveLength(3);
  });

  it("refuses other shapes", () => {
    expect(parseTenantImport("tenants")).toEqual({ ok: false, errors: ['(root): expected an array of tenant profiles or { "tenants": [...] }'] });
    const wrapped = parseTenantImport({ tenant: [] });
    expect(wrapped.ok).toBe(false);
    if (!wrapped.ok) expect(wrapped.errors).toEqual(expect.arrayContaining([expect.stringMatching(/^tenants: /), expect.stringMatching(/Unrecognized key: "tenant"/)]));
  });
});
