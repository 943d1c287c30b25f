import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { distinctFindings, findingId, type Finding } from "../../shared/domain/finding.js";

/** Findings as a window re-keyed by a later notice leaves them: the successor holds copies under its own id. */
function finding(windowId: string, rule: Finding["rule"], subjectId: string, firstSeen: string): Finding {
  const detection = {
    rule,
    severity: "high" as const,
    subject: { kind: "user" as const, id: subjectId },
    explanation: `${rule} for ${subjectId}`,
    firstSeen,
    lastSeen: firstSeen,
    count: 1,
    sampleIds: [],
    ipAddresses: [],
  };
  return { ...detection, id: findingId("t1", windowId, detection), tenantId: "t1", windowId, source: "entra-signin", control: "signin-review" };
}

describe("distinctFindings: one finding per detection across a tenant's windows", () => {
  const live = new Set(["w-new"]);
  const spray = finding("w-old", "password-spray", "u1", "2024-09-05T10:00:00.000Z");
  const sprayCopy = finding("w-new", "password-spray", "u1", "2024-09-05T10:00:00.000Z");
  const travel = finding("w-new", "impossible-travel", "u2", "2024-09-06T10:00:00.000Z");
  const onlyOld = finding("w-old", "new-country", "u3", "2024-09-07T10:00:00.000Z");

  it("keeps the live window's copy of a detection both windows hold, in input order", () => {
    expect(distinctFindings([spray, travel, sprayCopy], live)).toEqual([travel, sprayCopy]);
  });

  it("keeps a detection only a gone window holds (an attack found is never dropped), once across gone windows", () => {
    const again = finding("w-older", "new-country", "u3", "2024-09-07T10:00:00.000Z");
    expect(distinctFindings([onlyOld, again, travel], live)).toEqual([onlyOld, travel]);
  });

  it("tells detections apart by rule, subject and first sighting", () => {
    const later = finding("w-old", "password-spray", "u1", "2024-09-05T11:00:00.000Z");
    const other = finding("w-old", "password-spray", "u9", "2024-09-05T10:00:00.000Z");
    expect(distinctFindings([sprayCopy, later, other], live)).toEqual([sprayCopy, later, other]);
  });

  it("property: the result is a subset with one finding per detection, and every live finding stays", () => {
    const arb = fc.array(
      fc.record({
        window: fc.constantFrom("w-new", "w-old", "w-older"),
        rule: fc.constantFrom<Finding["rule"]>("password-spray", "new-country"),
        subject: fc.constantFrom("u1", "u2"),
        hour: fc.integer({ min: 10, max: 11 }),
      }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(arb, (specs) => {
        const all = specs.map((s) => finding(s.window, s.rule, s.subject, `2024-09-05T${String(s.hour)}:00:00.000Z`));
        const out = distinctFindings(all, live);
        const key = (f: Finding) => `${f.rule}|${f.subject.id}|${f.firstSeen}`;
        expect(out.every((f) => all.includes(f))).toBe(true);
        expect(new Set(all.map(key))).toEqual(new Set(out.map(key)));
        for (const f of all.filter((x) => live.has(x.windowId))) expect(out).toContain(f);
        const gone = out.filter((f) => !live.has(f.windowId)).map(key);
        expect(new Set(gone).size).toBe(gone.length);
        expect(gone.some((k) => out.some((f) => live.has(f.windowId) && key(f) === k))).toBe(false);
      }),
    );
  });
});
