import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compositeKey, escapeKey, unescapeKey } from "../../shared/domain/tableKey.js";

// eslint-disable-next-line no-control-regex -- control characters are exactly what Table Storage forbids
const FORBIDDEN = /[/\\#?\u0000-\u001f\u007f-\u009f]/u;

describe("escapeKey", () => {
  it("removes every character Table Storage forbids in keys", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (id) => {
        expect(escapeKey(id)).not.toMatch(FORBIDDEN);
      }),
      { numRuns: 2000 },
    );
  });

  it("is reversible for ids of ordinary length", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (id) => {
        expect(unescapeKey(escapeKey(id))).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps distinct ids distinct, also when shortened", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1500 }), fc.string({ maxLength: 1500 }), (a, b) => {
        fc.pre(a !== b);
        expect(escapeKey(a)).not.toBe(escapeKey(b));
      }),
      { numRuns: 1000 },
    );
    const long = "x".repeat(5000);
    expect(escapeKey(long).length).toBeLessThanOrEqual(480);
    expect(escapeKey(long)).not.toBe(escapeKey(`${long}y`));
  });

  it("escapes tracking ids seen in the wild and keeps plain ones readable", () => {
    expect(escapeKey("0NIH-U2O")).toBe("0NIH-U2O");
    expect(escapeKey("a/b#c?d\\e")).toBe("a%2Fb%23c%3Fd%5Ce");
    expect(escapeKey("100%")).toBe("100%25");
    expect(escapeKey("Störung – Anmeldeprotokolle")).toBe("Störung – Anmeldeprotokolle");
  });

  it("joins components unambiguously", () => {
    expect(compositeKey("a~b", "c")).not.toBe(compositeKey("a", "b~c"));
    expect(compositeKey("azure-monitor", "0NIH-U2O")).toBe("azure-monitor~0NIH-U2O");
  });
});
