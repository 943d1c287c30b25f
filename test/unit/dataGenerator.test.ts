import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ATTACK_KINDS,
  DAY_MS,
  GraphDataset,
  HOUR_MS,
  datasetFingerprint,
  type PlantedAttack,
} from "../../local/graphSimulator/dataGenerator.js";
import type { DirectoryAudit, SignIn } from "../../local/graphSimulator/records.js";

const NOW = Date.parse("2024-09-20T12:00:00Z");
const make = (seed: number | string, days = 3) =>
  new GraphDataset({ seed, nowMs: NOW, days, users: 12, tenants: [{ displayName: "Contoso", licence: "p2" }, { displayName: "Fabrikam", licence: "free" }] });

function signInsOf(dataset: GraphDataset, attack: PlantedAttack): SignIn[] {
  const start = Date.parse(attack.start);
  const end = Date.parse(attack.end);
  const out: SignIn[] = [];
  for (let h = Math.floor(start / HOUR_MS); h <= Math.floor(end / HOUR_MS); h++) {
    for (const { r } of dataset.signInsInHour(attack.tenantId, h)) if (attack.signInIds.includes(r.id)) out.push(r);
  }
  return out;
}

function auditsOf(dataset: GraphDataset, attack: PlantedAttack): DirectoryAudit[] {
  const day = Math.floor(Date.parse(attack.start) / DAY_MS);
  return dataset.auditsInDay(attack.tenantId, day).map((x) => x.r).filter((r) => attack.auditIds.includes(r.id));
}

function hourIds(dataset: GraphDataset, tenantId: string, hours: number): string[] {
  const last = Math.floor(NOW / HOUR_MS);
  const ids: string[] = [];
  for (let h = last - hours; h <= last; h++) ids.push(...dataset.signInsInHour(tenantId, h).map((x) => x.r.id));
  return ids;
}

describe("GraphDataset", () => {
  it("is deterministic: the same seed gives the same tenants, users, records and ground truth", () => {
    const a = make(42);
    const b = make(42);
    expect(datasetFingerprint(a)).toBe(datasetFingerprint(b));
    expect(a.groundTruth).toEqual(b.groundTruth);
    const tenant = a.tenants[0]?.id ?? "";
    expect(hourIds(a, tenant, 30)).toEqual(hourIds(b, tenant, 30));
    // Order of generation does not matter: an hour regenerated later (cache evicted) is identical.
    const hour = Math.floor(NOW / HOUR_MS) - 5;
    const first = JSON.stringify(a.signInsInHour(tenant, hour));
    hourIds(a, tenant, 60);
    expect(JSON.stringify(a.signInsInHour(tenant, hour))).toBe(first);
  });

  it("differs for a different seed", () => {
    const a = make(42);
    const c = make(43);
    expect(datasetFingerprint(a)).not.toBe(datasetFingerprint(c));
    expect(a.tenants.map((t) => t.id)).not.toEqual(c.tenants.map((t) => t.id));
  });

  it("generates sign-ins newest first, inside their hour, with unique ids and every event type", () => {
    const d = make(7);
    const tenant = d.tenants[0]?.id ?? "";
    const types = new Set<string>();
    const ids = new Set<string>();
    const last = Math.floor(NOW / HOUR_MS);
    for (let h = last - 47; h <= last; h++) {
      const list = d.signInsInHour(tenant, h);
      list.forEach((x, i) => {
        expect(Math.floor(x.t / HOUR_MS)).toBe(h);
        expect(Date.parse(x.r.createdDateTime)).toBe(x.t);
        if (i > 0) expect(x.t).toBeLessThanOrEqual(list[i - 1]?.t ?? Infinity);
        ids.add(x.r.id);
        for (const t of x.r.signInEventTypes) types.add(t);
      });
    }
    expect([...types].sort()).toEqual(["interactiveUser", "managedIdentity", "nonInteractiveUser", "servicePrincipal"]);
    expect(ids.size).toBeGreaterThan(500);
    // Nothing before the data period.
    expect(d.signInsInHour(tenant, Math.floor((NOW - 4 * DAY_MS) / HOUR_MS))).toEqual([]);
  });

  it("shapes sign-ins like Graph's beta sample", () => {
    const sample = JSON.parse(readFileSync(new URL("../fixtures/microsoft-docs/graph-signin-list-beta-example1-response.json", import.meta.url), "utf8")) as { value: Record<string, unknown>[] };
    const sampleKeys = new Set(Object.keys(sample.value[0] ?? {}));
    const d = make(7);
    const record = d.signInsInHour(d.tenants[0]?.id ?? "", Math.floor(NOW / HOUR_MS) - 10)[0]?.r;
    expect(record).toBeDefined();
    // Every field we emit that the sample also has keeps the sample's JSON type.
    for (const [key, value] of Object.entries(record ?? {})) {
      if (!sampleKeys.has(key)) continue;
      const expected = sample.value[0]?.[key];
      if (expected === null || value === null || key === "geoCoordinates") continue;
      expect(`${key}:${Array.isArray(value) ? "array" : typeof value}`).toBe(`${key}:${Array.isArray(expected) ? "array" : typeof expected}`);
    }
    expect(Object.keys(record?.location ?? {})).toEqual(["city", "state", "countryOrRegion", "geoCoordinates"]);
  });

  it("plants every attack kind per tenant, each backed by records that carry it", () => {
    const d = make(99);
    expect(d.groundTruth).toHaveLength(ATTACK_KINDS.length * 2);
    for (const attack of d.groundTruth) {
      const tenant = d.tenant(attack.tenantId);
      expect(tenant).toBeDefined();
      // Inside the tenant's retention at start-up, so the API serves every record.
      expect(Date.parse(attack.start)).toBeGreaterThan(NOW - (tenant?.retentionDays ?? 0) * DAY_MS);
      expect(Date.parse(attack.end)).toBeLessThanOrEqual(NOW);
      const signIns = signInsOf(d, attack);
      const audits = auditsOf(d, attack);
      expect(signIns.map((s) => s.id).sort()).toEqual([...attack.signInIds].sort());
      expect(audits.map((a) => a.id).sort()).toEqual([...attack.auditIds].sort());
      const upns = attack.users.map((u) => u.userPrincipalName);
      for (const s of signIns) {
        expect(upns).toContain(s.userPrincipalName);
        expect(attack.ipAddresses).toContain(s.ipAddress);
        expect(s.createdDateTime >= attack.start.replace(".000Z", "Z") && Date.parse(s.createdDateTime) <= Date.parse(attack.end)).toBe(true);
      }
      switch (attack.kind) {
        case "passwordSpray": {
          expect(new Set(signIns.map((s) => s.ipAddress)).size).toBe(1);
          expect(signIns.every((s) => s.status.errorCode === 50126)).toBe(true);
          expect(new Set(signIns.map((s) => s.userId)).size).toBeGreaterThanOrEqual(5);
          expect(Date.parse(attack.end) - Date.parse(attack.start)).toBeLessThan(HOUR_MS);
          break;
        }
        case "bruteForceThenSuccess": {
          const codes = [...signIns].sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime)).map((s) => s.status.errorCode);
          expect(codes.slice(0, -1).every((c) => c === 50126)).toBe(true);
          expect(codes.at(-1)).toBe(0);
          break;
        }
        case "mfaFatigue": {
          const codes = signIns.map((s) => s.status.errorCode);
          expect(codes.filter((c) => c === 500121).length).toBeGreaterThanOrEqual(5);
          expect(codes).toContain(50074);
          const success = signIns.find((s) => s.status.errorCode === 0);
          expect(success?.authenticationRequirement).toBe("multiFactorAuthentication");
          break;
        }
        case "impossibleTravel":
          expect(new Set(signIns.map((s) => s.location.countryOrRegion)).size).toBe(2);
          expect(attack.riskDetectionIds).toHaveLength(1);
          break;
        case "legacyAuthSuccess":
          expect(signIns.some((s) => s.status.errorCode === 0 && ["IMAP4", "Exchange ActiveSync", "Authenticated SMTP"].includes(s.clientAppUsed))).toBe(true);
          break;
        case "riskySignIn":
          expect(signIns[0]?.riskEventTypes_v2).toEqual(["anonymizedIPAddress"]);
          expect(signIns[0]?.riskLevelDuringSignIn).toBe("high");
          break;
        case "newAdminRoleAssignment":
          expect(audits[0]?.activityDisplayName).toBe("Add member to role");
          expect(audits[0]?.targetResources.some((t) => t.displayName === "Global Administrator")).toBe(true);
          break;
        case "consentToApplication":
          expect(audits[0]?.activityDisplayName).toBe("Consent to application");
          break;
        case "servicePrincipalCredential":
          expect(audits.map((a) => a.activityDisplayName)).toContain("Add service principal credentials");
          break;
      }
    }
  });

  it("plants only the attacks a tenant asks for", () => {
    const d = new GraphDataset({ seed: 1, nowMs: NOW, days: 2, tenants: [{ users: 4, attacks: ["riskySignIn"] }, { users: 4, attacks: [] }] });
    expect(d.groundTruth.map((a) => a.kind)).toEqual(["riskySignIn"]);
  });
});
