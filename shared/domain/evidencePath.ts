import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "./contentHash.js";
import { toInstant } from "./instant.js";
import { LogSourceIdSchema, type LogSourceId } from "./logSource.js";

/**
 * Where preserved evidence lives in the evidence container, and the ids of its blocks (DESIGN.md "control":
 * `preserve`). Every name is built here and nowhere else, from validated or escaped parts, so that a path can never
 * climb out of its folder or collide with another tenant's.
 *
 * Layout (one blob per tenant, source and day, per reviewed range of that day; one manifest per reviewed range):
 *
 *   signins/<tenant>/<yyyy>/<mm>/<dd>/<windowId>_<HHmmss>-<HHmmss>.jsonl.gz
 *   signins/<tenant>/manifests/<windowId>_<yyyymmddTHHmmssZ>-<yyyymmddTHHmmssZ>.manifest.json
 *
 * Times have seconds (and milliseconds when not zero): with minutes only, two ranges inside the same minute would
 * name the same blob, and the second commit would be refused as a conflict. A range that reaches midnight ends at
 * `240000`.
 */

/** Folder per log source; the Graph-replayable sources get the names of the Graph collections they come from. */
export const EVIDENCE_FOLDERS: Readonly<Record<LogSourceId, string>> = {
  "entra-signin": "signins",
  "entra-audit": "directory-audits",
  "entra-risk": "risk-detections",
  sentinel: "sentinel",
  "defender-cloud": "defender-cloud",
  "defender-xdr": "defender-xdr",
  "purview-audit": "purview-audit",
  "azure-activity": "azure-activity",
  "azure-monitor": "azure-monitor",
};

/** Blob names are at most 1,024 characters; one segment of ours stays far below so a path always fits. */
const MAX_SEGMENT_CHARS = 200;
const MAX_PATH_CHARS = 1024;
const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const SAFE_CHAR = /^[A-Za-z0-9-]$/;

/**
 * One path segment from untrusted text. Letters, digits and `-` stay; every other UTF-16 code unit becomes `_XX`
 * (up to U+00FF) or `_uXXXX` (upper-case hex). `_` always starts an escape and `u` is no hex digit, so the mapping is
 * reversible and two different values never share a segment; `.`, `/`, `\`, `#`, `?`, `%` and control characters
 * never appear, so neither do `..` nor a second path level. Lone surrogates are escaped like any code unit (UTF-8
 * encoding would have merged them into U+FFFD).
 */
export function evidencePathSegment(value: string): string {
  if (value.length === 0) throw new RangeError("An evidence path segment cannot be empty");
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (SAFE_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    const code = value.charCodeAt(i);
    out += code <= 0xff ? `_${code.toString(16).toUpperCase().padStart(2, "0")}` : `_u${code.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  if (out.length > MAX_SEGMENT_CHARS) throw new RangeError(`An evidence path segment is longer than ${String(MAX_SEGMENT_CHARS)} characters once escaped`);
  return out;
}

/** Reverses `evidencePathSegment`. */
export function unescapeEvidencePathSegment(segment: string): string {
  return segment.replace(/_(?:u([0-9A-F]{4})|([0-9A-F]{2}))/g, (_m, wide: string | undefined, narrow: string | undefined) =>
    String.fromCharCode(parseInt(wide ?? narrow ?? "", 16)),
  );
}

/**
 * True for a path this module could have built: `/`-separated segments of `[A-Za-z0-9._-]`, none empty, none made of
 * dots only, at most 1,024 characters. Adapters check every path they are given with it.
 */
export function isEvidencePath(path: string): boolean {
  if (path.length === 0 || path.length > MAX_PATH_CHARS) return false;
  return path.split("/").every((segment) => /^[A-Za-z0-9._-]+$/.test(segment) && !/^\.+$/.test(segment) && !segment.includes(".."));
}

function folderOf(source: LogSourceId): string {
  return EVIDENCE_FOLDERS[LogSourceIdSchema.parse(source)];
}

/** Milliseconds of an ISO instant; throws for anything else (a bug upstream, not user input). */
function instantMs(value: string, what: string): number {
  const iso = toInstant(value);
  if (iso === undefined) throw new RangeError(`${what} is not an ISO-8601 instant: ${JSON.stringify(value.slice(0, 40))}`);
  return Date.parse(iso);
}

/** Midnight UTC of a `YYYY-MM-DD` calendar day; throws for anything else, including days that do not exist. */
function dayStartMs(day: string): number {
  const m = DAY.exec(day);
  const ms = m ? Date.parse(`${day}T00:00:00.000Z`) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new RangeError(`Not a calendar day (YYYY-MM-DD): ${JSON.stringify(day.slice(0, 20))}`);
  }
  return ms;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `HHmmss` (+ `SSS` when not zero) of an offset into a day; 24:00 is `240000`. */
function timeOfDay(offsetMs: number): string {
  const hours = Math.floor(offsetMs / 3_600_000);
  const minutes = Math.floor((offsetMs % 3_600_000) / 60_000);
  const seconds = Math.floor((offsetMs % 60_000) / 1000);
  const millis = offsetMs % 1000;
  return `${pad(hours)}${pad(minutes)}${pad(seconds)}${millis === 0 ? "" : pad(millis, 3)}`;
}

/** `YYYYMMDDTHHmmss[SSS]Z`: an instant with only safe characters. */
function compactInstant(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-09-02T23:00:00.000Z
  const millis = iso.slice(20, 23);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${millis === "000" ? "" : millis}Z`;
}

export interface EvidenceBlobPathParts {
  tenantId: string;
  source: LogSourceId;
  /** UTC calendar day, `YYYY-MM-DD`. */
  day: string;
  windowId: string;
  /** Start of the reviewed range on that day (inclusive), an ISO instant on `day`. */
  from: string;
  /** End of the reviewed range on that day (exclusive), after `from`, at most the next midnight. */
  to: string;
}

/** The immutable name of one day's evidence blob (gzip JSON lines). */
export function evidenceBlobPath(parts: EvidenceBlobPathParts): string {
  const start = dayStartMs(parts.day);
  const from = instantMs(parts.from, "from");
  const to = instantMs(parts.to, "to");
  if (from < start || to > start + DAY_MS || from >= to) {
    throw new RangeError(`The range ${parts.from} – ${parts.to} is not a non-empty range within ${parts.day}`);
  }
  const [yyyy, mm, dd] = parts.day.split("-") as [string, string, string];
  return [
    folderOf(parts.source),
    evidencePathSegment(parts.tenantId),
    yyyy,
    mm,
    dd,
    `${evidencePathSegment(parts.windowId)}_${timeOfDay(from - start)}-${timeOfDay(to - start)}.jsonl.gz`,
  ].join("/");
}

export interface EvidenceManifestPathParts {
  tenantId: string;
  source: LogSourceId;
  windowId: string;
  /** The reviewed range the manifest describes. */
  from: string;
  to: string;
}

/** The immutable name of the manifest of one reviewed range of a window. */
export function evidenceManifestPath(parts: EvidenceManifestPathParts): string {
  const from = instantMs(parts.from, "from");
  const to = instantMs(parts.to, "to");
  if (from >= to) throw new RangeError(`The reviewed range ${parts.from} – ${parts.to} is empty`);
  return [
    folderOf(parts.source),
    evidencePathSegment(parts.tenantId),
    "manifests",
    `${evidencePathSegment(parts.windowId)}_${compactInstant(from)}-${compactInstant(to)}.manifest.json`,
  ].join("/");
}

/** Everything preserved for one tenant and source (days and manifests), for `EvidenceStore.list`. Ends with `/`. */
export function evidenceTenantPrefix(source: LogSourceId, tenantId: string): string {
  return `${folderOf(source)}/${evidencePathSegment(tenantId)}/`;
}

/** One UTC day of a reviewed range: what one evidence blob holds. */
export interface EvidenceDaySlice {
  day: string;
  from: string;
  to: string;
}

/**
 * Cuts a reviewed range [from, to) at UTC midnights: one slice per blob. A record belongs to the slice whose day
 * its timestamp falls on (`evidenceDayOf`).
 */
export function evidenceDaySlices(from: string, to: string): EvidenceDaySlice[] {
  let cursor = instantMs(from, "from");
  const end = instantMs(to, "to");
  const slices: EvidenceDaySlice[] = [];
  while (cursor < end) {
    const nextMidnight = Math.floor(cursor / DAY_MS) * DAY_MS + DAY_MS;
    const sliceEnd = Math.min(nextMidnight, end);
    slices.push({ day: new Date(cursor).toISOString().slice(0, 10), from: new Date(cursor).toISOString(), to: new Date(sliceEnd).toISOString() });
    cursor = sliceEnd;
  }
  return slices;
}

/** The UTC day (`YYYY-MM-DD`) of an instant: which day's blob a record goes to. */
export function evidenceDayOf(instant: string): string {
  return new Date(instantMs(instant, "instant")).toISOString().slice(0, 10);
}

/** What identifies one staged page: the control slice it belongs to, the Graph stream, and the page's index in it. */
export interface EvidenceBlockParts {
  /** Start of the control slice (an ISO instant; normalised, so `…00Z` and `…00.000Z` give the same id). */
  sliceStart: string;
  /** Graph stream, e.g. `signIns:v1.0`, `signIns:beta`, `directoryAudits`. */
  stream: string;
  /** Index of the page within the stream and slice, from 0. */
  page: number;
}

/** Bytes of a block id before base64: 24 bytes encode to 32 characters without padding. */
const BLOCK_ID_BYTES = 24;
export const EVIDENCE_BLOCK_ID_LENGTH = 32;

/**
 * The block id of one page. Azure requires every block id of a blob to be base64 of the same length (at most 64
 * bytes before encoding; https://learn.microsoft.com/rest/api/storageservices/put-block), so the id is the first 24
 * bytes of a SHA-256 of the parts, never the parts themselves. Derived from content, not from arrival: a worker that
 * resumes and reads the same page again stages it under the same id (overwriting the uncommitted block), and the
 * runner can recompute the whole block list from its checkpoint.
 */
export function evidenceBlockId(parts: EvidenceBlockParts): string {
  if (!Number.isSafeInteger(parts.page) || parts.page < 0) throw new RangeError(`page must be a non-negative integer, got ${String(parts.page)}`);
  if (parts.stream.length === 0) throw new RangeError("stream cannot be empty");
  const sliceStart = new Date(instantMs(parts.sliceStart, "sliceStart")).toISOString();
  const digest = createHash("sha256").update(canonicalJson({ v: 1, sliceStart, stream: parts.stream, page: parts.page })).digest();
  return digest.subarray(0, BLOCK_ID_BYTES).toString("base64");
}

/** True for an id `evidenceBlockId` could have made (32 base64 characters, no padding). */
export function isEvidenceBlockId(id: string): boolean {
  return /^[A-Za-z0-9+/]{32}$/.test(id);
}

const Instant = z.iso.datetime();
const Count = z.number().int().nonnegative();
const DaySchema = z.string().regex(DAY, "must be YYYY-MM-DD");

/** One committed evidence blob, as the manifest lists it. */
export const EvidenceBlobEntrySchema = z.object({
  path: z.string().refine(isEvidencePath, "must be an evidence path"),
  day: DaySchema,
  /** The part of the reviewed range this blob covers. */
  from: Instant,
  to: Instant,
  records: Count,
  /** Size of the stored (gzip) bytes. */
  bytes: Count,
  /** SHA-256 (lower-case hex) of the stored bytes, computed by reading them back after the commit. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex SHA-256"),
});
export type EvidenceBlobEntry = z.infer<typeof EvidenceBlobEntrySchema>;

/** One Graph stream read for the evidence: what was asked, so anyone can tell what the blobs can and cannot contain. */
export const EvidenceStreamSchema = z.object({
  /** e.g. `signIns:v1.0`, `signIns:beta`, `directoryAudits`. */
  stream: z.string().min(1),
  /** Method and path, e.g. `GET /beta/auditLogs/signIns`. */
  request: z.string().min(1),
  /** The `$filter` sent, verbatim. */
  filter: z.string(),
  /** The `$select` sent, when there was one. */
  select: z.array(z.string()).optional(),
  pages: Count,
  records: Count,
});
export type EvidenceStream = z.infer<typeof EvidenceStreamSchema>;

/**
 * The manifest of one reviewed range of a window: what was read, where it went, and hashes to prove it has not
 * changed. Written once, after every blob it lists is committed; immutable like the blobs.
 */
export const EvidenceManifestSchema = z
  .object({
    v: z.literal(1),
    tenantId: z.string().min(1),
    windowId: z.string().min(1),
    source: LogSourceIdSchema,
    /** The blind window as known when the evidence was taken (end null while open). */
    window: z.object({ start: Instant, end: Instant.nullable() }),
    /** The range actually read and preserved. */
    reviewed: z.object({ from: Instant, to: Instant }),
    /** When the manifest was first written (a retry that writes the same manifest keeps the first). */
    createdAt: Instant,
    streams: z.array(EvidenceStreamSchema),
    blobs: z.array(EvidenceBlobEntrySchema),
    totals: z.object({ blobs: Count, records: Count, bytes: Count }),
  })
  .superRefine((m, ctx) => {
    if (Date.parse(m.reviewed.from) >= Date.parse(m.reviewed.to)) {
      ctx.addIssue({ code: "custom", path: ["reviewed"], message: "from must be before to" });
    }
    const paths = new Set(m.blobs.map((b) => b.path));
    if (paths.size !== m.blobs.length) ctx.addIssue({ code: "custom", path: ["blobs"], message: "lists a blob twice" });
    const sums = m.blobs.reduce((t, b) => ({ blobs: t.blobs + 1, records: t.records + b.records, bytes: t.bytes + b.bytes }), { blobs: 0, records: 0, bytes: 0 });
    for (const key of ["blobs", "records", "bytes"] as const) {
      if (m.totals[key] !== sums[key]) {
        ctx.addIssue({ code: "custom", path: ["totals", key], message: `is ${String(m.totals[key])} but the blobs add up to ${String(sums[key])}` });
      }
    }
  });
export type EvidenceManifest = z.infer<typeof EvidenceManifestSchema>;

/**
 * Two manifests describe the same evidence: equal in everything but `createdAt` (a run that resumes after a crash
 * writes the manifest again with a new time).
 */
export function sameEvidence(a: EvidenceManifest, b: EvidenceManifest): boolean {
  const { createdAt: _a, ...restA } = a;
  const { createdAt: _b, ...restB } = b;
  return canonicalJson(restA) === canonicalJson(restB);
}
