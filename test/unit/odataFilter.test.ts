import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ODataError, compileFilter, parseFilter } from "../../local/graphSimulator/odataFilter.js";
import { SIGN_IN_FILTER, type SignIn } from "../../local/graphSimulator/records.js";

const compileSignIn = (text: string, version: "v1.0" | "beta" = "beta") => compileFilter(parseFilter(text), SIGN_IN_FILTER[version]);

function signIn(partial: Partial<SignIn>): SignIn {
  return {
    createdDateTime: "2024-09-02T10:00:00Z",
    userPrincipalName: "adelev@contoso.onmicrosoft.com",
    ipAddress: "131.107.1.2",
    signInEventTypes: ["interactiveUser"],
    riskEventTypes_v2: [],
    status: { errorCode: 0, failureReason: null, additionalDetails: null },
    location: { city: "Redmond", state: "Washington", countryOrRegion: "US", geoCoordinates: null },
    isInteractive: true,
    ...partial,
  } as SignIn;
}

describe("parseFilter", () => {
  it("parses comparisons with unquoted ISO datetimes joined by and", () => {
    expect(parseFilter("createdDateTime ge 2024-09-02T00:00:00Z and createdDateTime lt 2024-09-03T00:00:00.123Z")).toEqual({
      kind: "and",
      left: { kind: "compare", path: "createdDateTime", op: "ge", literal: { type: "datetime", value: Date.parse("2024-09-02T00:00:00Z"), text: "2024-09-02T00:00:00Z" } },
      right: { kind: "compare", path: "createdDateTime", op: "lt", literal: { type: "datetime", value: Date.parse("2024-09-03T00:00:00.123Z"), text: "2024-09-03T00:00:00.123Z" } },
    });
  });

  it("parses lambdas, nested paths, numbers and escaped quotes", () => {
    expect(parseFilter("signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')")).toMatchObject({
      kind: "any",
      path: "signInEventTypes",
      variable: "t",
      body: { kind: "or" },
    });
    expect(parseFilter("status/errorCode eq 50126")).toEqual({ kind: "compare", path: "status/errorCode", op: "eq", literal: { type: "number", value: 50126 } });
    expect(parseFilter("userPrincipalName eq 'o''brien@contoso.com'")).toMatchObject({ literal: { type: "string", value: "o'brien@contoso.com" } });
  });

  it.each([
    "",
    "createdDateTime",
    "createdDateTime gte 2024-09-02T00:00:00Z",
    "createdDateTime ge",
    "userPrincipalName eq 'unterminated",
    "(createdDateTime ge 2024-09-02T00:00:00Z",
    "createdDateTime ge 2024-09-02T00:00:00Z and",
    "userPrincipalName eq 'a' userId eq 'b'",
    "contains(userPrincipalName, 'a')",
    "createdDateTime ge 2024-13-45T99:00:00Z",
  ])("rejects %j with an ODataError", (text) => {
    expect(() => parseFilter(text)).toThrow(ODataError);
  });
});

describe("compileFilter on signIns", () => {
  it("matches by time, strings (case-insensitive), numbers and collections", () => {
    const f = compileSignIn("createdDateTime ge 2024-09-02T00:00:00Z and userPrincipalName eq 'AdeleV@Contoso.onmicrosoft.com' and status/errorCode eq 0");
    expect(f.matches(signIn({}))).toBe(true);
    expect(f.matches(signIn({ createdDateTime: "2024-09-01T23:59:59Z" }))).toBe(false);
    expect(f.matches(signIn({ status: { errorCode: 50126, failureReason: "x", additionalDetails: null } }))).toBe(false);

    const nonInteractive = compileSignIn("signInEventTypes/any(t: t eq 'nonInteractiveUser')");
    expect(nonInteractive.matches(signIn({ signInEventTypes: ["nonInteractiveUser"] }))).toBe(true);
    expect(nonInteractive.matches(signIn({}))).toBe(false);
    expect(nonInteractive.mentions.has("signInEventTypes")).toBe(true);

    expect(compileSignIn("startswith(ipAddress, '131.107.')").matches(signIn({}))).toBe(true);
    expect(compileSignIn("location/countryOrRegion eq 'RU' or ipAddress eq '131.107.1.2'").matches(signIn({}))).toBe(true);
    expect(compileSignIn("riskEventTypes_v2/any(r: r eq 'anonymizedIPAddress')").matches(signIn({ riskEventTypes_v2: ["anonymizedIPAddress"] }))).toBe(true);
  });

  it("derives inclusive time bounds from top-level and comparisons only", () => {
    const from = Date.parse("2024-09-02T00:00:00Z");
    const to = Date.parse("2024-09-03T00:00:00Z");
    const f = compileSignIn(`createdDateTime gt 2024-09-02T00:00:00Z and (createdDateTime lt 2024-09-03T00:00:00Z and ipAddress eq '1.2.3.4')`);
    expect([f.lowerMs, f.upperMs]).toEqual([from + 1, to - 1]);
    const either = compileSignIn(`createdDateTime ge 2024-09-02T00:00:00Z or createdDateTime le 2024-09-03T00:00:00Z`);
    expect([either.lowerMs, either.upperMs]).toEqual([undefined, undefined]);
  });

  it.each([
    ["unknown property", "foo eq 'bar'"],
    ["quoted datetime", "createdDateTime ge '2024-09-02T00:00:00Z'"],
    ["ordering on a string", "userPrincipalName gt 'a'"],
    ["string compared with a number", "ipAddress eq 5"],
    ["collection without any()", "signInEventTypes eq 'interactiveUser'"],
    ["unknown event type", "signInEventTypes/any(t: t eq 'robot')"],
    ["lambda with another operator", "signInEventTypes/any(t: t ne 'interactiveUser')"],
    ["startswith on a non-string", "startswith(status/errorCode, '5')"],
  ])("rejects %s", (_name, text) => {
    expect(() => compileSignIn(text)).toThrow(/Invalid filter clause/);
  });

  it("knows signInEventTypes only on beta (v1.0 lists interactive sign-ins only)", () => {
    expect(() => compileSignIn("signInEventTypes/any(t: t eq 'nonInteractiveUser')", "v1.0")).toThrow(ODataError);
  });

  it("agrees with a direct comparison for any datetime bound (property)", () => {
    const base = Date.parse("2024-09-01T00:00:00Z");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400 * 30 }), fc.integer({ min: 0, max: 86_400 * 30 }), fc.constantFrom("ge", "gt", "le", "lt", "eq"), (recordS, boundS, op) => {
        const record = new Date(base + recordS * 1000).toISOString();
        const bound = new Date(base + boundS * 1000).toISOString();
        const expected = { ge: recordS >= boundS, gt: recordS > boundS, le: recordS <= boundS, lt: recordS < boundS, eq: recordS === boundS }[op];
        const f = compileSignIn(`createdDateTime ${op} ${bound}`);
        expect(f.matches(signIn({ createdDateTime: record }))).toBe(expected);
        // The bounds never exclude a record the predicate accepts.
        const t = Date.parse(record);
        if (expected) expect(t >= (f.lowerMs ?? -Infinity) && t <= (f.upperMs ?? Infinity)).toBe(true);
      }),
    );
  });
});
