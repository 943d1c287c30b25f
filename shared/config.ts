import { z } from "zod";

/**
 * Every setting blindwindow reads, validated once. This is the only module that knows setting names; the README's
 * settings table and infra/app/api.bicep list the same names. Storage follows the Functions host conventions:
 * `AzureWebJobsStorage` (connection string) or identity-based `AzureWebJobsStorage__*` settings.
 */
const optionalText = z.string().trim().min(1).optional();
const seconds = (fallback: number) => z.coerce.number().int().min(1).max(3600).default(fallback);

export const SettingsSchema = z
  .object({
    AzureWebJobsStorage: optionalText,
    AzureWebJobsStorage__accountName: optionalText,
    AzureWebJobsStorage__tableServiceUri: z.url().optional(),
    AzureWebJobsStorage__queueServiceUri: z.url().optional(),
    AzureWebJobsStorage__blobServiceUri: z.url().optional(),
    AzureWebJobsStorage__clientId: optionalText,

    /** Function key the local host requires (Azure manages its own keys). Generated and printed when unset. */
    BLINDWINDOW_FUNCTION_KEY: z.string().min(16, "must be at least 16 characters").optional(),
    /** When set, intake routes also require an Entra bearer token for this audience (action-group secure webhook). */
    BLINDWINDOW_WEBHOOK_AUDIENCE: optionalText,
    /** Tenant that issues secure-webhook tokens (the tenant of the app registration). Required with the audience. */
    BLINDWINDOW_WEBHOOK_TENANT_ID: z.uuid().optional(),
    /** JWKS address for secure-webhook tokens; defaults to the tenant's Entra discovery keys. */
    BLINDWINDOW_WEBHOOK_JWKS_URL: z.url().optional(),
    /** Seconds a sender is told to wait (Retry-After) when storage is unavailable. */
    BLINDWINDOW_RETRY_AFTER_SECONDS: seconds(30),

    /** Graph: multi-tenant app (client) id used for every customer tenant. */
    BLINDWINDOW_GRAPH_CLIENT_ID: z.uuid().optional(),
    /** Graph: client secret (a Key Vault reference in Azure). */
    BLINDWINDOW_GRAPH_CLIENT_SECRET: optionalText,
    /** Graph: path to a PEM client certificate (with private key), instead of a secret. */
    BLINDWINDOW_GRAPH_CERTIFICATE_PATH: optionalText,
    /** Graph: client id of the user-assigned managed identity used as a federated credential of the app. */
    BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID: z.uuid().optional(),
    /** Graph: origin to send Graph requests to instead of https://graph.microsoft.com (the local simulator). */
    BLINDWINDOW_GRAPH_BASE_URL: z.url().optional(),

    /** Tenant (registered like any other) whose contacts receive the watchdog's tasks: blindwindow's own blind windows. */
    BLINDWINDOW_OPERATOR_TENANT_ID: z.guid({ error: "must be a tenant id (GUID)" }).transform((id) => id.toLowerCase()).optional(),
    /** Attempts of one task delivery (Planner, Teams, e-mail, escalation) before it is poisoned with its reason. */
    BLINDWINDOW_DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),

    /** Blob container for preserved evidence. */
    BLINDWINDOW_EVIDENCE_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, "must be a valid blob container name")
      .default("evidence"),
    /** Blob container where reviews keep the pages of the slices they are reading (deleted as slices complete). */
    BLINDWINDOW_SPOOL_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, "must be a valid blob container name")
      .default("review-spool"),
    /** Seconds one control-run invocation works before it checkpoints and enqueues its continuation (below the 10-minute function timeout). */
    BLINDWINDOW_CONTROL_BUDGET_SECONDS: z.coerce.number().int().min(1).max(540).default(480),
    /** Time slices of one review fetched at once (the Graph throttle budget paces them). */
    BLINDWINDOW_REVIEW_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(3),
    /** Control turns one instance runs at once (each may hold a review's slices in memory); more wait for a slot. */
    BLINDWINDOW_TURNS_PER_INSTANCE: z.coerce.number().int().min(1).max(64).default(4),
    /** Records one review time slice aims at; slices span a minute to a day, sized by the volume of each hour of day. */
    BLINDWINDOW_REVIEW_SLICE_RECORDS: z.coerce.number().int().min(100).max(200_000).default(30_000),
    /** Days of sign-ins before a window read as the baseline for new-country / new-IP rules, where retention allows (0: none). */
    BLINDWINDOW_REVIEW_BASELINE_DAYS: z.coerce.number().int().min(0).max(30).default(7),
    BLINDWINDOW_REVIEW_SETTLE_MINUTES: z.coerce.number().int().min(0).max(1440).default(30),
    BLINDWINDOW_REVIEW_FOLLOW_HOURS: z.coerce.number().int().min(1).max(24).default(6),
    /** Detection thresholds overriding the defaults, as JSON (e.g. {"sprayDistinctUsers":10}); see README "Detections". */
    BLINDWINDOW_DETECTION_THRESHOLDS: optionalText,
    /**
     * Seconds work may look abandoned before the sweeper takes it over: a notice pending this long is re-enqueued; a
     * task delivery pending twice this long is sent again, and a delivery worker's claim lasts twice this plus a
     * minute (a worker killed mid-delivery is replaced after that).
     */
    BLINDWINDOW_SWEEP_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
    /** Minimum log level written by the structured logger. */
    BLINDWINDOW_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  .superRefine((s, ctx) => {
    if (s.BLINDWINDOW_WEBHOOK_AUDIENCE && !s.BLINDWINDOW_WEBHOOK_TENANT_ID && !s.BLINDWINDOW_WEBHOOK_JWKS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["BLINDWINDOW_WEBHOOK_TENANT_ID"],
        message: "is required when BLINDWINDOW_WEBHOOK_AUDIENCE is set",
      });
    }
  });

export type Settings = z.infer<typeof SettingsSchema>;

/** Names of every setting, in the order of the schema (used by the README and infra checks). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape) as (keyof Settings)[];

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/** Validates settings from an environment-like record. Unknown keys are ignored; invalid ones throw one message. */
export function loadSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const picked: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== "") picked[name] = value;
  }
  const parsed = SettingsSchema.safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ");
    throw new SettingsError(`Invalid settings: ${problems}`);
  }
  return parsed.data;
}

/** The process environment, read here and nowhere else (STYLE.md habit 9). */
export function settingsFromProcess(): Settings {
  return loadSettings(process.env);
}

/** A copy of the process environment for the local host and CLI, which decide defaults before loading settings. */
export function processEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}

/**
 * Publishes settings to the process environment, as the Functions host does with app settings (used by the local
 * host, whose functions read their settings from the environment like they do in Azure).
 */
export function exportToProcess(values: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(values)) process.env[name] = value;
}
