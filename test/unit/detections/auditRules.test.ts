import { describe, expect, it } from "vitest";
import {
  AuditDetectors,
  DEFAULT_THRESHOLDS,
  DetectionThresholdsSchema,
  RiskDetectors,
  normaliseActivity,
  toAuditRecord,
  type AuditRecord,
  type DetectionThresholds,
} from "../../../shared/domain/detections/index.js";
import type { Detection } from "../../../shared/domain/finding.js";
import { mutableFixture } from "../../support/fixtures.js";
import { audit, MINUTE, risk, T0 } from "./builders.js";

function run(records: readonly AuditRecord[], thresholds: DetectionThresholds = DEFAULT_THRESHOLDS): Detection[] {
  const d = new AuditDetectors(thresholds);
  for (const r of records) d.observe(r);
  return d.finish();
}

const roleTargets = (): AuditRecord["targets"] => [
  { id: "u2", displayName: null, type: "User", userPrincipalName: "u2@contoso.com", modifiedProperties: [{ displayName: "Role.DisplayName", oldValue: null, newValue: '"Global Administrator"' }] },
  { id: "62e90394-69f5-4237-9190-012177145e10", displayName: "Global Administrator", type: "Role", userPrincipalName: null, modifiedProperties: [] },
];

describe("activity matching", () => {
  it("ignores case, runs of whitespace, a trailing space and the kind of dash", () => {
    expect(normaliseActivity("Update application – Certificates and secrets management ")).toBe("update application - certificates and secrets management");
    expect(normaliseActivity("  ADD   member to\trole")).toBe("add member to role");
  });

  it("needs the category too: the same words in another category are not a role assignment", () => {
    expect(run([audit(0, "Add member to role", "GroupManagement", { targets: roleTargets() })])).toEqual([]);
    expect(run([audit(0, "add member  to role ", "roleManagement", { targets: roleTargets() })]).map((d) => d.rule)).toEqual(["role-assignment"]);
  });

  it("only counts successful audits", () => {
    expect(run([audit(0, "Add member to role", "RoleManagement", { result: "failure", targets: roleTargets() })])).toEqual([]);
  });

  it("ignores the documented sample (GroupLifecyclePolicies_Get) and the simulator's background activities", () => {
    const raw = (mutableFixture("microsoft-docs", "graph-directoryaudit-list-v1-example2-response.json") as { value: unknown[] }).value[0];
    const sample = toAuditRecord(raw);
    if (!sample) throw new Error("unreadable");
    const background = [
      ["Update user", "UserManagement"],
      ["Add member to group", "GroupManagement"],
      ["Reset password (self-service)", "UserManagement"],
      ["Update device", "Device"],
    ].map(([activity, category], i) => audit(i, activity ?? "", category ?? ""));
    expect(run([sample, ...background].sort((a, b) => a.t - b.t))).toEqual([]);
  });

  it("lets an operator add an activity (here the documented sample's) with its severity", () => {
    const raw = (mutableFixture("microsoft-docs", "graph-directoryaudit-list-v1-example2-response.json") as { value: unknown[] }).value[0];
    const sample = toAuditRecord(raw);
    if (!sample) throw new Error("unreadable");
    const thresholds = DetectionThresholdsSchema.parse({ conditionalAccessActivities: [{ activity: "grouplifecyclepolicies_get", severity: "low" }] });
    const [d] = run([sample], thresholds);
    expect(d).toMatchObject({ rule: "conditional-access-change", severity: "low", subject: { kind: "user", id: "00000000-0000-0000-0000-000000000000" }, ipAddresses: ["10.0.0.0"] });
  });
});

describe("role-assignment", () => {
  it("reports the principal who received the role, naming the role and who gave it", () => {
    const [d] = run([audit(0, "Add member to role", "RoleManagement", { targets: roleTargets() })]);
    expect(d).toMatchObject({ rule: "role-assignment", severity: "high", subject: { kind: "user", id: "u2", name: "u2@contoso.com" }, ipAddresses: ["95.165.1.1"], count: 1 });
    expect(d?.explanation).toBe("admin@contoso.com gave u2@contoso.com the role Global Administrator (Add member to role) from 95.165.1.1 on 2024-09-10 at 10:00 UTC.");
  });

  it("groups assignments to one principal and covers eligible (PIM) assignments", () => {
    const detections = run([
      audit(0, "Add member to role", "RoleManagement", { targets: roleTargets() }),
      audit(5, "Add eligible member to role in PIM completed (permanent)", "RoleManagement", { targets: roleTargets() }),
    ]);
    expect(detections.map((d) => [d.rule, d.count])).toEqual([["role-assignment", 2]]);
  });

  it("reports a service principal that received a role", () => {
    const targets = [{ id: "sp1", displayName: "Backup Connector", type: "ServicePrincipal", userPrincipalName: null, modifiedProperties: [] }];
    expect(run([audit(0, "Add member to role", "RoleManagement", { targets })])[0]?.subject).toEqual({ kind: "servicePrincipal", id: "sp1", name: "Backup Connector" });
  });
});

describe("consent-grant", () => {
  const consent = (scopes: string, admin: boolean) =>
    audit(0, "Consent to application", "ApplicationManagement", {
      targets: [{
        id: "sp-app", displayName: "PDF Converter Online", type: "ServicePrincipal", userPrincipalName: null, modifiedProperties: [
          { displayName: "ConsentContext.IsAdminConsent", oldValue: null, newValue: admin ? '"True"' : '"False"' },
          { displayName: "ConsentAction.Permissions", oldValue: null, newValue: `"[] => [[Id: x, ClientId: y, ConsentType: Principal, Scope: ${scopes}, CreatedDateTime: , LastModifiedDateTime ]]; "` },
        ],
      }],
    });

  it("is medium for ordinary scopes, high for a mail scope or admin consent", () => {
    const [ordinary] = run([consent("openid profile User.Read", false)]);
    expect(ordinary).toMatchObject({ rule: "consent-grant", severity: "medium", subject: { kind: "servicePrincipal", id: "sp-app", name: "PDF Converter Online" } });
    expect(ordinary?.explanation).toContain("the permissions openid, profile and User.Read");
    expect(run([consent("User.Read Mail.ReadWrite", false)])[0]?.severity).toBe("high");
    const [admin] = run([consent("User.Read", true)]);
    expect(admin?.severity).toBe("high");
    expect(admin?.explanation).toContain("admin consent for the whole tenant");
  });
});

describe("app-credential-added", () => {
  const keys = (oldValue: string, newValue: string) => [{ id: "app-object", displayName: "HR Sync", type: "Application", userPrincipalName: null, modifiedProperties: [{ displayName: "KeyDescription", oldValue, newValue }] }];
  const KEY_A = "[KeyIdentifier=aaaaaaaa-0000-0000-0000-000000000001,KeyType=Password,KeyUsage=Verify,DisplayName=a]";
  const KEY_B = "[KeyIdentifier=bbbbbbbb-0000-0000-0000-000000000002,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=b]";

  it("matches the real activity name (en dash, trailing space) and its hyphen spelling", () => {
    for (const name of ["Update application – Certificates and secrets management ", "Update application - Certificates and secrets management"]) {
      const [d] = run([audit(0, name, "ApplicationManagement", { targets: keys("[]", `["${KEY_A}"]`) })]);
      expect(d).toMatchObject({ rule: "app-credential-added", severity: "medium", subject: { kind: "app", id: "app-object", name: "HR Sync" } });
      expect(d?.explanation).toContain("added a password credential to the application HR Sync");
    }
  });

  it("does not report an update that only removed a key", () => {
    expect(run([audit(0, "Update application – Certificates and secrets management ", "ApplicationManagement", { targets: keys(`["${KEY_A}","${KEY_B}"]`, `["${KEY_A}"]`) })])).toEqual([]);
    expect(run([audit(0, "Update application – Certificates and secrets management ", "ApplicationManagement", { targets: keys(`["${KEY_A}"]`, `["${KEY_A}","${KEY_B}"]`) })])).toHaveLength(1);
  });

  it("is high for credentials added to a service principal", () => {
    const targets = [{ id: "sp1", displayName: "Backup Connector", type: "ServicePrincipal", userPrincipalName: null, modifiedProperties: [] }];
    expect(run([audit(0, "Add service principal credentials", "ApplicationManagement", { targets })])[0]).toMatchObject({ severity: "high", subject: { kind: "servicePrincipal", id: "sp1" } });
  });
});

describe("auth-method-change", () => {
  it("is low for a user registering their own method, medium for an admin, and takes the highest of the group", () => {
    const own = audit(0, "User registered security info", "UserManagement", { initiatedBy: { userId: "u2", userPrincipalName: "u2@contoso.com", ipAddress: null, appId: null, appDisplayName: null, servicePrincipalId: null } });
    expect(run([own])[0]).toMatchObject({ rule: "auth-method-change", severity: "low", subject: { kind: "user", id: "u2" } });
    const [both] = run([own, audit(10, "Admin registered security info", "UserManagement")]);
    expect(both).toMatchObject({ severity: "medium", count: 2 });
    expect(run([audit(0, "Reset user password", "UserManagement")])[0]?.severity).toBe("medium");
  });
});

describe("conditional-access-change and domain-federation-change", () => {
  it("report the actor; a deletion or a federation change is high", () => {
    const policy = [{ id: "p1", displayName: "Require MFA for all users", type: "Policy", userPrincipalName: null, modifiedProperties: [] }];
    const [ca] = run([audit(0, "Update conditional access policy", "Policy", { targets: policy }), audit(1, "Delete conditional access policy", "Policy", { targets: policy })]);
    expect(ca).toMatchObject({ rule: "conditional-access-change", severity: "high", subject: { kind: "user", id: "a1", name: "admin@contoso.com" }, count: 2 });
    expect(ca?.explanation).toContain("Require MFA for all users");
    const domain = [{ id: "d1", displayName: "contoso-sso.com", type: "Domain", userPrincipalName: null, modifiedProperties: [] }];
    expect(run([audit(0, "Verify domain", "DirectoryManagement", { targets: domain })])[0]?.severity).toBe("medium");
    expect(run([audit(0, "Set federation settings on domain", "DirectoryManagement", { targets: domain })])[0]).toMatchObject({ rule: "domain-federation-change", severity: "high" });
  });

  it("names an app actor as a service principal", () => {
    const initiatedBy = { userId: "", userPrincipalName: null, ipAddress: null, appId: "app-1", appDisplayName: "Automation", servicePrincipalId: "sp-9" };
    expect(run([audit(0, "Add named location", "Policy", { initiatedBy })])[0]?.subject).toEqual({ kind: "servicePrincipal", id: "sp-9", name: "Automation" });
  });
});

describe("risk-detection", () => {
  function runRisks(records: Parameters<RiskDetectors["observe"]>[0][]): Detection[] {
    const d = new RiskDetectors(DEFAULT_THRESHOLDS);
    for (const r of records) d.observe(r);
    return d.finish();
  }

  it("reports medium and high detections per user, not low ones (the background's unfamiliarFeatures)", () => {
    expect(runRisks([risk(0, { riskLevel: "low", riskEventType: "unfamiliarFeatures" })])).toEqual([]);
    const [d] = runRisks([risk(0), risk(5, { riskLevel: "high", riskEventType: "anonymizedIPAddress", ipAddress: "185.220.1.1" }), risk(6, { userId: "u9", userPrincipalName: "u9@contoso.com" })].sort((a, b) => a.t - b.t));
    expect(d).toMatchObject({ rule: "risk-detection", severity: "high", subject: { kind: "user", id: "u1" }, count: 2, ipAddresses: ["126.72.1.1", "185.220.1.1"] });
  });

  it("ignores states an admin has judged (dismissed, confirmedSafe)", () => {
    expect(runRisks([risk(0, { riskState: "dismissed" }), risk(1, { riskState: "confirmedSafe" })])).toEqual([]);
  });

  it("with the window's bounds, counts a detection made after the end only for activity inside the window", () => {
    // The window is minutes [0, 60); the review reads two days past its end for offline detections.
    const window = { from: T0, to: T0 + 60 * MINUTE };
    const offline = (detectedAt: number, activityAt: number, userId: string) => {
      const r = risk(detectedAt, { userId, userPrincipalName: `${userId}@contoso.com` });
      return { ...r, activityT: T0 + activityAt * MINUTE, activityDateTime: new Date(T0 + activityAt * MINUTE).toISOString() };
    };
    const records = [
      offline(10, -30, "before"), // made inside the window, for activity before it: a record the window lost
      offline(50, 45, "inside"), // made and done inside the window
      offline(180, 55, "late"), // made after the end, for activity inside the window (an offline detection)
      offline(200, 120, "after"), // made after the end, for activity after it: hours whose logs were not lost
      offline(300, -600, "stale"), // made after the end, for activity before the window
    ];
    const d = new RiskDetectors(DEFAULT_THRESHOLDS, window);
    for (const r of records) d.observe(r);
    const found = d.finish();
    expect(found.map((f) => f.subject.id).sort()).toEqual(["before", "inside", "late"]);
    expect(d.observed).toBe(5);
    // An open window (no end yet) and no window at all count every detection read.
    expect(runRisks(records)).toHaveLength(5);
    const open = new RiskDetectors(DEFAULT_THRESHOLDS, { from: T0, to: null });
    for (const r of records) open.observe(r);
    expect(open.finish()).toHaveLength(5);
    // The bounds hold after a restore (they are the review's, not the snapshot's).
    const first = new RiskDetectors(DEFAULT_THRESHOLDS, window);
    for (const r of records.slice(0, 2)) first.observe(r);
    const resumed = RiskDetectors.restore(first.snapshot(), DEFAULT_THRESHOLDS, window);
    for (const r of records.slice(2)) resumed.observe(r);
    expect(resumed.finish().map((f) => f.subject.id).sort()).toEqual(["before", "inside", "late"]);
  });

  it("follows riskDetectionLevels", () => {
    const d = new RiskDetectors(DetectionThresholdsSchema.parse({ riskDetectionLevels: ["low", "medium", "high"] }));
    d.observe(risk(0, { riskLevel: "low" }));
    expect(d.finish()).toHaveLength(1);
  });
});
