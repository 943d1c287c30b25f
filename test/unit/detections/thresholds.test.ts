import { describe, expect, it } from "vitest";
import { DEFAULT_THRESHOLDS, DetectionThresholdsSchema, cidrContains, networkOf, parseCidr, parseIp } from "../../../shared/domain/detections/index.js";

describe("DetectionThresholdsSchema", () => {
  it("fills every default from an empty object", () => {
    expect(DetectionThresholdsSchema.parse({})).toEqual(DEFAULT_THRESHOLDS);
    expect(DEFAULT_THRESHOLDS).toMatchObject({
      mergeGapMinutes: 1440,
      sprayMinDistinctUsers: 5,
      sprayWindowMinutes: 60,
      sprayErrorCodes: [50126],
      bruteForceMinFailures: 10,
      bruteForceWindowMinutes: 60,
      bruteForceErrorCodes: [50126, 50053],
      mfaFatigueMinFailures: 5,
      mfaFatigueWindowMinutes: 60,
      travelMaxSpeedKmh: 900,
      travelMinDistanceKm: 100,
      minHistorySignIns: 5,
      privilegedIpv4PrefixBits: 16,
      privilegedIpv6PrefixBits: 48,
      riskySignInLevels: ["medium", "high"],
      riskDetectionLevels: ["medium", "high"],
      anonymizerIpPrefixes: [],
    });
    expect(DEFAULT_THRESHOLDS.legacyClientApps).toContain("IMAP4");
    expect(DEFAULT_THRESHOLDS.mfaFailureErrorCodes).toEqual(expect.arrayContaining([500121, 50074, 50076]));
  });

  it("keeps the defaults an operator does not override (JSON in, JSON out)", () => {
    const parsed = DetectionThresholdsSchema.parse(JSON.parse('{"sprayMinDistinctUsers": 12, "anonymizerIpPrefixes": ["185.220.0.0/16"]}'));
    expect(parsed.sprayMinDistinctUsers).toBe(12);
    expect(parsed.anonymizerIpPrefixes).toEqual(["185.220.0.0/16"]);
    expect(parsed.bruteForceMinFailures).toBe(10);
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(parsed);
  });

  it("gives every parse its own lists (a caller mutating one does not change the defaults); the defaults are frozen", () => {
    const a = DetectionThresholdsSchema.parse({});
    a.legacyClientApps.push("Browser");
    expect(DetectionThresholdsSchema.parse({}).legacyClientApps).not.toContain("Browser");
    expect(DEFAULT_THRESHOLDS.legacyClientApps).not.toContain("Browser");
    expect(() => { DEFAULT_THRESHOLDS.legacyClientApps.push("Browser"); }).toThrow(TypeError);
  });

  it("works as .partial() too (validates an override alone, still filling defaults and refusing typos)", () => {
    const partial = DetectionThresholdsSchema.partial();
    expect(partial.parse({ sprayMinDistinctUsers: 3 })).toEqual({ ...DEFAULT_THRESHOLDS, sprayMinDistinctUsers: 3 });
    expect(partial.safeParse({ sprayMinDistinctUsers: 1 }).success).toBe(false);
    expect(partial.safeParse({ sprayMinDistinctUser: 3 }).success).toBe(false);
  });

  it.each([
    ["an unknown key (a typo)", { sprayMinDistinctUser: 3 }],
    ["a spray of one user", { sprayMinDistinctUsers: 1 }],
    ["a zero window", { sprayWindowMinutes: 0 }],
    ["a fractional count", { bruteForceMinFailures: 2.5 }],
    ["no error codes", { sprayErrorCodes: [] }],
    ["a bad CIDR", { anonymizerIpPrefixes: ["185.220.0.0/33"] }],
    ["a prefix that is not an address", { anonymizerIpPrefixes: ["tor exit nodes"] }],
    ["an activity without severity", { roleAssignmentActivities: [{ activity: "Add member to role" }] }],
    ["a negative speed", { travelMaxSpeedKmh: -1 }],
  ])("refuses %s", (_label, input) => {
    expect(DetectionThresholdsSchema.safeParse(input).success).toBe(false);
  });
});

describe("IP addresses", () => {
  it("parses IPv4 and IPv6 (compressed, embedded IPv4, mapped IPv4, zone)", () => {
    expect(Array.from(parseIp("131.107.159.37") ?? [])).toEqual([131, 107, 159, 37]);
    expect(parseIp("2001:db8::1")?.length).toBe(16);
    expect(Array.from(parseIp("::ffff:192.0.2.1") ?? [])).toEqual([192, 0, 2, 1]);
    expect(Array.from(parseIp("64:ff9b::192.0.2.1") ?? []).slice(12)).toEqual([192, 0, 2, 1]);
    expect(parseIp("fe80::1%eth0")?.length).toBe(16);
    for (const bad of ["", "1.2.3", "1.2.3.256", "123.456.7.89", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", "tor"]) expect(parseIp(bad)).toBeUndefined();
  });

  it("names the network of an address", () => {
    expect(networkOf("131.107.159.37", 16, 48)).toBe("131.107.0.0/16");
    expect(networkOf("131.107.159.37", 20, 48)).toBe("131.107.144.0/20");
    expect(networkOf("2001:db8:abcd:12::1", 16, 48)).toBe("2001:db8:abcd:0:0:0:0:0/48");
    expect(networkOf("not an ip", 16, 48)).toBeUndefined();
  });

  it("matches CIDR prefixes of the same family only", () => {
    const tor = parseCidr("185.220.0.0/16");
    const v6 = parseCidr("2a0b:f4c0::/32");
    if (!tor || !v6) throw new Error("unparsed");
    expect(cidrContains(tor, parseIp("185.220.101.1") ?? new Uint8Array())).toBe(true);
    expect(cidrContains(tor, parseIp("185.221.0.1") ?? new Uint8Array())).toBe(false);
    expect(cidrContains(v6, parseIp("2a0b:f4c0:2::9") ?? new Uint8Array())).toBe(true);
    expect(cidrContains(v6, parseIp("185.220.101.1") ?? new Uint8Array())).toBe(false);
    expect(parseCidr("10.0.0.1")?.bits).toBe(32);
    expect(parseCidr("10.0.0.0/8x")).toBeUndefined();
  });
});
