import { describe, expect, it } from "vitest";
import { GraphDataset, HOUR_MS } from "../../../local/graphSimulator/dataGenerator.js";
import { SIGN_IN_FIELDS, type SignIn } from "../../../local/graphSimulator/records.js";
import {
  AuditDetectors,
  DEFAULT_THRESHOLDS,
  RiskDetectors,
  SIGN_IN_SELECT,
  SignInDetectors,
  toAuditRecord,
  toRiskRecord,
  toSignInRecord,
} from "../../../shared/domain/detections/index.js";
import { fixtureJson, fixtureText, mutableFixture } from "../../support/fixtures.js";
import { audits, detectAll, makeDataset, NOW, privilegedOf, risks, signIns } from "./dataset.js";

/** The v1.0 sample as published is not valid JSON (a trailing comma after the last policy); the fix is the only change. */
function v1Sample(): Record<string, unknown> {
  const text = fixtureText("microsoft-docs", "graph-signin-list-v1-example1-response.VERBATIM-INVALID-JSON.txt");
  expect(() => { JSON.parse(text); }).toThrow();
  const page = JSON.parse(text.replace(/\},\s*\]\s*\}\s*\]\s*\}\s*$/, "}]}]}")) as { value: Record<string, unknown>[] };
  return page.value[0] ?? {};
}

function betaSample(): Record<string, unknown> {
  return ((mutableFixture("microsoft-docs", "graph-signin-list-beta-example1-response.json") as { value: Record<string, unknown>[] }).value[0]) ?? {};
}

describe("toSignInRecord", () => {
  it("reads the documented beta sample (a failed password, geoCoordinates {})", () => {
    expect(toSignInRecord(betaSample(), "nonInteractiveUser")).toEqual({
      id: "1691d37b-8579-43a7-966a-0f35583c1300",
      createdDateTime: "2021-06-30T16:34:32Z",
      t: Date.parse("2021-06-30T16:34:32Z"),
      userId: "26be570a-1111-5555-b4e2-a37c6808512d",
      userPrincipalName: "testaccount1@contoso.com",
      appId: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
      appDisplayName: "Azure Portal",
      ipAddress: "131.107.159.37",
      clientAppUsed: "Browser",
      errorCode: 50126,
      eventType: "interactiveUser",
      riskLevelDuringSignIn: "none",
      riskState: "none",
      riskEventTypes: [],
      countryOrRegion: "US",
      city: "Redmond",
      latitude: null,
      longitude: null,
      servicePrincipalId: null,
    });
  });

  it("reads the documented v1.0 sample: no signInEventTypes (the default applies), no riskEventTypes_v2, coordinates", () => {
    const record = toSignInRecord(v1Sample(), "interactiveUser");
    expect(record).toMatchObject({
      id: "66ea54eb-6301-4ee5-be62-ff5a759b0100",
      t: Date.parse("2020-03-13T19:15:41.6195833Z"),
      eventType: "interactiveUser",
      errorCode: 0,
      riskEventTypes: [],
      latitude: 47.68050003051758,
      longitude: -122.12094116210938,
      servicePrincipalId: null,
    });
  });

  it("takes riskEventTypes_v2 first, riskEventTypes when v2 is absent", () => {
    const both = { ...betaSample(), riskEventTypes: ["old"], riskEventTypes_v2: ["anonymizedIPAddress"] };
    expect(toSignInRecord(both, "interactiveUser")?.riskEventTypes).toEqual(["anonymizedIPAddress"]);
    const v1Only: Record<string, unknown> = { ...betaSample(), riskEventTypes: ["unlikelyTravel", 7] };
    delete v1Only.riskEventTypes_v2;
    expect(toSignInRecord(v1Only, "interactiveUser")?.riskEventTypes).toEqual(["unlikelyTravel"]);
  });

  it("gives a record without risk event types an empty list that is not frozen (V8's fast path for `for … of`)", () => {
    // A frozen list made the detectors allocate an iterator for every sign-in (133 instead of 48 bytes a record
    // while a slice is held: see NO_STRINGS in signInRecord.ts and the detections benchmark).
    for (const raw of [{ ...betaSample(), riskEventTypes: [], riskEventTypes_v2: [] }, { ...betaSample(), riskEventTypes_v2: undefined, riskEventTypes: undefined }]) {
      const types = toSignInRecord(raw, "interactiveUser")?.riskEventTypes;
      expect(types).toEqual([]);
      expect(Object.isFrozen(types)).toBe(false);
    }
  });

  it("reads a $select-ed beta record of a service principal", () => {
    const raw = { id: "x", createdDateTime: "2024-09-02T23:00:00Z", userId: "", userPrincipalName: null, appId: "a", appDisplayName: "HR Sync", ipAddress: "20.50.1.1", clientAppUsed: "", status: { errorCode: 0 }, signInEventTypes: ["servicePrincipal"], servicePrincipalId: "sp-1" };
    expect(toSignInRecord(raw, "nonInteractiveUser")).toMatchObject({ eventType: "servicePrincipal", servicePrincipalId: "sp-1", userId: "", countryOrRegion: null, latitude: null });
  });

  it.each<[string, (r: Record<string, unknown>) => void]>([
    ["no id", (r) => { delete r.id; }],
    ["an empty id", (r) => { r.id = ""; }],
    ["no createdDateTime", (r) => { delete r.createdDateTime; }],
    ["an unparseable createdDateTime", (r) => { r.createdDateTime = "yesterday"; }],
    ["no status", (r) => { delete r.status; }],
    ["a status without errorCode", (r) => { r.status = { failureReason: "x" }; }],
  ])("returns undefined for a record with %s", (_label, change) => {
    const raw = betaSample();
    change(raw);
    expect(toSignInRecord(raw, "interactiveUser")).toBeUndefined();
  });

  it.each([null, undefined, 7, "x", []])("returns undefined for %j", (raw) => {
    expect(toSignInRecord(raw, "interactiveUser")).toBeUndefined();
  });

  it("reads every simulator record, in both versions' shapes, the same way", () => {
    const dataset = new GraphDataset({ seed: 3, nowMs: NOW, days: 1, tenants: [{ users: 10 }] });
    const tenant = dataset.tenants[0]?.id ?? "";
    const hour = Math.floor(NOW / HOUR_MS) - 10;
    for (const { r } of dataset.signInsInHour(tenant, hour)) {
      const beta = toSignInRecord(r, "nonInteractiveUser");
      expect(beta?.eventType).toBe(r.signInEventTypes[0]);
      const pick = (fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, r[f as keyof SignIn]]));
      expect(toSignInRecord(pick(SIGN_IN_SELECT.beta), "nonInteractiveUser")).toEqual(beta);
      if (r.signInEventTypes[0] === "interactiveUser") {
        // What v1.0 sends: interactive sign-ins without signInEventTypes or servicePrincipalId.
        expect(toSignInRecord(pick(SIGN_IN_SELECT["v1.0"]), "interactiveUser")).toEqual({ ...beta, servicePrincipalId: null });
      }
    }
  });
});

describe("SIGN_IN_SELECT", () => {
  it("names only properties each version has (v1.0 has no signInEventTypes or servicePrincipalId)", () => {
    for (const version of ["v1.0", "beta"] as const) {
      const known = new Set<string>(SIGN_IN_FIELDS[version]);
      expect(SIGN_IN_SELECT[version].filter((f) => !known.has(f))).toEqual([]);
    }
    expect(SIGN_IN_SELECT["v1.0"]).not.toContain("signInEventTypes");
    expect(SIGN_IN_SELECT.beta).toContain("signInEventTypes");
  });

  it("is everything the normaliser reads: a $select-ed record gives the detectors what a whole one does", () => {
    const whole = betaSample();
    const selected = Object.fromEntries(SIGN_IN_SELECT.beta.map((f) => [f, whole[f]]));
    expect(toSignInRecord(selected, "interactiveUser")).toEqual(toSignInRecord(whole, "interactiveUser"));
  });
});

describe("real samples through the detectors", () => {
  it("five users failing like the beta sample from its IP within the hour make a password spray", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    for (let i = 0; i < 5; i++) {
      const raw = { ...betaSample(), id: `sample-${i}`, userId: `user-${i}`, createdDateTime: `2021-06-30T16:3${i}:32Z` };
      const record = toSignInRecord(raw, "interactiveUser");
      if (!record) throw new Error("unreadable");
      d.observe(record);
    }
    expect(d.finish().map((x) => [x.rule, x.subject.id, x.count])).toEqual([["password-spray", "131.107.159.37", 5]]);
  });

  it("v1.0 interactive sign-ins (the v1.0 sample) feed impossible travel: Redmond, then Moscow ten minutes later", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    const home = toSignInRecord(v1Sample(), "interactiveUser");
    const far = toSignInRecord({ ...v1Sample(), id: "far", createdDateTime: "2020-03-13T19:25:41Z", ipAddress: "95.165.1.1", location: { city: "Moscow", countryOrRegion: "RU", geoCoordinates: { latitude: 55.7558, longitude: 37.6173 } } }, "interactiveUser");
    if (!home || !far) throw new Error("unreadable");
    d.observe(home);
    d.observe(far);
    const [travel] = d.finish();
    expect(travel?.rule).toBe("impossible-travel");
    expect(travel?.sampleIds).toEqual([home.id, "far"]);
  });
});

describe("toAuditRecord", () => {
  it("reads the documented sample", () => {
    const raw = (fixtureJson("microsoft-docs", "graph-directoryaudit-list-v1-example2-response.json") as { value: unknown[] }).value[0];
    expect(toAuditRecord(raw)).toEqual({
      id: "SSGM_b662f17a-4e4d-4e1c-9248-cdec180024b2_MCDC4_88453290",
      activityDateTime: "2024-12-27T10:01:19.5796748Z",
      t: Date.parse("2024-12-27T10:01:19.5796748Z"),
      category: "GroupManagement",
      activityDisplayName: "GroupLifecyclePolicies_Get",
      result: "success",
      loggedByService: "Self-service Group Management",
      operationType: "Update",
      initiatedBy: { userId: "00000000-0000-0000-0000-000000000000", userPrincipalName: null, ipAddress: "10.0.0.0", appId: null, appDisplayName: null, servicePrincipalId: null },
      targets: [{ id: "00000000-0000-0000-0000-000000000000", displayName: null, type: "N/A", userPrincipalName: null, modifiedProperties: [] }],
    });
  });

  it("returns undefined without id, a parseable activityDateTime or activityDisplayName", () => {
    const raw = (mutableFixture("microsoft-docs", "graph-directoryaudit-list-v1-example2-response.json") as { value: Record<string, unknown>[] }).value[0] ?? {};
    expect(toAuditRecord({ ...raw, id: undefined })).toBeUndefined();
    expect(toAuditRecord({ ...raw, activityDateTime: "soon" })).toBeUndefined();
    expect(toAuditRecord({ ...raw, activityDisplayName: null })).toBeUndefined();
    expect(toAuditRecord(null)).toBeUndefined();
  });
});

describe("toRiskRecord", () => {
  const raw = () => (mutableFixture("microsoft-docs", "graph-riskdetection-list-v1-response.json") as { value: Record<string, unknown>[] }).value[0] ?? {};

  it("reads the documented sample", () => {
    expect(toRiskRecord(raw())).toEqual({
      id: "6a5874ca-abcd-9d82-5ad39bd71600",
      detectedDateTime: "2018-09-05T00:11:27.773602Z",
      t: Date.parse("2018-09-05T00:11:27.773602Z"),
      activityDateTime: "2018-09-05T00:09:18.7822851Z",
      activityT: Date.parse("2018-09-05T00:09:18.7822851Z"),
      riskEventType: "unfamiliarFeatures",
      riskLevel: "medium",
      riskState: "remediated",
      riskDetail: "userPerformedSecuredPasswordReset",
      activity: "signin",
      detectionTimingType: "realtime",
      ipAddress: "123.456.7.89",
      userId: "abcdefab-af90-4edf-ac4c-742ff06735d0",
      userPrincipalName: "olack@adatum.com",
      countryOrRegion: "US",
      city: "Seattle",
    });
  });

  it("returns undefined without id, detectedDateTime or userId", () => {
    expect(toRiskRecord({ ...raw(), id: "" })).toBeUndefined();
    expect(toRiskRecord({ ...raw(), detectedDateTime: 5 })).toBeUndefined();
    expect(toRiskRecord({ ...raw(), userId: null })).toBeUndefined();
  });

  it("the sample (medium, remediated) is reported; dismissed or low it is not", () => {
    const run = (change: Record<string, unknown>) => {
      const d = new RiskDetectors(DEFAULT_THRESHOLDS);
      const record = toRiskRecord({ ...raw(), ...change });
      if (!record) throw new Error("unreadable");
      d.observe(record);
      return d.finish();
    };
    const [found] = run({});
    expect(found).toMatchObject({ rule: "risk-detection", severity: "medium", subject: { kind: "user", id: "abcdefab-af90-4edf-ac4c-742ff06735d0", name: "olack@adatum.com" }, count: 1, sampleIds: ["6a5874ca-abcd-9d82-5ad39bd71600"], firstSeen: "2018-09-05T00:09:18.782Z" });
    expect(found?.explanation).toBe("Identity Protection flagged olack@adatum.com once: unfamiliarFeatures (medium, remediated) from 123.456.7.89 (US), activity on 2018-09-05 at 00:09 UTC.");
    expect(run({ riskState: "dismissed" })).toEqual([]);
    expect(run({ riskLevel: "low" })).toEqual([]);
    expect(run({ riskLevel: "high" })[0]?.severity).toBe("high");
  });
});

describe("normalised records through the review spool (JSON)", () => {
  it("come back equal, and the detectors find the same in them (a resumed slice reads its pages from the spool)", () => {
    const dataset = makeDataset("spool-json", [{ displayName: "Spool", licence: "p2", users: 30 }], 10);
    const tenantId = dataset.tenants[0]?.id ?? "";
    const roundTrip = <T>(records: Iterable<T>): T[] => JSON.parse(JSON.stringify([...records])) as T[];
    const signInRecords = [...signIns(dataset, tenantId)];
    const auditRecords = [...audits(dataset, tenantId)];
    const riskRecords = [...risks(dataset, tenantId)];
    expect(signInRecords.length).toBeGreaterThan(1000);
    expect(roundTrip(signInRecords)).toEqual(signInRecords);
    expect(roundTrip(auditRecords)).toEqual(auditRecords);
    expect(roundTrip(riskRecords)).toEqual(riskRecords);

    const direct = detectAll(dataset, tenantId);
    expect(direct.signIns.length + direct.audits.length + direct.risks.length).toBeGreaterThan(0);
    const s = new SignInDetectors(DEFAULT_THRESHOLDS, privilegedOf(dataset, tenantId));
    for (const r of roundTrip(signInRecords)) s.observe(r);
    const a = new AuditDetectors(DEFAULT_THRESHOLDS);
    for (const r of roundTrip(auditRecords)) a.observe(r);
    const k = new RiskDetectors(DEFAULT_THRESHOLDS);
    for (const r of roundTrip(riskRecords)) k.observe(r);
    expect(s.finish()).toEqual(direct.signIns);
    expect(a.finish()).toEqual(direct.audits);
    expect(k.finish()).toEqual(direct.risks);
  });
});
