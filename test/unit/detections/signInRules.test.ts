import { describe, expect, it } from "vitest";
import {
  DEFAULT_THRESHOLDS,
  DetectionThresholdsSchema,
  SignInDetectors,
  haversineKm,
  type DetectionThresholds,
  type SignInRecord,
} from "../../../shared/domain/detections/index.js";
import type { Detection, RuleId } from "../../../shared/domain/finding.js";
import { BERLIN, MOSCOW, signIn } from "./builders.js";

/** Runs the records through fresh detectors (baseline first) and returns what finish() reports. */
function run(records: readonly SignInRecord[], options: { thresholds?: DetectionThresholds; privileged?: string[]; baseline?: readonly SignInRecord[] } = {}): Detection[] {
  const d = new SignInDetectors(options.thresholds ?? DEFAULT_THRESHOLDS, options.privileged ?? []);
  for (const r of options.baseline ?? []) d.learn(r);
  for (const r of records) d.observe(r);
  return d.finish();
}

function rules(detections: readonly Detection[]): RuleId[] {
  return detections.map((d) => d.rule);
}

function only(detections: readonly Detection[], rule: RuleId): Detection {
  const list = detections.filter((d) => d.rule === rule);
  expect(list).toHaveLength(1);
  return list[0] as Detection;
}

const ATTACKER = { ipAddress: "95.165.3.4", ...MOSCOW };
const fail = (minute: number, user: string, code = 50126, extra: Partial<SignInRecord> = {}) =>
  signIn(minute, { userId: user, userPrincipalName: `${user}@contoso.com`, errorCode: code, ...ATTACKER, ...extra });

describe("password-spray", () => {
  const spray = (users: number, spanMinutes: number) =>
    Array.from({ length: users }, (_, i) => fail(users === 1 ? 0 : (i * spanMinutes) / (users - 1), `v${i}`));

  it("needs 5 distinct users failing from one IP within 60 minutes: 4 are not a spray, 5 are", () => {
    expect(run(spray(4, 30))).toEqual([]);
    const records = spray(5, 30);
    const d = only(run(records), "password-spray");
    expect(d.subject).toEqual({ kind: "ip", id: "95.165.3.4" });
    expect(d.count).toBe(5);
    expect(d.sampleIds).toEqual(records.map((r) => r.id));
    expect(d.ipAddresses).toEqual(["95.165.3.4"]);
    expect(d.severity).toBe("medium");
    expect(d.explanation).toBe("IP 95.165.3.4 (RU) failed password sign-ins (50126) for 5 distinct users on 2024-09-10 between 10:00 and 10:30 UTC.");
  });

  it("counts the window inclusively: 5 users over exactly 60 minutes are a spray, over 61 they are not", () => {
    expect(rules(run(spray(5, 60)))).toEqual(["password-spray"]);
    expect(run(spray(5, 61))).toEqual([]);
  });

  it("ignores one user failing many times, other error codes, and failures from different IPs", () => {
    expect(run(Array.from({ length: 8 }, (_, i) => fail(i, "v1")))).toEqual([]);
    expect(run(Array.from({ length: 8 }, (_, i) => fail(i, `v${i}`, 50074)))).toEqual([]);
    expect(run(Array.from({ length: 8 }, (_, i) => fail(i, `v${i}`, 50126, { ipAddress: `95.165.3.${i}` })))).toEqual([]);
  });

  it("keeps adding the IP's later failures, and turns high when a sprayed user then signs in from it", () => {
    const records = [...spray(5, 10), fail(20, "v9"), signIn(25, { userId: "v2", userPrincipalName: "v2@contoso.com", ...ATTACKER })];
    const d = only(run(records), "password-spray");
    expect(d.count).toBe(7);
    expect(d.severity).toBe("high");
    expect(d.explanation).toContain("for 6 distinct users");
    expect(d.explanation).toContain("then signed in successfully as 1 of them");
    expect(d.lastSeen).toBe(records[6]?.createdDateTime);
  });

  it("makes two detections of two bursts more than the merge gap (24 h) apart, one of two bursts less", () => {
    const burst = (start: number) => Array.from({ length: 5 }, (_, i) => fail(start + i, `v${i}`));
    expect(run([...burst(0), ...burst(24 * 60 + 10)]).map((d) => d.count)).toEqual([5, 5]);
    expect(run([...burst(0), ...burst(24 * 60 - 10)]).map((d) => d.count)).toEqual([10]);
  });

  it("follows sprayMinDistinctUsers when an operator changes it", () => {
    const thresholds = DetectionThresholdsSchema.parse({ sprayMinDistinctUsers: 3 });
    expect(rules(run(spray(3, 5), { thresholds }))).toEqual(["password-spray"]);
  });
});

describe("brute-force-success", () => {
  const attempt = (failures: number, spacing = 1) => [
    ...Array.from({ length: failures }, (_, i) => fail(i * spacing, "victim")),
    signIn(failures * spacing, { userId: "victim", userPrincipalName: "victim@contoso.com", ...ATTACKER }),
  ];

  it("needs 10 failed passwords from the IP before the success: 9 are not enough", () => {
    expect(run(attempt(9)).filter((d) => d.rule === "brute-force-success")).toEqual([]);
    const records = attempt(10);
    const d = only(run(records), "brute-force-success");
    expect(d.subject).toEqual({ kind: "user", id: "victim", name: "victim@contoso.com" });
    expect(d.count).toBe(11);
    expect(d.sampleIds).toEqual(records.slice(0, 10).map((r) => r.id));
    expect(d.severity).toBe("high");
    expect(d.explanation).toBe("victim@contoso.com signed in successfully from 95.165.3.4 (RU) after 10 failed passwords (50126) from that address on 2024-09-10 between 10:00 and 10:10 UTC.");
  });

  it("counts only failures within 60 minutes of the success, from the same IP", () => {
    // 10 failures 7 minutes apart: the first is 70 minutes before the success; 6 apart: exactly 60 (inclusive).
    expect(run(attempt(10, 7)).filter((d) => d.rule === "brute-force-success")).toEqual([]);
    expect(rules(run(attempt(10, 6)))).toContain("brute-force-success");
    const elsewhere = [...attempt(10).slice(0, 10), signIn(11, { userId: "victim", ipAddress: "131.107.1.1" })];
    expect(run(elsewhere).filter((d) => d.rule === "brute-force-success")).toEqual([]);
  });

  it("starts counting again after a success (a user who mistypes, then gets in)", () => {
    const first = attempt(5);
    const second = attempt(5).map((r, i) => ({ ...r, t: r.t + 30 * 60_000, id: `late-${i}` }));
    expect(run([...first, ...second]).filter((d) => d.rule === "brute-force-success")).toEqual([]);
  });

  it("counts account lockouts (50053) as failures too", () => {
    const records = [...Array.from({ length: 10 }, (_, i) => fail(i, "victim", i % 2 === 0 ? 50126 : 50053)), signIn(11, { userId: "victim", ...ATTACKER })];
    expect(only(run(records), "brute-force-success").explanation).toContain("(50126, 50053)");
  });
});

describe("mfa-fatigue", () => {
  const prompts = (n: number) => Array.from({ length: n }, (_, i) => fail(i * 2, "victim", i % 2 === 0 ? 500121 : 50074));
  const approved = (minute: number, extra: Partial<SignInRecord> = {}) => signIn(minute, { userId: "victim", userPrincipalName: "victim@contoso.com", ...ATTACKER, ...extra });

  it("needs 5 denied or unanswered prompts before an interactive success: 4 are not enough", () => {
    expect(run([...prompts(4), approved(20)]).filter((d) => d.rule === "mfa-fatigue")).toEqual([]);
    const d = only(run([...prompts(5), approved(20)]), "mfa-fatigue");
    expect(d.count).toBe(6);
    expect(d.severity).toBe("high");
    expect(d.explanation).toContain("after 5 denied or unanswered MFA prompts (500121, 50074)");
  });

  it("waits for an interactive success: a token refresh in between neither fires nor resets", () => {
    const records = [...prompts(5), approved(11, { eventType: "nonInteractiveUser" }), approved(12)];
    const d = only(run(records), "mfa-fatigue");
    expect(d.sampleIds).toContain(records[6]?.id);
  });

  it("does not count prompts older than 60 minutes", () => {
    expect(run([...prompts(5), approved(70)]).filter((d) => d.rule === "mfa-fatigue")).toEqual([]);
  });
});

describe("impossible-travel", () => {
  // On the equator, 9 degrees of longitude are 1000.8 km: 66 minutes is 910 km/h, 67 minutes 896 km/h.
  const at = (minute: number, longitude: number, extra: Partial<SignInRecord> = {}) =>
    signIn(minute, { latitude: 0, longitude, city: `lon ${longitude}`, countryOrRegion: "XX", ipAddress: `10.0.0.${Math.round(longitude)}`, ...extra });

  it("fires above 900 km/h and not below", () => {
    expect(haversineKm(0, 0, 0, 9)).toBeCloseTo(1000.8, 1);
    expect(run([at(0, 0), at(67, 9)])).toEqual([]);
    const records = [at(0, 0), at(66, 9)];
    const d = only(run(records), "impossible-travel");
    expect(d.subject.id).toBe("u1");
    expect(d.sampleIds).toEqual(records.map((r) => r.id));
    expect(d.ipAddresses).toEqual(["10.0.0.0", "10.0.0.9"]);
    expect(d.explanation).toContain("from lon 0 (XX) at 10:00 to lon 9 (XX) at 11:06 UTC: 1001 km in 66 min");
    expect(d.severity).toBe("medium");
  });

  it("ignores pairs less than 100 km apart, however fast", () => {
    expect(haversineKm(0, 0, 0, 0.89)).toBeLessThan(100);
    expect(run([at(0, 0), at(1, 0.89)])).toEqual([]);
    expect(rules(run([at(0, 0), at(1, 0.9)]))).toEqual(["impossible-travel"]);
  });

  it("compares successive successful sign-ins only, and skips records without coordinates", () => {
    expect(run([at(0, 0), at(10, 90, { errorCode: 50126 }), at(20, 0)])).toEqual([]);
    expect(run([at(0, 0), at(10, 90, { latitude: null, longitude: null })])).toEqual([]);
  });

  it("real cities: Redmond then Berlin 30 minutes later, and back, is one detection with two hops", () => {
    const records = [signIn(0), signIn(30, { ...BERLIN, ipAddress: "91.64.1.1" }), signIn(40)];
    const d = only(run(records), "impossible-travel");
    expect(d.count).toBe(3);
    expect(d.explanation).toContain("(2 impossible hops in all)");
  });
});

describe("new-country", () => {
  const home = (n: number, start = 0) => Array.from({ length: n }, (_, i) => signIn(start + i));
  const abroad = (minute: number) => signIn(minute, { ...BERLIN, ipAddress: "91.64.1.1" });

  it("needs 5 earlier successful sign-ins: the 6th from a new country fires, the 5th does not", () => {
    expect(run([...home(4), abroad(600)]).filter((d) => d.rule === "new-country")).toEqual([]);
    const d = only(run([...home(5), abroad(600)]), "new-country");
    expect(d.severity).toBe("low");
    expect(d.explanation).toBe("u1@contoso.com signed in successfully from Berlin (DE), a country new for them after 5 earlier sign-ins from US, from 91.64.1.1 on 2024-09-10 at 20:00 UTC.");
  });

  it("learns countries from the baseline and never reports while learning", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    for (const r of home(5)) d.learn(r);
    d.learn(abroad(100));
    expect(d.drain()).toEqual([]);
    d.observe(abroad(700));
    expect(d.finish()).toEqual([]);
    expect(rules(run([abroad(700)], { baseline: home(5) }))).toEqual(["new-country"]);
  });

  it("reports a country once: the next sign-in from it is known", () => {
    expect(run([...home(5), abroad(600), abroad(601), abroad(602)]).filter((d) => d.rule === "new-country").map((d) => d.count)).toEqual([1]);
  });

  it("ignores failed sign-ins from a new country", () => {
    expect(run([...home(5), { ...abroad(600), errorCode: 50126 }])).toEqual([]);
  });
});

describe("legacy-auth-success", () => {
  it("fires on a successful legacy protocol sign-in (case-insensitive), not on a failed one or a modern client", () => {
    const d = only(run([signIn(0, { clientAppUsed: "IMAP4" })]), "legacy-auth-success");
    expect(d.severity).toBe("medium");
    expect(d.explanation).toContain("legacy authentication (IMAP4, which cannot do MFA)");
    expect(rules(run([signIn(0, { clientAppUsed: "authenticated smtp" })]))).toEqual(["legacy-auth-success"]);
    expect(run([signIn(0, { clientAppUsed: "IMAP4", errorCode: 50126 })])).toEqual([]);
    expect(run([signIn(0, { clientAppUsed: "Mobile Apps and Desktop clients" })])).toEqual([]);
  });
});

describe("risky-signin", () => {
  it("fires at medium or high risk or an at-risk state, not at low", () => {
    expect(run([signIn(0, { riskLevelDuringSignIn: "low" })])).toEqual([]);
    expect(only(run([signIn(0, { riskLevelDuringSignIn: "medium" })]), "risky-signin").severity).toBe("medium");
    expect(only(run([signIn(0, { riskLevelDuringSignIn: "high", riskState: "atRisk" })]), "risky-signin").severity).toBe("high");
    expect(only(run([signIn(0, { riskState: "confirmedCompromised" })]), "risky-signin").severity).toBe("high");
    expect(rules(run([signIn(0, { riskLevelDuringSignIn: "none", riskState: "atRisk" })]))).toEqual(["risky-signin"]);
  });

  it("reports blocked risky sign-ins at low severity", () => {
    const d = only(run([signIn(0, { riskLevelDuringSignIn: "high", errorCode: 53003 })]), "risky-signin");
    expect(d.severity).toBe("low");
    expect(d.explanation).toContain("0 of them successful");
  });
});

describe("anonymizer-ip", () => {
  it("fires on a successful sign-in flagged anonymizedIPAddress, not on a failed one or other risk types", () => {
    const d = only(run([signIn(0, { riskEventTypes: ["anonymizedIPAddress"], ipAddress: "185.220.1.2" })]), "anonymizer-ip");
    expect(d.ipAddresses).toEqual(["185.220.1.2"]);
    expect(run([signIn(0, { riskEventTypes: ["anonymizedIPAddress"], errorCode: 50126 })])).toEqual([]);
    expect(run([signIn(0, { riskEventTypes: ["unfamiliarFeatures"] })])).toEqual([]);
  });

  it("fires on a sign-in from an operator's anonymizer prefix (IPv4 and IPv6)", () => {
    const thresholds = DetectionThresholdsSchema.parse({ anonymizerIpPrefixes: ["185.220.0.0/16", "2a0b:f4c0::/32"] });
    expect(rules(run([signIn(0, { ipAddress: "185.220.101.7" })], { thresholds }))).toEqual(["anonymizer-ip"]);
    expect(rules(run([signIn(0, { ipAddress: "2a0b:f4c0:1::7" })], { thresholds }))).toEqual(["anonymizer-ip"]);
    expect(run([signIn(0, { ipAddress: "185.221.0.1" })], { thresholds })).toEqual([]);
    expect(only(run([signIn(0, { ipAddress: "185.220.101.7" })], { thresholds }), "anonymizer-ip").explanation).toContain("in 185.220.0.0/16");
  });
});

describe("privileged-new-ip", () => {
  const usual = (n: number) => Array.from({ length: n }, (_, i) => signIn(i, { ipAddress: `131.107.${i}.${i + 1}` }));

  it("fires for a privileged user on a new network after 5 sign-ins, not on a new address in a known network", () => {
    expect(run([...usual(5), signIn(10, { ipAddress: "131.107.200.9" })], { privileged: ["u1"] })).toEqual([]);
    const d = only(run([...usual(5), signIn(10, { ipAddress: "64.124.1.1" })], { privileged: ["U1"] }), "privileged-new-ip");
    expect(d.severity).toBe("medium");
    expect(d.explanation).toContain("network 64.124.0.0/16 new for them after 5 earlier sign-ins");
  });

  it("needs the history, and privilege", () => {
    expect(run([...usual(4), signIn(10, { ipAddress: "64.124.1.1" })], { privileged: ["u1"] })).toEqual([]);
    expect(run([...usual(5), signIn(10, { ipAddress: "64.124.1.1" })], { privileged: [] })).toEqual([]);
  });

  it("is high when the country is new too (and new-country fires as well)", () => {
    // Three days later, so that the trip is possible.
    const detections = run([...usual(5), signIn(3 * 24 * 60, { ...MOSCOW, ipAddress: "95.165.1.1" })], { privileged: ["u1"] });
    expect(rules(detections).sort()).toEqual(["new-country", "privileged-new-ip"]);
    expect(only(detections, "privileged-new-ip").severity).toBe("high");
  });

  it("compares exact addresses with /32", () => {
    const thresholds = DetectionThresholdsSchema.parse({ privilegedIpv4PrefixBits: 32 });
    expect(rules(run([...usual(5), signIn(10, { ipAddress: "131.107.200.9" })], { privileged: ["u1"], thresholds }))).toEqual(["privileged-new-ip"]);
  });
});

describe("service principals", () => {
  it("match no user rule", () => {
    const sp = (minute: number, extra: Partial<SignInRecord> = {}) => signIn(minute, { userId: "", userPrincipalName: null, eventType: "servicePrincipal", servicePrincipalId: "sp1", ...extra });
    expect(run([sp(0, { riskLevelDuringSignIn: "high" }), ...Array.from({ length: 6 }, (_, i) => sp(i + 1, { errorCode: 50126, ipAddress: "95.165.3.4" }))])).toEqual([]);
  });
});
