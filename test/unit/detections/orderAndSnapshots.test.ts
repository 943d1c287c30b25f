import { describe, expect, it } from "vitest";
import {
  AuditDetectors,
  DEFAULT_THRESHOLDS,
  DetectionThresholdsSchema,
  RiskDetectors,
  SignInDetectors,
} from "../../../shared/domain/detections/index.js";
import { audit, risk, signIn } from "./builders.js";

describe("input order", () => {
  it("throws a RangeError for a sign-in earlier than the previous one, in observe and in learn", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    d.observe(signIn(10));
    expect(() => { d.observe(signIn(9)); }).toThrow(RangeError);
    const b = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    b.learn(signIn(10));
    expect(() => { b.learn(signIn(9)); }).toThrow(RangeError);
    // The window comes after its baseline.
    expect(() => { b.observe(signIn(5)); }).toThrow(/ascending \(time, id\) order/);
  });

  it("orders equal times by id, and skips an immediate repeat of the same record", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    const a = signIn(10, { id: "b" });
    d.observe(a);
    d.observe(a);
    expect(d.observed).toBe(1);
    d.observe(signIn(10, { id: "c" }));
    expect(() => { d.observe(signIn(10, { id: "a" })); }).toThrow(RangeError);
    expect(d.observed).toBe(2);
  });

  it("throws for out-of-order audits and risk detections", () => {
    const a = new AuditDetectors(DEFAULT_THRESHOLDS);
    a.observe(audit(5, "Update user", "UserManagement"));
    expect(() => { a.observe(audit(4, "Update user", "UserManagement")); }).toThrow(RangeError);
    const r = new RiskDetectors(DEFAULT_THRESHOLDS);
    r.observe(risk(5));
    expect(() => { r.observe(risk(4)); }).toThrow(RangeError);
  });

  it("refuses records after finish()", () => {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, []);
    d.observe(signIn(1));
    d.finish();
    expect(() => { d.observe(signIn(2)); }).toThrow(/finished/);
    const a = new AuditDetectors(DEFAULT_THRESHOLDS);
    a.finish();
    expect(() => { a.observe(audit(1, "Update user", "UserManagement")); }).toThrow(/finished/);
  });
});

describe("snapshots", () => {
  function busySignIns(): SignInDetectors {
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, ["u1"]);
    for (let i = 0; i < 6; i++) d.observe(signIn(i));
    for (let i = 0; i < 4; i++) d.observe(signIn(10 + i, { userId: `v${i}`, errorCode: 50126, ipAddress: "95.165.1.1" }));
    d.observe(signIn(20, { errorCode: 50126, ipAddress: "95.165.1.2" }));
    d.observe(signIn(21, { clientAppUsed: "IMAP4" }));
    return d;
  }

  it("restores a valid snapshot, including one that went through JSON", () => {
    const snapshot = busySignIns().snapshot();
    const text = JSON.stringify(snapshot);
    const restored = SignInDetectors.restore(JSON.parse(text), DEFAULT_THRESHOLDS, ["u1"]);
    expect(JSON.stringify(restored.snapshot())).toBe(text);
    expect(restored.observed).toBe(12);
  });

  const tamper = (snapshot: unknown, change: (s: Record<string, unknown>) => void): unknown => {
    const copy = JSON.parse(JSON.stringify(snapshot)) as Record<string, unknown>;
    change(copy);
    return copy;
  };

  it.each<[string, (s: Record<string, unknown>) => void]>([
    ["another kind", (s) => { s.kind = "audit-detectors"; }],
    ["another version", (s) => { s.version = 2; }],
    ["a negative count", (s) => { s.observed = -1; }],
    ["a missing field", (s) => { delete s.cursor; }],
    ["an unknown field", (s) => { s.extra = true; }],
    ["a user without id", (s) => { (s.users as Record<string, unknown>[])[0] = { upn: null }; }],
    ["a user twice", (s) => { const users = s.users as unknown[]; users.push(users[0]); }],
    ["a bad streak", (s) => { ((s.users as Record<string, unknown>[])[0] ?? {}).trackers = [{ ip: "1.2.3.4", bf: { times: "x" }, mfa: null }]; }],
    ["a bad open aggregation", (s) => { (s.book as { open: unknown[] }).open.push({ rule: "no-such-rule" }); }],
    ["an empty spray window", (s) => { (s.spray as unknown[]).push({ ip: "1.1.1.1", entries: [] }); }],
  ])("throws on a sign-in snapshot with %s", (_label, change) => {
    const snapshot = busySignIns().snapshot();
    expect(() => SignInDetectors.restore(tamper(snapshot, change), DEFAULT_THRESHOLDS, ["u1"])).toThrow();
  });

  it.each([null, undefined, 42, "snapshot", [], {}])("throws on %j", (value) => {
    expect(() => SignInDetectors.restore(value, DEFAULT_THRESHOLDS, [])).toThrow();
    expect(() => AuditDetectors.restore(value, DEFAULT_THRESHOLDS)).toThrow();
    expect(() => RiskDetectors.restore(value, DEFAULT_THRESHOLDS)).toThrow();
  });

  it("throws on a snapshot taken under other thresholds or privileged users", () => {
    const snapshot = busySignIns().snapshot();
    const other = DetectionThresholdsSchema.parse({ sprayMinDistinctUsers: 6 });
    expect(() => SignInDetectors.restore(snapshot, other, ["u1"])).toThrow(/other thresholds/);
    expect(() => SignInDetectors.restore(snapshot, DEFAULT_THRESHOLDS, ["u2"])).toThrow(/privileged/);
    // Order and case of the privileged ids do not matter.
    expect(() => SignInDetectors.restore(snapshot, DEFAULT_THRESHOLDS, ["U1", "u1"])).not.toThrow();
    const audits = new AuditDetectors(DEFAULT_THRESHOLDS).snapshot();
    expect(() => AuditDetectors.restore(audits, other)).toThrow(/other thresholds/);
    expect(() => RiskDetectors.restore(audits, DEFAULT_THRESHOLDS)).toThrow();
  });

  it("throws on audit and risk snapshots of the wrong kind or shape", () => {
    const a = new AuditDetectors(DEFAULT_THRESHOLDS);
    a.observe(audit(1, "Add member to role", "RoleManagement"));
    const r = new RiskDetectors(DEFAULT_THRESHOLDS);
    r.observe(risk(1));
    expect(() => AuditDetectors.restore(r.snapshot(), DEFAULT_THRESHOLDS)).toThrow();
    expect(() => RiskDetectors.restore(a.snapshot(), DEFAULT_THRESHOLDS)).toThrow();
    expect(() => AuditDetectors.restore(tamper(a.snapshot(), (s) => { (s.book as { closed: unknown[] }).closed.push({ closeAt: 1, detection: { rule: "role-assignment" } }); }), DEFAULT_THRESHOLDS)).toThrow();
    const twice = tamper(a.snapshot(), (s) => { const open = (s.book as { open: unknown[] }).open; open.push(open[0]); });
    expect(() => AuditDetectors.restore(twice, DEFAULT_THRESHOLDS)).toThrow(/two open aggregations/);
    expect(AuditDetectors.restore(a.snapshot(), DEFAULT_THRESHOLDS).finish()).toHaveLength(1);
  });
});
