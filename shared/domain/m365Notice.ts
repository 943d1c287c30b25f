import { z } from "zod";
import { contentHash } from "./contentHash.js";
import { htmlToText } from "./htmlToText.js";
import { toInstant } from "./instant.js";
import { NoticeSchema, type Notice } from "./notice.js";
import { zodProblems } from "./parseResult.js";

/**
 * Microsoft Graph `serviceHealthIssue` (GET /admin/serviceAnnouncement/issues), normalised into a notice.
 * Resource: https://learn.microsoft.com/graph/api/resources/servicehealthissue. Samples and quirks:
 * ../shared/fixtures/microsoft-docs/SOURCES.md — enum values arrive in PascalCase in the list sample ("Incident",
 * "ServiceRestored") and camelCase in the resource page and the CLI for Microsoft 365 output ("advisory",
 * "serviceRestored"), so enums are compared case-insensitively and stored in the documented camelCase.
 */

/** Documented `serviceHealthClassificationType` values. */
export const M365_CLASSIFICATIONS = ["advisory", "incident", "unknownFutureValue"] as const;
/** Documented `serviceHealthStatus` values. */
export const M365_STATUSES = [
  "serviceOperational", "investigating", "restoringService", "verifyingService", "serviceRestored",
  "postIncidentReviewPublished", "serviceDegradation", "serviceInterruption", "extendedRecovery", "falsePositive",
  "investigationSuspended", "resolved", "mitigatedExternal", "mitigated", "resolvedExternal", "confirmed", "reported",
  "unknownFutureValue",
] as const;

/**
 * An evolvable Graph enum: any non-empty string is accepted (Graph adds members after `unknownFutureValue` and a new
 * status must not make us drop a notice), a known one is returned in its documented spelling.
 */
function evolvableEnum(known: readonly string[]) {
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  return z.string().trim().min(1).transform((v) => byLower.get(v.toLowerCase()) ?? v);
}

/** Graph sends 7 fractional digits and `Z` ("2022-08-18T16:46:04.1330000Z"); offsets are allowed too. */
const graphInstant = z.iso.datetime({ offset: true });

/** One post (communication) of an issue; `description.content` is HTML. */
export const ServiceHealthIssuePostSchema = z.looseObject({
  createdDateTime: graphInstant.nullish(),
  postType: z.string().nullish(),
  description: z
    .looseObject({ contentType: z.string().nullish(), content: z.string().nullish() })
    .nullish(),
});

/** The Graph `serviceHealthIssue` resource, as far as blindwindow relies on it. Unknown properties are kept. */
export const ServiceHealthIssueSchema = z.looseObject({
  id: z.string().trim().min(1).max(512),
  title: z.string().max(4096),
  service: z.string().trim().min(1),
  impactDescription: z.string().nullish(),
  classification: evolvableEnum(M365_CLASSIFICATIONS).nullish(),
  status: evolvableEnum(M365_STATUSES).nullish(),
  origin: z.string().nullish(),
  feature: z.string().nullish(),
  featureGroup: z.string().nullish(),
  isResolved: z.boolean().nullish(),
  highImpact: z.boolean().nullish(),
  details: z.array(z.looseObject({ name: z.string().nullish(), value: z.string().nullish() })).nullish(),
  posts: z.array(ServiceHealthIssuePostSchema).nullish(),
  startDateTime: graphInstant,
  endDateTime: graphInstant.nullish(),
  lastModifiedDateTime: graphInstant,
});
export type ServiceHealthIssue = z.infer<typeof ServiceHealthIssueSchema>;

export type M365NoticeResult = { ok: true; notice: Notice } | { ok: false; errors: string[] };

/**
 * Does this JSON look like a Graph serviceHealthIssue (whatever else is wrong with it)? It has `id`, `title`,
 * `service`, `posts` and a `status` or `classification` — together these set it apart from Azure alerts (which have
 * `schemaId`) and manual notices (which have `body`).
 */
export function isServiceHealthIssue(json: unknown): boolean {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return false;
  const o = json as Record<string, unknown>;
  return typeof o.id === "string" && typeof o.title === "string" && typeof o.service === "string" &&
    Array.isArray(o.posts) && (typeof o.status === "string" || typeof o.classification === "string");
}

/**
 * Normalises a Graph serviceHealthIssue into a notice revision. `tenantId` is the tenant it was polled for. The
 * revision is `lastModifiedDateTime~hash(posts)[~tenant]`: Graph bumps lastModifiedDateTime when it adds a post, and
 * the hash tells two payloads with the same timestamp but different posts apart. Graph issue ids are global
 * (MO123456 is the same incident in every tenant that sees it), so a polled revision also names its tenant: each
 * tenant's sighting is its own revision, and processing (which folds the tenants of all revisions) matches every
 * tenant that saw it, not only the first one polled.
 */
export function normaliseServiceHealthIssue(json: unknown, tenantId?: string): M365NoticeResult {
  const parsed = ServiceHealthIssueSchema.safeParse(json);
  if (!parsed.success) return { ok: false, errors: zodProblems(parsed.error) };
  const issue = parsed.data;
  const publishedAt = toInstant(issue.lastModifiedDateTime);
  const impactStart = toInstant(issue.startDateTime);
  const impactEnd = issue.endDateTime ? toInstant(issue.endDateTime) : undefined;
  if (!publishedAt || !impactStart) return { ok: false, errors: ["lastModifiedDateTime/startDateTime: not an ISO 8601 timestamp"] };

  const posts = issue.posts ?? [];
  const postTexts = posts.map((post) => postToText(post.description?.content ?? "")).filter((t) => t.length > 0);
  const text = [repairMojibake(issue.impactDescription ?? "").trim(), ...postTexts].filter((t) => t.length > 0).join("\n\n");
  const notice: Notice = {
    source: "m365",
    id: issue.id,
    revision: `${publishedAt}~${contentHash(posts, 16)}${tenantId ? `~${tenantId}` : ""}`,
    title: repairMojibake(issue.title).trim(),
    text,
    services: [issue.service],
    regions: [],
    subscriptionIds: [],
    tenantIds: tenantId ? [tenantId] : [],
    publishedAt,
    synthetic: false,
    ...(issue.classification ? { incidentType: issue.classification } : {}),
    ...(issue.status ? { stage: issue.status } : {}),
    impactStart,
    ...(impactEnd ? { impactEnd } : {}),
  };
  // Graph's own limits are not ours: an id over 512 characters would be stored but unreadable, so refuse it here.
  const valid = NoticeSchema.safeParse(notice);
  if (!valid.success) return { ok: false, errors: zodProblems(valid.error) };
  return { ok: true, notice };
}

/**
 * Plain text of one post. Posts are HTML in principle but often plain text with `\n`; some (EX415080) carry a stray
 * backslash before each line break, an escaping artefact of the portal, which is removed.
 */
function postToText(content: string): string {
  return htmlToText(repairMojibake(content.replace(/\\(?=\r?\n)/g, "")));
}

/**
 * UTF-8 punctuation mis-decoded as code page 437 (EX415080 reads "AdminsÔÇÖ" for "Admins’"). Only these exact
 * sequences are replaced, so correct text is never altered.
 */
const MOJIBAKE: ReadonlyArray<[string, string]> = [
  ["ÔÇÖ", "’"], ["ÔÇÿ", "‘"], ["ÔÇ£", "“"], ["ÔÇØ", "”"], ["ÔÇô", "–"], ["ÔÇö", "—"], ["ÔÇª", "…"],
];

function repairMojibake(text: string): string {
  return MOJIBAKE.reduce((acc, [bad, good]) => acc.split(bad).join(good), text);
}
