import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EVIDENCE_BLOCK_ID_LENGTH,
  EvidenceManifestSchema,
  evidenceBlobPath,
  evidenceBlockId,
  evidenceDayOf,
  evidenceDaySlices,
  evidenceManifestPath,
  evidencePathSegment,
  evidenceTenantPrefix,
  isEvidenceBlockId,
  isEvidencePath,
  sameEvidence,
  unescapeEvidencePathSegment,
  type EvidenceManifest,
} from "../../shared/domain/evidencePath.js";
import { LOG_SOURCE_IDS } from "../../shared/domain/logSource.js";

const TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/** Any UTF-16 code units, lone surrogates and control characters included: ids come from outside. Escaped, 33 units
 * fit a segment (at most 6 characters each). */
const anyText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength });

// eslint-disable-next-line no-control-regex -- control characters are what must never appear
const FORBIDDEN_IN_PATH = /\.\.|[\\#?%\u0000-\u001f\u007f-\u009f]/u;

describe("evidence path segments", () => {
  it("keep a GUID as it is", () => {
    expect(evidencePathSegment(TENANT)).toBe(TENANT);
  });

  it("escape everything else reversibly, into letters, digits, - and _ only", () => {
    expect(evidencePathSegment("../a b/%2F#?")).toBe("_2E_2E_2Fa_20b_2F_252F_23_3F");
    expect(evidencePathSegment("w1.g2")).toBe("w1_2Eg2");
    expect(evidencePathSegment("東\ud800")).toBe("_u6771_uD800");
    fc.assert(
      fc.property(anyText(30), (value) => {
        const segment = evidencePathSegment(value);
        expect(segment).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(unescapeEvidencePathSegment(segment)).toBe(value);
      }),
    );
  });

  it("never give two values the same segment", () => {
    fc.assert(
      fc.property(anyText(20), anyText(20), (a, b) => {
        fc.pre(a !== b);
        expect(evidencePathSegment(a)).not.toBe(evidencePathSegment(b));
      }),
    );
  });

  it("refuse empty and over-long values instead of cutting them", () => {
    expect(() => evidencePathSegment("")).toThrow(RangeError);
    expect(() => evidencePathSegment("é".repeat(100))).toThrow(/longer than 200/);
  });
});

describe("evidence blob paths", () => {
  it("name one blob per tenant, source, day and reviewed range of that day", () => {
    expect(evidenceBlobPath({ tenantId: TENANT, source: "entra-signin", day: "2024-09-02", windowId: "w0123456789abcdef", from: "2024-09-02T23:00:00Z", to: "2024-09-03T00:00:00Z" })).toBe(
      `signins/${TENANT}/2024/09/02/w0123456789abcdef_230000-240000.jsonl.gz`,
    );
    expect(evidenceBlobPath({ tenantId: TENANT, source: "entra-audit", day: "2024-09-03", windowId: "w1", from: "2024-09-03T00:00:00.000Z", to: "2024-09-03T05:30:15.250Z" })).toBe(
      `directory-audits/${TENANT}/2024/09/03/w1_000000-053015250.jsonl.gz`,
    );
  });

  it("tell apart ranges within the same minute (minutes alone would collide)", () => {
    const at = (from: string): string => evidenceBlobPath({ tenantId: TENANT, source: "entra-signin", day: "2024-09-02", windowId: "w", from, to: "2024-09-02T23:30:00Z" });
    expect(at("2024-09-02T23:00:00Z")).not.toBe(at("2024-09-02T23:00:30Z"));
    expect(at("2024-09-02T23:00:00Z")).toBe(at("2024-09-02T23:00:00.000Z"));
  });

  it("refuse days that do not exist and ranges outside their day", () => {
    const base = { tenantId: TENANT, source: "entra-signin" as const, windowId: "w" };
    expect(() => evidenceBlobPath({ ...base, day: "2024-02-30", from: "2024-03-01T00:00:00Z", to: "2024-03-01T01:00:00Z" })).toThrow(/calendar day/);
    expect(() => evidenceBlobPath({ ...base, day: "2024-9-2", from: "2024-09-02T00:00:00Z", to: "2024-09-02T01:00:00Z" })).toThrow(/calendar day/);
    expect(() => evidenceBlobPath({ ...base, day: "2024-09-02", from: "2024-09-01T23:00:00Z", to: "2024-09-02T01:00:00Z" })).toThrow(/within/);
    expect(() => evidenceBlobPath({ ...base, day: "2024-09-02", from: "2024-09-02T23:00:00Z", to: "2024-09-03T00:00:01Z" })).toThrow(/within/);
    expect(() => evidenceBlobPath({ ...base, day: "2024-09-02", from: "2024-09-02T10:00:00Z", to: "2024-09-02T10:00:00Z" })).toThrow(/within/);
    expect(() => evidenceBlobPath({ ...base, day: "2024-09-02", from: "yesterday", to: "2024-09-02T10:00:00Z" })).toThrow(/ISO-8601/);
    expect(() => evidenceBlobPath({ ...base, source: "nope" as "sentinel", day: "2024-09-02", from: "2024-09-02T00:00:00Z", to: "2024-09-02T01:00:00Z" })).toThrow();
  });

  it("never contain .., \\, #, ?, % or control characters, whatever the tenant and window ids", () => {
    fc.assert(
      fc.property(anyText(33), anyText(33), fc.constantFrom(...LOG_SOURCE_IDS), fc.integer({ min: 0, max: 86_399_999 }), fc.integer({ min: 1, max: 86_400_000 }), (tenantId, windowId, source, a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b - 1, b];
        const day = Date.parse("2024-02-29T00:00:00Z");
        const path = evidenceBlobPath({ tenantId, source, day: "2024-02-29", windowId, from: new Date(day + lo).toISOString(), to: new Date(day + hi).toISOString() });
        expect(path).not.toMatch(FORBIDDEN_IN_PATH);
        expect(isEvidencePath(path)).toBe(true);
        expect(path.split("/")).toHaveLength(6);
        expect(path.startsWith(evidenceTenantPrefix(source, tenantId))).toBe(true);
        const manifest = evidenceManifestPath({ tenantId, source, windowId, from: new Date(day + lo).toISOString(), to: new Date(day + hi).toISOString() });
        expect(manifest).not.toMatch(FORBIDDEN_IN_PATH);
        expect(isEvidencePath(manifest)).toBe(true);
        expect(manifest.startsWith(evidenceTenantPrefix(source, tenantId))).toBe(true);
      }),
    );
  });

  it("keep tenants apart: no tenant's prefix is a prefix of another's", () => {
    fc.assert(
      fc.property(anyText(40), anyText(40), (a, b) => {
        fc.pre(a !== b);
        const pa = evidenceTenantPrefix("entra-signin", a);
        const pb = evidenceTenantPrefix("entra-signin", b);
        expect(pa.startsWith(pb) || pb.startsWith(pa)).toBe(false);
      }),
    );
  });

  it("recognise what this module builds and nothing that climbs or hides", () => {
    expect(isEvidencePath(`signins/${TENANT}/manifests/w_20240902T230000Z-20240903T000000Z.manifest.json`)).toBe(true);
    for (const bad of ["", "a//b", "../a", "a/./b", "a/..", "a/b..c", "a\\b", "a#b", "a?b", "a%2Fb", "a b", "a/\u0000", "x".repeat(1025)]) {
      expect(isEvidencePath(bad), bad).toBe(false);
    }
  });
});

describe("evidence manifest paths", () => {
  it("name one manifest per reviewed range of a window", () => {
    expect(evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w1", from: "2024-09-02T23:00:00Z", to: "2024-09-05T06:00:00.500Z" })).toBe(
      `signins/${TENANT}/manifests/w1_20240902T230000Z-20240905T060000500Z.manifest.json`,
    );
    expect(() => evidenceManifestPath({ tenantId: TENANT, source: "entra-signin", windowId: "w1", from: "2024-09-05T00:00:00Z", to: "2024-09-02T00:00:00Z" })).toThrow(/empty/);
  });
});

describe("evidence days", () => {
  it("cut a reviewed range at UTC midnights, contiguously", () => {
    expect(evidenceDaySlices("2024-09-02T23:00:00Z", "2024-09-04T05:00:00Z")).toEqual([
      { day: "2024-09-02", from: "2024-09-02T23:00:00.000Z", to: "2024-09-03T00:00:00.000Z" },
      { day: "2024-09-03", from: "2024-09-03T00:00:00.000Z", to: "2024-09-04T00:00:00.000Z" },
      { day: "2024-09-04", from: "2024-09-04T00:00:00.000Z", to: "2024-09-04T05:00:00.000Z" },
    ]);
    expect(evidenceDaySlices("2024-09-02T10:00:00Z", "2024-09-02T10:00:00Z")).toEqual([]);
    expect(evidenceDayOf("2024-09-02T23:59:59.999+00:00")).toBe("2024-09-02");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * 86_400_000 }), fc.integer({ min: 1, max: 40 * 86_400_000 }), (offset, length) => {
        const from = new Date(Date.parse("2024-09-01T00:00:00Z") + offset).toISOString();
        const to = new Date(Date.parse(from) + length).toISOString();
        const slices = evidenceDaySlices(from, to);
        expect(slices[0]?.from).toBe(from);
        expect(slices.at(-1)?.to).toBe(to);
        slices.forEach((s, i) => {
          if (i > 0) expect(s.from).toBe(slices[i - 1]?.to);
          expect(evidenceDayOf(s.from)).toBe(s.day);
          // Every slice names a valid blob.
          expect(isEvidencePath(evidenceBlobPath({ tenantId: TENANT, source: "entra-signin", windowId: "w", ...s }))).toBe(true);
        });
      }),
    );
  });
});

describe("evidence block ids", () => {
  const parts = fc.record({
    sliceStart: fc.integer({ min: Date.parse("2020-01-01T00:00:00Z"), max: Date.parse("2030-01-01T00:00:00Z") }).map((ms) => new Date(ms).toISOString()),
    stream: fc.oneof(fc.constantFrom("signIns:v1.0", "signIns:beta", "directoryAudits", "riskDetections"), fc.string({ minLength: 1, maxLength: 40 })),
    page: fc.nat({ max: 100_000 }),
  });

  it("are base64 of the same length for every input, as Azure requires within a blob", () => {
    fc.assert(
      fc.property(parts, (p) => {
        const id = evidenceBlockId(p);
        expect(id).toHaveLength(EVIDENCE_BLOCK_ID_LENGTH);
        expect(isEvidenceBlockId(id)).toBe(true);
        expect(Buffer.from(id, "base64").toString("base64")).toBe(id);
        expect(Buffer.from(id, "base64")).toHaveLength(24);
      }),
    );
  });

  it("are distinct for distinct pages and equal for the same page", () => {
    fc.assert(
      fc.property(fc.uniqueArray(parts, { selector: (p) => JSON.stringify([p.sliceStart, p.stream, p.page]), minLength: 2, maxLength: 200 }), (all) => {
        const ids = all.map(evidenceBlockId);
        expect(new Set(ids).size).toBe(all.length);
        expect(all.map(evidenceBlockId)).toEqual(ids);
      }),
    );
    // Neighbours that a concatenation would confuse stay apart.
    expect(evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "a", page: 11 })).not.toBe(evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "a1", page: 1 }));
  });

  it("do not depend on how the slice start is written", () => {
    const a = evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "signIns:beta", page: 3 });
    expect(evidenceBlockId({ sliceStart: "2024-09-02T23:00:00.000Z", stream: "signIns:beta", page: 3 })).toBe(a);
    expect(evidenceBlockId({ sliceStart: "2024-09-03T01:00:00+02:00", stream: "signIns:beta", page: 3 })).toBe(a);
  });

  it("refuse parts that are not a page", () => {
    expect(() => evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "s", page: -1 })).toThrow(RangeError);
    expect(() => evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "s", page: 1.5 })).toThrow(RangeError);
    expect(() => evidenceBlockId({ sliceStart: "2024-09-02T23:00:00Z", stream: "", page: 0 })).toThrow(RangeError);
    expect(() => evidenceBlockId({ sliceStart: "soon", stream: "s", page: 0 })).toThrow(RangeError);
    expect(isEvidenceBlockId("AAAA")).toBe(false);
    expect(isEvidenceBlockId(`${"A".repeat(31)}=`)).toBe(false);
  });
});

describe("evidence manifest schema", () => {
  const path = `signins/${TENANT}/2024/09/02/w1_230000-240000.jsonl.gz`;
  const manifest: EvidenceManifest = {
    v: 1,
    tenantId: TENANT,
    windowId: "w1",
    source: "entra-signin",
    window: { start: "2024-09-02T23:00:00.000Z", end: null },
    reviewed: { from: "2024-09-02T23:00:00.000Z", to: "2024-09-03T00:00:00.000Z" },
    createdAt: "2024-09-20T12:00:00.000Z",
    streams: [
      { stream: "signIns:v1.0", request: "GET /v1.0/auditLogs/signIns", filter: "createdDateTime ge 2024-09-02T23:00:00Z and createdDateTime lt 2024-09-03T00:00:00Z", pages: 2, records: 1500 },
      { stream: "signIns:beta", request: "GET /beta/auditLogs/signIns", filter: "(signInEventTypes/any(t: t ne 'interactiveUser'))", select: ["id", "createdDateTime"], pages: 1, records: 20 },
    ],
    blobs: [{ path, day: "2024-09-02", from: "2024-09-02T23:00:00.000Z", to: "2024-09-03T00:00:00.000Z", records: 1520, bytes: 200_000, sha256: "a".repeat(64) }],
    totals: { blobs: 1, records: 1520, bytes: 200_000 },
  };

  it("accepts a complete manifest", () => {
    expect(EvidenceManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it("refuses totals that do not add up, a blob listed twice, an empty range, a bad hash or path", () => {
    expect(EvidenceManifestSchema.safeParse({ ...manifest, totals: { ...manifest.totals, records: 1 } }).success).toBe(false);
    const blob = manifest.blobs[0];
    if (!blob) throw new Error("fixture");
    expect(EvidenceManifestSchema.safeParse({ ...manifest, blobs: [blob, blob], totals: { blobs: 2, records: 3040, bytes: 400_000 } }).success).toBe(false);
    expect(EvidenceManifestSchema.safeParse({ ...manifest, reviewed: { from: "2024-09-03T00:00:00.000Z", to: "2024-09-03T00:00:00.000Z" } }).success).toBe(false);
    expect(EvidenceManifestSchema.safeParse({ ...manifest, blobs: [{ ...blob, sha256: "A".repeat(64) }] }).success).toBe(false);
    expect(EvidenceManifestSchema.safeParse({ ...manifest, blobs: [{ ...blob, path: "signins/../x" }] }).success).toBe(false);
  });

  it("compares evidence without the time the manifest was written", () => {
    expect(sameEvidence(manifest, { ...manifest, createdAt: "2024-09-21T00:00:00.000Z" })).toBe(true);
    expect(sameEvidence(manifest, { ...manifest, totals: { ...manifest.totals } })).toBe(true);
    expect(sameEvidence(manifest, { ...manifest, windowId: "w2" })).toBe(false);
  });
});
