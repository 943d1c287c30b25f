import { z } from "zod";
import { toInstant } from "./instant.js";
import { LogSourceIdSchema } from "./logSource.js";
import type { ParseResult } from "./parseResult.js";

/**
 * The tenant registry's profile (DESIGN.md "Vocabulary": tenant). Tenant and subscription ids are GUIDs stored
 * lower-case, because Azure Monitor notices carry them in whatever case the resource id had
 * (`/subscriptions/{id}` in `alertTargetIDs`) and matching must not depend on it.
 */

/** Largest import accepted at once (a managed security provider's whole book fits; a runaway file does not). */
export const MAX_TENANTS_PER_IMPORT = 5000;

// z.guid, not z.uuid: Azure ids are not always RFC 9562 UUIDs (the documented test-action sample uses
// 11111111-1111-1111-1111-111111111111, whose variant bits z.uuid refuses).
const guid = (what: string) =>
  z
    .string()
    .trim()
    .pipe(z.guid({ error: `must be a ${what} (GUID)` }))
    .transform((id) => id.toLowerCase());

const email = z.string().trim().pipe(z.email({ error: "must be a valid e-mail address" }));

/** Licences that decide how long Entra keeps sign-in and audit logs. */
export const LICENCES = ["free", "p1", "p2"] as const;
export const LicenceSchema = z.enum(LICENCES, { error: `must be one of ${LICENCES.join(", ")}` });
export type Licence = z.infer<typeof LicenceSchema>;

/**
 * Days Entra keeps sign-in and audit logs: 7 days without a premium licence, 30 days with Entra ID P1 or P2
 * (https://learn.microsoft.com/entra/identity/monitoring-health/reference-reports-data-retention).
 */
const RETENTION_DAYS: Readonly<Record<Licence, number>> = { free: 7, p1: 30, p2: 30 };
const DAY_MS = 24 * 60 * 60 * 1000;

export function retentionDays(licence: Licence): number {
  return RETENTION_DAYS[licence];
}

/**
 * What to do with a tenant's sign-ins when Graph refuses them for want of Entra ID P1/P2 (403
 * Authentication_RequestFromNonPremiumTenantOrB2CTenant): the admin center still shows them for the Free retention.
 */
export const SIGN_IN_PORTAL_EXPORT = "download them from the Entra admin center (Sign-in logs › Download, every tab)";

/** When the oldest hour of a window that starts at `windowStart` leaves Entra retention (DESIGN.md "review deadline"). */
export function reviewDeadline(windowStart: Date, licence: Licence): Date {
  return new Date(windowStart.getTime() + retentionDays(licence) * DAY_MS);
}

/**
 * Region names compare case- and space-insensitively: Service Health names regions by display name ("West Europe"),
 * ARM by programmatic name ("westeurope"); both normalise to "westeurope".
 */
export function normaliseRegion(region: string): string {
  return region.replace(/\s+/gu, "").toLowerCase();
}

const region = z
  .string()
  .trim()
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9 ]*$/u, 'must be an Azure region display name such as "West Europe", or "Global"')
  .transform((name) => name.replace(/\s+/gu, " "));

/** Refuses repeated items of an array (by `key`), naming the earlier position. */
function unique<T extends z.ZodType>(item: T, key: (value: z.output<T>) => string, max: number) {
  return z
    .array(item)
    .max(max)
    .superRefine((values, ctx) => {
      const seen = new Map<string, number>();
      values.forEach((value, index) => {
        const k = key(value);
        const first = seen.get(k);
        if (first === undefined) seen.set(k, index);
        else ctx.addIssue({ code: "custom", path: [index], message: `duplicate of item ${first}` });
      });
    });
}

// Planner ids are opaque base64url-like strings ("xqQg5FS2LkCp935s-FIFm2QAFkHM").
const plannerId = z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/u, "must be a Planner id");

/**
 * A Teams Workflows webhook URL: https on a domain name; or http on a loopback host, which only the local Graph
 * simulator serves (as graphCredentials.ts allows a loopback http Graph base URL for it).
 */
function isWorkflowUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return z.regexes.domain.test(url.hostname);
  return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "[::1]" || /^127(\.\d{1,3}){3}$/u.test(url.hostname));
}

/** Where a tenant's tasks go. */
export const TenantContactsSchema = z.strictObject({
  /** People who receive every task by e-mail. */
  emails: unique(email, (e) => e.toLowerCase(), 50).min(1, "at least one e-mail address is required"),
  /** Teams Workflows webhook ("When a Teams webhook request is received"): app-only Graph cannot post to channels. */
  teamsWorkflowUrl: z.string().trim().refine(isWorkflowUrl, { error: "must be an https URL" }).optional(),
  planner: z.strictObject({ planId: plannerId, bucketId: plannerId }).optional(),
  /** Mailbox (UPN) that sends task e-mail through Graph `sendMail`. */
  mailSender: email.optional(),
  /** Who is told when a task is overdue. */
  escalation: email.optional(),
});

/** A customer tenant blindwindow protects. Unknown keys are refused, so a typo is reported rather than ignored. */
export const TenantProfileSchema = z.strictObject({
  tenantId: guid("tenant id"),
  name: z.string().trim().min(1, "name is required").max(256),
  /** Azure subscriptions of the tenant, for matching Azure Monitor notices (which name subscriptions, not tenants). */
  subscriptions: unique(guid("subscription id"), (s) => s, 2000),
  /** Azure regions the tenant runs in, by display name ("West Europe"), or "Global". */
  regions: unique(region, normaliseRegion, 100),
  /** Log sources the tenant relies on. */
  logSources: unique(LogSourceIdSchema, (s) => s, 50).min(1, "at least one log source is required"),
  licence: LicenceSchema,
  onboardedAt: z
    .string()
    .refine((v) => toInstant(v) !== undefined, "must be an ISO 8601 instant, e.g. 2024-06-01T00:00:00Z")
    .transform((v) => toInstant(v) ?? v),
  contacts: TenantContactsSchema,
});
export type TenantProfile = z.infer<typeof TenantProfileSchema>;

/** One line per problem, `path: message`, with every path under `prefix` (e.g. `tenants.3`). */
function problemsAt(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
    return `${path || "(root)"}: ${issue.message}`;
  });
}

/** Validates one profile; problems are named by path (`contacts.emails.0: …`). */
export function parseTenantProfile(json: unknown): ParseResult<TenantProfile> {
  const parsed = TenantProfileSchema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: problemsAt("", parsed.error) };
}

const anyGuid = guid("GUID");

/** The ids an item claims, read leniently so that cross-profile conflicts are listed even beside other problems. */
function claims(item: unknown): { tenantId: string | undefined; subscriptions: string[] } {
  const record = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : {};
  const id = anyGuid.safeParse(record.tenantId);
  const subscriptions = Array.isArray(record.subscriptions) ? record.subscriptions : [];
  return {
    tenantId: id.success ? id.data : undefined,
    subscriptions: subscriptions.map((s) => anyGuid.safeParse(s)).map((s) => (s.success ? s.data : "")),
  };
}

/**
 * Validates an import: an array of profiles or `{ "tenants": [...] }`. Every problem of every profile is listed
 * (`tenants.3.contacts.emails.0: …`), as are tenant ids repeated in the file and subscriptions claimed by two
 * tenants, so a refused import can be fixed in one pass.
 */
export function parseTenantImport(json: unknown): ParseResult<TenantProfile[]> {
  let items: unknown[];
  if (Array.isArray(json)) {
    items = json;
  } else if (typeof json === "object" && json !== null) {
    const wrapper = z.strictObject({ tenants: z.array(z.unknown()) }).safeParse(json);
    if (!wrapper.success) return { ok: false, errors: problemsAt("", wrapper.error) };
    items = wrapper.data.tenants;
  } else {
    return { ok: false, errors: ['(root): expected an array of tenant profiles or { "tenants": [...] }'] };
  }
  if (items.length > MAX_TENANTS_PER_IMPORT) {
    return { ok: false, errors: [`tenants: ${items.length} profiles exceed the limit of ${MAX_TENANTS_PER_IMPORT} per import`] };
  }

  const errors: string[] = [];
  const profiles: TenantProfile[] = [];
  items.forEach((item, i) => {
    const parsed = TenantProfileSchema.safeParse(item);
    if (parsed.success) profiles.push(parsed.data);
    else errors.push(...problemsAt(`tenants.${i}`, parsed.error));
  });

  const tenantAt = new Map<string, number>();
  const subscriptionAt = new Map<string, { index: number; tenantId: string }>();
  items.forEach((item, i) => {
    const { tenantId, subscriptions } = claims(item);
    if (tenantId === undefined) return;
    const first = tenantAt.get(tenantId);
    if (first !== undefined) {
      errors.push(`tenants.${i}.tenantId: ${tenantId} is repeated (first at tenants.${first})`);
      return;
    }
    tenantAt.set(tenantId, i);
    subscriptions.forEach((subscription, j) => {
      if (subscription === "") return;
      const owner = subscriptionAt.get(subscription);
      if (owner === undefined) subscriptionAt.set(subscription, { index: i, tenantId });
      else if (owner.tenantId !== tenantId) {
        errors.push(`tenants.${i}.subscriptions.${j}: subscription ${subscription} is also claimed by tenant ${owner.tenantId} (tenants.${owner.index})`);
      }
    });
  });

  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: profiles };
}
