import { z } from "zod";
import { htmlToText } from "./htmlToText.js";
import { toInstant } from "./instant.js";
import { NoticeSchema, type Notice } from "./notice.js";
import type { ParseResult } from "./parseResult.js";
import { zodProblems } from "./parseResult.js";

/**
 * Azure Service Health alerts, as an action group's webhook delivers them: the common alert schema
 * (`schemaId: azureMonitorCommonAlertSchema`) and the older activity-log schema (`Microsoft.Insights/activityLogs`).
 * Samples with their quirks: ../shared/fixtures/microsoft-docs/ (numeric `channels`/`level` in the common schema,
 * `impactedServices` as a JSON *string*, `IsSynthetic` as a *string*, HTML `communication`).
 */

const text = z.string();
const loose = z.looseObject;
/** Booleans arrive as strings ("True", "false") in Service Health properties. */
const stringyBoolean = z.union([z.boolean(), z.string()]).optional();
const optionalTime = z.string().optional().nullable();

/** `alertContext.properties` / `activityLog.properties` of a Service Health event. */
export const ServiceHealthPropertiesSchema = loose({
  title: text.optional(),
  defaultLanguageTitle: text.optional(),
  service: text.optional(),
  region: text.optional(),
  communication: text.optional(),
  defaultLanguageContent: text.optional(),
  incidentType: text.optional(),
  trackingId: z.string().trim().min(1, "trackingId is required").max(512),
  communicationId: z.string().trim().min(1, "communicationId is required").max(512),
  stage: text.optional(),
  impactStartTime: optionalTime,
  impactMitigationTime: optionalTime,
  impactedServices: z.union([z.string(), z.array(z.unknown())]).optional(),
  IsSynthetic: stringyBoolean,
  isSynthetic: stringyBoolean,
});
type ServiceHealthProperties = z.infer<typeof ServiceHealthPropertiesSchema>;

/** The common alert schema envelope, restricted to `monitoringService: ServiceHealth`. */
export const CommonAlertSchema = loose({
  schemaId: z.literal("azureMonitorCommonAlertSchema"),
  data: loose({
    essentials: loose({
      monitoringService: z.literal("ServiceHealth", { error: "only ServiceHealth alerts are accepted" }),
      alertTargetIDs: z.array(z.string()).default([]),
      firedDateTime: text.optional(),
      monitorCondition: text.optional(),
    }),
    alertContext: loose({
      eventTimestamp: text.optional(),
      // Numbers in the common schema (1, 2, 3), strings elsewhere: accept both, use neither.
      channels: z.union([z.number(), z.string()]).optional().nullable(),
      level: z.union([z.number(), z.string()]).optional().nullable(),
      status: text.optional().nullable(),
      properties: ServiceHealthPropertiesSchema,
    }),
  }),
});

/** The older activity-log webhook schema. */
export const ActivityLogAlertSchema = loose({
  schemaId: z.literal("Microsoft.Insights/activityLogs"),
  data: loose({
    status: text.optional(),
    context: loose({
      activityLog: loose({
        eventSource: z.literal("ServiceHealth", { error: "only ServiceHealth events are accepted" }),
        eventTimestamp: text.optional(),
        submissionTimestamp: text.optional(),
        subscriptionId: text.optional(),
        status: text.optional(),
        properties: ServiceHealthPropertiesSchema,
      }),
    }),
  }),
});

export const AZURE_MONITOR_SCHEMA_IDS = ["azureMonitorCommonAlertSchema", "Microsoft.Insights/activityLogs"] as const;

const ImpactedServicesSchema = z.array(
  loose({
    ServiceName: z.string().optional(),
    ImpactedRegions: z.array(loose({ RegionName: z.string().optional() })).optional(),
  }),
);

const SUBSCRIPTION_ID = /\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Is this body one of the Azure Monitor schemas (whatever else is wrong with it)? */
export function isAzureMonitorAlert(json: unknown): boolean {
  return typeof json === "object" && json !== null && "schemaId" in json &&
    AZURE_MONITOR_SCHEMA_IDS.some((id) => id === (json).schemaId);
}

/** Normalises an action-group webhook body (either schema) into a notice revision. */
export function normaliseAzureMonitorAlert(json: unknown): ParseResult<Notice> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, errors: ["(root): expected a JSON object"] };
  }
  const schemaId = (json as Record<string, unknown>).schemaId;
  if (schemaId === "azureMonitorCommonAlertSchema") {
    const parsed = CommonAlertSchema.safeParse(json);
    if (!parsed.success) return { ok: false, errors: zodProblems(parsed.error) };
    const { essentials, alertContext } = parsed.data.data;
    const subscriptionIds = essentials.alertTargetIDs.flatMap((target) => {
      const match = SUBSCRIPTION_ID.exec(target);
      return match?.[1] ? [match[1].toLowerCase()] : [];
    });
    return fromProperties(alertContext.properties, {
      subscriptionIds,
      published: alertContext.eventTimestamp ?? essentials.firedDateTime,
    });
  }
  if (schemaId === "Microsoft.Insights/activityLogs") {
    const parsed = ActivityLogAlertSchema.safeParse(json);
    if (!parsed.success) return { ok: false, errors: zodProblems(parsed.error) };
    const log = parsed.data.data.context.activityLog;
    const subscription = log.subscriptionId?.trim() ?? "";
    return fromProperties(log.properties, {
      subscriptionIds: GUID.test(subscription) ? [subscription.toLowerCase()] : [],
      published: log.eventTimestamp ?? log.submissionTimestamp,
    });
  }
  return {
    ok: false,
    errors: [`schemaId: expected one of ${AZURE_MONITOR_SCHEMA_IDS.map((s) => `"${s}"`).join(", ")}, got ${schemaId === undefined ? "nothing" : JSON.stringify(schemaId)}`],
  };
}

function fromProperties(
  p: ServiceHealthProperties,
  context: { subscriptionIds: string[]; published: string | undefined },
): ParseResult<Notice> {
  const errors: string[] = [];
  const time = (field: string, value: string | null | undefined): string | undefined => {
    if (value === undefined || value === null || value.trim() === "") return undefined;
    const instant = toInstant(value);
    if (!instant) errors.push(`${field}: not an ISO 8601 timestamp`);
    return instant;
  };
  const impactStart = time("impactStartTime", p.impactStartTime);
  const impactEnd = time("impactMitigationTime", p.impactMitigationTime);
  const publishedAt = time("eventTimestamp", context.published);
  if (!publishedAt && errors.length === 0) errors.push("eventTimestamp: required (or essentials.firedDateTime)");
  if (errors.length > 0 || !publishedAt) return { ok: false, errors };

  const { services, regions } = impacted(p);
  const stage = p.stage?.trim() ?? "";
  const notice: Notice = {
    source: "azure-monitor",
    id: p.trackingId,
    // A Service Health event is identified by its communication and stage (Active, Resolved, RCA share a tracking id).
    revision: stage ? `${p.communicationId}~${stage}` : p.communicationId,
    title: (p.title ?? p.defaultLanguageTitle ?? "").trim(),
    text: htmlToText(p.communication ?? p.defaultLanguageContent ?? ""),
    services,
    regions,
    subscriptionIds: [...new Set(context.subscriptionIds)].sort(),
    tenantIds: [],
    communicationId: p.communicationId,
    publishedAt,
    synthetic: isTrue(p.IsSynthetic) || isTrue(p.isSynthetic),
    ...(p.incidentType ? { incidentType: p.incidentType } : {}),
    ...(stage ? { stage } : {}),
    ...(impactStart ? { impactStart } : {}),
    ...(impactEnd ? { impactEnd } : {}),
  };
  // What is stored must read back: e.g. a 512-character communicationId plus its stage is a revision key too long.
  const checked = NoticeSchema.safeParse(notice);
  if (!checked.success) return { ok: false, errors: zodProblems(checked.error) };
  return { ok: true, value: notice };
}

function isTrue(value: boolean | string | undefined): boolean {
  return value === true || (typeof value === "string" && value.trim().toLowerCase() === "true");
}

/** Services and regions from `impactedServices` (a JSON string, parsed a second time), else from service/region. */
function impacted(p: ServiceHealthProperties): { services: string[]; regions: string[] } {
  const services = new Set<string>();
  const regions = new Set<string>();
  let list: unknown = p.impactedServices;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      list = undefined; // A broken impactedServices string must not lose the notice: fall back to service/region.
    }
  }
  const parsed = ImpactedServicesSchema.safeParse(list);
  if (parsed.success) {
    for (const entry of parsed.data) {
      if (entry.ServiceName?.trim()) services.add(entry.ServiceName.trim());
      for (const region of entry.ImpactedRegions ?? []) if (region.RegionName?.trim()) regions.add(region.RegionName.trim());
    }
  }
  if (services.size === 0 && p.service?.trim()) services.add(p.service.trim());
  if (regions.size === 0 && p.region?.trim()) for (const r of p.region.split(",")) if (r.trim()) regions.add(r.trim());
  return { services: [...services].sort(), regions: [...regions].sort() };
}
