import { describe, expect, it } from "vitest";
import type { AttackKind, GraphDataset, PlantedAttack } from "../../../local/graphSimulator/dataGenerator.js";
import type { Detection, RuleId } from "../../../shared/domain/finding.js";
import { DetectionSchema, MAX_SAMPLE_IDS } from "../../../shared/domain/finding.js";
import { audits, detectAll, makeDataset, signIns, type TenantDetections } from "./dataset.js";

/** The attack's sign-ins in stream order (ascending time, then id), read back from the dataset. */
function plantedInStreamOrder(dataset: GraphDataset, attack: PlantedAttack): string[] {
  const ids = new Set(attack.signInIds);
  const out: string[] = [];
  for (const r of signIns(dataset, attack.tenantId, Date.parse(attack.start), Date.parse(attack.end))) if (ids.has(r.id)) out.push(r.id);
  expect(out).toHaveLength(ids.size);
  return out;
}

/** The rule(s) that must find each planted attack kind. */
const RULES_FOR: Readonly<Record<AttackKind, readonly RuleId[]>> = {
  passwordSpray: ["password-spray"],
  bruteForceThenSuccess: ["brute-force-success"],
  mfaFatigue: ["mfa-fatigue"],
  impossibleTravel: ["impossible-travel"],
  legacyAuthSuccess: ["legacy-auth-success"],
  riskySignIn: ["risky-signin", "anonymizer-ip"],
  newAdminRoleAssignment: ["role-assignment"],
  consentToApplication: ["consent-grant"],
  servicePrincipalCredential: ["app-credential-added"],
};

const DAYS = 14;
const TENANTS = [
  { displayName: "Small", users: 25, licence: "free" as const },
  { displayName: "Large", users: 200, licence: "p2" as const },
  { displayName: "Small quiet", users: 25, licence: "free" as const, attacks: [] },
  { displayName: "Large quiet", users: 200, licence: "p2" as const, attacks: [] },
];

function all(d: TenantDetections): Detection[] {
  return [...d.signIns, ...d.audits, ...d.risks];
}

function findingsFor(attack: PlantedAttack, detections: TenantDetections): Map<RuleId, Detection[]> {
  const out = new Map<RuleId, Detection[]>();
  for (const rule of RULES_FOR[attack.kind]) out.set(rule, all(detections).filter((d) => d.rule === rule));
  return out;
}

function one(list: Detection[] | undefined, predicate: (d: Detection) => boolean): Detection {
  const matching = (list ?? []).filter(predicate);
  expect(matching).toHaveLength(1);
  return matching[0] as Detection;
}

function assertFound(dataset: GraphDataset, attack: PlantedAttack, detections: TenantDetections): void {
  const byRule = findingsFor(attack, detections);
  const victim = attack.users[0]?.id ?? "";
  const ip = attack.ipAddresses[0] ?? "";
  const last = attack.signInIds[attack.signInIds.length - 1] ?? "";
  switch (attack.kind) {
    case "passwordSpray": {
      const d = one(byRule.get("password-spray"), (x) => x.subject.kind === "ip" && x.subject.id === ip);
      // Every record of the spray, and nothing else, is in the detection.
      expect(d.count).toBe(attack.signInIds.length);
      expect(d.sampleIds).toEqual(plantedInStreamOrder(dataset, attack).slice(0, MAX_SAMPLE_IDS));
      expect(d.ipAddresses).toEqual([ip]);
      expect(d.firstSeen).toBe(attack.start);
      expect(d.lastSeen).toBe(attack.end);
      expect(d.explanation).toContain(`for ${attack.users.length} distinct users`);
      break;
    }
    case "bruteForceThenSuccess":
    case "mfaFatigue": {
      const rule = attack.kind === "mfaFatigue" ? "mfa-fatigue" : "brute-force-success";
      const d = one(byRule.get(rule), (x) => x.subject.kind === "user" && x.subject.id === victim);
      expect(d.subject.name).toBe(attack.users[0]?.userPrincipalName);
      expect(d.count).toBe(attack.signInIds.length);
      expect(d.sampleIds).toEqual(plantedInStreamOrder(dataset, attack).slice(0, MAX_SAMPLE_IDS));
      expect(d.ipAddresses).toEqual([ip]);
      expect(d.severity).toBe("high");
      expect([d.firstSeen, d.lastSeen]).toEqual([attack.start, attack.end]);
      break;
    }
    case "impossibleTravel": {
      const d = one(byRule.get("impossible-travel"), (x) => x.subject.id === victim);
      // The far sign-in, and the home one before it (planted or background), are in the samples.
      expect(d.sampleIds).toContain(last);
      expect(d.ipAddresses).toContain(attack.ipAddresses[1]);
      expect(Date.parse(d.firstSeen)).toBeLessThanOrEqual(Date.parse(attack.end));
      break;
    }
    case "legacyAuthSuccess": {
      const d = one(byRule.get("legacy-auth-success"), (x) => x.subject.id === victim);
      expect(d.sampleIds).toEqual([last]);
      expect(d.ipAddresses).toEqual([ip]);
      break;
    }
    case "riskySignIn": {
      for (const rule of ["risky-signin", "anonymizer-ip"] as const) {
        const d = one(byRule.get(rule), (x) => x.subject.id === victim);
        expect(d.sampleIds).toEqual(attack.signInIds);
        expect(d.ipAddresses).toEqual(attack.ipAddresses);
      }
      expect(one(byRule.get("risky-signin"), (x) => x.subject.id === victim).severity).toBe("high");
      break;
    }
    case "newAdminRoleAssignment": {
      // users = [the admin who granted, the user who received Global Administrator]
      const grantee = attack.users[1]?.id ?? "";
      const d = one(byRule.get("role-assignment"), (x) => x.subject.kind === "user" && x.subject.id === grantee);
      expect(d.sampleIds).toEqual(attack.auditIds);
      expect(d.explanation).toContain("Global Administrator");
      expect(d.explanation).toContain(attack.users[0]?.userPrincipalName ?? "?");
      expect(d.ipAddresses).toEqual([ip]);
      break;
    }
    case "consentToApplication": {
      const auditId = attack.auditIds[0] ?? "";
      const record = [...audits(dataset, attack.tenantId)].find((a) => a.id === auditId);
      const app = record?.targets[0];
      const d = one(byRule.get("consent-grant"), (x) => x.subject.kind === "servicePrincipal" && x.subject.id === app?.id);
      expect(d.sampleIds).toEqual([auditId]);
      expect(d.subject.name).toBe(app?.displayName);
      expect(d.explanation).toContain("Mail.Read");
      expect(d.severity).toBe("high");
      break;
    }
    case "servicePrincipalCredential": {
      // One audit on the service principal, one on its application: both found.
      const list = byRule.get("app-credential-added") ?? [];
      for (const auditId of attack.auditIds) one(list, (x) => x.sampleIds.includes(auditId));
      expect(list.map((x) => x.subject.kind).sort()).toEqual(["app", "servicePrincipal"]);
      expect(list.find((x) => x.subject.kind === "servicePrincipal")?.severity).toBe("high");
      break;
    }
  }
}

/** Every detection in an attacked tenant is explained by a planted attack (no false positive on the background). */
function explainedByAttacks(detection: Detection, attacks: readonly PlantedAttack[]): boolean {
  return attacks.some(
    (a) =>
      a.users.some((u) => u.id === detection.subject.id) ||
      a.ipAddresses.includes(detection.subject.id) ||
      detection.sampleIds.some((id) => a.signInIds.includes(id) || a.auditIds.includes(id) || a.riskDetectionIds.includes(id)),
  );
}

describe.each([{ seed: 7 }, { seed: "blind-2024" }])("planted attacks, seed $seed, over the whole data period", ({ seed }) => {
  const dataset = makeDataset(seed, TENANTS, DAYS);
  const results = new Map(dataset.tenants.map((t) => [t.id, detectAll(dataset, t.id)]));
  const [small, large, smallQuiet, largeQuiet] = dataset.tenants;

  it.each([
    ["25 users", small],
    ["200 users", large],
  ])("finds every planted attack in the tenant of %s, with the right subject and records", (_label, tenant) => {
    const attacks = dataset.groundTruth.filter((a) => a.tenantId === tenant?.id);
    expect(attacks.map((a) => a.kind).sort()).toEqual(Object.keys(RULES_FOR).sort());
    const detections = results.get(tenant?.id ?? "");
    if (!detections) throw new Error("no run for the tenant");
    for (const attack of attacks) assertFound(dataset, attack, detections);
    // Identity Protection's own detections of the planted attacks come through the risk rule.
    const riskIds = all(detections).filter((d) => d.rule === "risk-detection").flatMap((d) => d.sampleIds);
    expect(riskIds.sort()).toEqual(attacks.flatMap((a) => a.riskDetectionIds).sort());
    // Nothing fires on the background traffic around the attacks.
    const unexplained = all(detections).filter((d) => !explainedByAttacks(d, attacks));
    expect(unexplained).toEqual([]);
    for (const d of all(detections)) expect(DetectionSchema.parse(d)).toEqual(d);
  });

  it.each([
    ["25 users", smallQuiet],
    ["200 users", largeQuiet],
  ])("finds nothing in a clean tenant of %s (random wrong passwords, MFA interrupts, low risk detections)", (_label, tenant) => {
    const detections = results.get(tenant?.id ?? "");
    if (!detections) throw new Error("no run for the tenant");
    expect(detections.signInCount).toBeGreaterThan(DAYS * (tenant?.userCount ?? 0) * 10);
    expect(all(detections)).toEqual([]);
  });
});
