import { toInstant } from "./instant.js";
import type { LogSourceId } from "./logSource.js";

/**
 * Hunt checklists for the sources Graph cannot replay (DESIGN.md "control": `hunt-checklist`). When Sentinel,
 * Defender, Purview or Azure platform telemetry lost or delayed records, nothing re-reads them for us; what a person
 * can do is look where copies still exist (the other product that ingests the same events, the platform's own log),
 * find the hours that are missing, and re-run detection over records that arrived too late for the scheduled
 * analytics rules. Each query is ready to run: the window's instants are filled in, and nothing else from the tenant
 * is (the queries run inside the tenant's own workspace or portal, and tenant data is never trusted as query text).
 *
 * Table and column names are those of the Azure Monitor Logs table reference
 * (https://learn.microsoft.com/azure/azure-monitor/reference/tables-index) and the Defender XDR advanced hunting
 * schema (https://learn.microsoft.com/defender-xdr/advanced-hunting-schema-tables), where the time column is
 * `Timestamp` instead of `TimeGenerated`.
 */

export const HUNT_PRODUCTS = ["Microsoft Sentinel", "Microsoft Defender XDR", "Microsoft Defender for Cloud", "Microsoft Purview", "Azure Monitor"] as const;
export type HuntProduct = (typeof HUNT_PRODUCTS)[number];

/**
 * Where to paste the query. The product says whose telemetry is checked; the console says where the query runs
 * (Purview audit records, for one, are read from Sentinel's OfficeActivity table and from Defender XDR).
 */
export type HuntConsole = "log-analytics" | "advanced-hunting";

export interface HuntQuery {
  /** Stable id, `<source>.<name>` (task checklists and reports refer to it). */
  id: string;
  product: HuntProduct;
  runIn: HuntConsole;
  title: string;
  /** Why this query matters for this kind of gap, and what to do with what it finds. */
  why: string;
  kql: string;
}

export interface HuntWindow {
  tenantId: string;
  source: LogSourceId;
  start: string;
  end: string | null;
}

const CONSOLE_NAMES: Readonly<Record<HuntConsole, string>> = {
  "log-analytics": "Log Analytics workspace › Logs (Microsoft Sentinel › Logs)",
  "advanced-hunting": "Microsoft Defender portal › Hunting › Advanced hunting",
};

/** Advanced hunting keeps 30 days of data (https://learn.microsoft.com/defender-xdr/advanced-hunting-overview). */
const ADVANCED_HUNTING_DAYS = 30;
const DAY_MS = 86_400_000;

/** A KQL datetime literal's text: ISO with `Z`, milliseconds only when not zero. Throws for anything not an instant. */
function kqlInstant(value: string, what: string): string {
  const iso = toInstant(value);
  if (iso === undefined) throw new RangeError(`${what} is not an ISO-8601 instant`);
  return iso.replace(".000Z", "Z");
}

interface Context {
  start: string;
  /** The closing instant, or undefined while the window is open. */
  end: string | undefined;
  now: string;
  /** The `let windowStart …; let windowEnd …;` lines every query begins with. */
  header: string;
  /** Last day advanced hunting still holds the window's first hour. */
  huntingDeadline: string;
}

function context(window: HuntWindow, nowIso: string): Context {
  const start = kqlInstant(window.start, "window start");
  const end = window.end === null ? undefined : kqlInstant(window.end, "window end");
  const now = kqlInstant(nowIso, "now");
  const header = [
    `let windowStart = datetime(${start});`,
    end === undefined
      ? `let windowEnd = now(); // the window was still open at ${now}: it reaches the time the query runs`
      : `let windowEnd = datetime(${end});`,
  ].join("\n");
  const huntingDeadline = new Date(Date.parse(start) + ADVANCED_HUNTING_DAYS * DAY_MS).toISOString().slice(0, 10);
  return { start, end, now, header, huntingDeadline };
}

/** Joins a query's lines after the window header. */
function kql(ctx: Context, ...lines: string[]): string {
  return [ctx.header, ...lines].join("\n");
}

/** KQL list literal of constant names (ours, never tenant data). */
const list = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(", ");

/**
 * Hours in which a key (computer, table, subscription…) that reported just before the window reported nothing. A
 * silent hour has no row at all, so hours are generated with `range` and matched against what arrived.
 */
function silentHours(ctx: Context, o: { from: string; time: string; key: string; lookback: string }): string {
  return kql(
    ctx,
    `let reporting = ${o.from}`,
    `    | where ${o.time} between ((windowStart - ${o.lookback}) .. windowStart)`,
    `    | distinct ${o.key};`,
    "let hours = range Hour from bin(windowStart, 1h) to windowEnd step 1h;",
    `let seen = ${o.from}`,
    `    | where ${o.time} between (windowStart .. windowEnd)`,
    `    | summarize Records = count() by ${o.key}, Hour = bin(${o.time}, 1h);`,
    "reporting",
    "| extend JoinKey = 1",
    "| join kind=inner (hours | extend JoinKey = 1) on JoinKey",
    `| join kind=leftouter seen on ${o.key}, Hour`,
    "| where isnull(Records)",
    `| summarize SilentHours = count(), FirstSilentHour = min(Hour), LastSilentHour = max(Hour) by ${o.key}`,
    "| order by SilentHours desc",
  );
}

/** Hourly ingested volume per table against its average hour of the week before; zero hours included. */
function volumeGaps(ctx: Context, dataTypes: readonly string[] | undefined): string {
  const filter = dataTypes ? [`    | where DataType in (${list(dataTypes)})`] : [];
  return kql(
    ctx,
    "let baseline = Usage",
    "    | where TimeGenerated between ((windowStart - 7d) .. windowStart)",
    ...filter,
    "    | summarize BaselineMBPerHour = sum(Quantity) / (7.0 * 24) by DataType;",
    "let observed = Usage",
    "    | where TimeGenerated between (windowStart .. windowEnd)",
    ...filter,
    "    | summarize MB = sum(Quantity) by DataType, Hour = bin(StartTime, 1h);",
    "range Hour from bin(windowStart, 1h) to windowEnd step 1h",
    "| extend JoinKey = 1",
    "| join kind=inner (baseline | extend JoinKey = 1) on JoinKey",
    "| join kind=leftouter observed on DataType, Hour",
    "| extend MB = coalesce(MB, 0.0)",
    "| extend Ratio = round(MB / BaselineMBPerHour, 2)",
    "| where Ratio < 0.5",
    "| project Hour, DataType, MB, BaselineMBPerHour, Ratio",
    "| order by Hour asc, DataType asc",
  );
}

/** Ingestion delay per table and hour: `ingestion_time()` and `_TimeReceived` against `TimeGenerated`. */
function ingestionDelay(ctx: Context, tables: readonly string[]): string {
  return kql(
    ctx,
    `union isfuzzy=true withsource=TableName ${tables.join(", ")}`,
    "| where TimeGenerated between (windowStart .. windowEnd)",
    "| extend IngestionDelay = ingestion_time() - TimeGenerated, AgentDelay = _TimeReceived - TimeGenerated",
    "| summarize Records = count(), P95IngestionDelay = percentile(IngestionDelay, 95), MaxIngestionDelay = max(IngestionDelay), P95AgentDelay = percentile(AgentDelay, 95) by TableName, Hour = bin(TimeGenerated, 1h)",
    "| where P95IngestionDelay > 15m or MaxIngestionDelay > 1h",
    "| order by Hour asc, TableName asc",
  );
}

/** Alerts from Defender XDR's alert tables, with their main evidence, for a window (optionally one service). */
function xdrAlerts(ctx: Context, serviceSource: string | undefined): string {
  return kql(
    ctx,
    "AlertInfo",
    // Alerts about activity in the window can be raised days later, more so when telemetry was delayed.
    "| where Timestamp between (windowStart .. (windowEnd + 7d))",
    ...(serviceSource ? [`| where ServiceSource == "${serviceSource}"`] : []),
    "| join kind=leftouter (",
    "    AlertEvidence",
    "    | where Timestamp between (windowStart .. (windowEnd + 7d))",
    "    | summarize Accounts = make_set_if(AccountUpn, isnotempty(AccountUpn), 20), Devices = make_set_if(DeviceName, isnotempty(DeviceName), 20), RemoteIPs = make_set_if(RemoteIP, isnotempty(RemoteIP), 20), EntityTypes = make_set(EntityType) by AlertId",
    "    ) on AlertId",
    "| project Timestamp, AlertId, Title, Severity, Category, ServiceSource, DetectionSource, AttackTechniques, Accounts, Devices, RemoteIPs, EntityTypes",
    "| order by Timestamp asc",
  );
}

const SENTINEL_SECURITY_TABLES = [
  "SigninLogs",
  "AADNonInteractiveUserSignInLogs",
  "AADServicePrincipalSignInLogs",
  "AADManagedIdentitySignInLogs",
  "AuditLogs",
  "AADUserRiskEvents",
  "AADRiskyUsers",
  "SecurityAlert",
  "SecurityIncident",
  "SecurityEvent",
  "CommonSecurityLog",
  "Syslog",
  "OfficeActivity",
  "AzureActivity",
] as const;

/** Directory changes an intruder makes to stay: roles, app credentials and consents, policies, federation. */
const SENSITIVE_DIRECTORY_OPERATIONS = [
  "Add member to role",
  "Add eligible member to role",
  "Add service principal credentials",
  "Add owner to application",
  "Add owner to service principal",
  "Consent to application",
  "Add delegated permission grant",
  "Add app role assignment to service principal",
  "Reset password (by admin)",
  "Update conditional access policy",
  "Delete conditional access policy",
  "Set domain authentication",
  "Set federation settings on domain",
] as const;

/** Exchange operations that forward, hide or expose mail (inbox rules, mailbox and transport settings). */
const MAIL_PERSISTENCE_OPERATIONS = [
  "New-InboxRule",
  "Set-InboxRule",
  "UpdateInboxRules",
  "Add-MailboxPermission",
  "Add-RecipientPermission",
  "Set-Mailbox",
  "New-TransportRule",
  "Set-TransportRule",
] as const;

/** Azure control-plane operations that grant access, weaken logging or run code. */
const SENSITIVE_AZURE_OPERATIONS = [
  "Microsoft.Authorization/roleAssignments/write",
  "Microsoft.Authorization/roleAssignments/delete",
  "Microsoft.Authorization/roleDefinitions/write",
  "Microsoft.Authorization/policyAssignments/delete",
  "Microsoft.Insights/diagnosticSettings/write",
  "Microsoft.Insights/diagnosticSettings/delete",
  "Microsoft.Insights/activityLogAlerts/delete",
  "Microsoft.OperationalInsights/workspaces/delete",
  "Microsoft.OperationalInsights/workspaces/dataExports/delete",
  "Microsoft.KeyVault/vaults/write",
  "Microsoft.KeyVault/vaults/accessPolicies/write",
  "Microsoft.Network/networkSecurityGroups/securityRules/write",
  "Microsoft.Compute/virtualMachines/runCommand/action",
  "Microsoft.Compute/virtualMachines/extensions/write",
  "Microsoft.Storage/storageAccounts/listKeys/action",
] as const;

type Builder = (ctx: Context) => HuntQuery[];

const SCHEDULED_RULES_WHY =
  "Scheduled analytics rules only see records whose TimeGenerated falls in their lookback when they run: records that arrived later than that were never evaluated.";

const BUILDERS: Readonly<Record<LogSourceId, Builder | undefined>> = {
  // Graph replays these itself (signin-review, audit-review, risk-review, preserve): no hunt.
  "entra-signin": undefined,
  "entra-audit": undefined,
  "entra-risk": undefined,

  sentinel: (ctx) => {
    const product = "Microsoft Sentinel";
    const runIn = "log-analytics";
    return [
      {
        id: "sentinel.ingestion-gaps",
        product,
        runIn,
        title: "Hours in which security tables ingested less than half their usual volume",
        why: "Finds the hours and tables Sentinel is blind for, zero hours included, against the average hour of the week before. Every hour listed needs the other checks of this list, and a note in the incident record.",
        kql: volumeGaps(ctx, SENTINEL_SECURITY_TABLES),
      },
      {
        id: "sentinel.ingestion-delay",
        product,
        runIn,
        title: "Security records that arrived late (ingestion delay per table and hour)",
        why: `${SCHEDULED_RULES_WHY} For every table and hour listed, run the queries of the analytics rules that read that table over the window by hand.`,
        kql: ingestionDelay(ctx, ["SigninLogs", "AADNonInteractiveUserSignInLogs", "AuditLogs", "SecurityAlert", "SecurityEvent", "CommonSecurityLog", "OfficeActivity", "AzureActivity"]),
      },
      {
        id: "sentinel.signins-hourly",
        product,
        runIn,
        title: "Sign-ins Sentinel holds for the window, per table and hour",
        why: "Shows which hours of Entra sign-ins reached the workspace. Hours that are missing or thin here are covered by blindwindow's Graph sign-in review only while Entra still keeps them (7 days Free, 30 days P1/P2).",
        kql: kql(
          ctx,
          "union isfuzzy=true withsource=TableName SigninLogs, AADNonInteractiveUserSignInLogs",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| summarize SignIns = count(), Failed = countif(ResultType != "0"), Users = dcount(UserPrincipalName) by TableName, Hour = bin(TimeGenerated, 1h)',
          "| order by Hour asc, TableName asc",
        ),
      },
      {
        id: "sentinel.risky-signins",
        product,
        runIn,
        title: "Risky sign-ins during the window",
        why: "Risk-based analytics rules may not have fired on records that arrived late or not at all. Review each user and IP; confirm or dismiss the risk in Entra ID Protection.",
        kql: kql(
          ctx,
          "union isfuzzy=true withsource=TableName SigninLogs, AADNonInteractiveUserSignInLogs",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where RiskLevelDuringSignIn in ("medium", "high") or RiskState in ("atRisk", "confirmedCompromised")',
          "| project TimeGenerated, TableName, UserPrincipalName, IPAddress, Location, AppDisplayName, ResultType, RiskLevelDuringSignIn, RiskState, ConditionalAccessStatus, CorrelationId",
          "| order by TimeGenerated asc",
        ),
      },
      {
        id: "sentinel.directory-changes",
        product,
        runIn,
        title: "Sensitive directory changes in AuditLogs during the window",
        why: "Role grants, new app credentials, consents and policy or federation changes are how an intruder stays. Confirm each one with its owner; a change nobody asked for is an incident.",
        kql: kql(
          ctx,
          "AuditLogs",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          `| where OperationName in~ (${list(SENSITIVE_DIRECTORY_OPERATIONS)}) or OperationName contains "Certificates and secrets management"`,
          "| extend ActorUser = tostring(InitiatedBy.user.userPrincipalName), ActorApp = tostring(InitiatedBy.app.displayName)",
          "| extend Actor = iff(isnotempty(ActorUser), ActorUser, ActorApp), Target = tostring(TargetResources[0].displayName)",
          "| project TimeGenerated, OperationName, Result, Actor, Target, Category, CorrelationId",
          "| order by TimeGenerated asc",
        ),
      },
      {
        id: "sentinel.alerts",
        product,
        runIn,
        title: "Alerts about activity in the window, including alerts raised after it",
        why: "Alerts on delayed records are raised late and easily overlooked once the incident is over. Make sure each one has been triaged.",
        kql: kql(
          ctx,
          "SecurityAlert",
          "| where TimeGenerated >= windowStart",
          "| summarize arg_max(TimeGenerated, *) by SystemAlertId",
          "| where StartTime <= windowEnd and EndTime >= windowStart",
          "| project TimeGenerated, AlertName, AlertSeverity, ProductName, ProviderName, CompromisedEntity, StartTime, EndTime, Status, SystemAlertId",
          "| order by StartTime asc",
        ),
      },
      {
        id: "sentinel.incidents",
        product,
        runIn,
        title: "Incidents created for, or with activity in, the window",
        why: "Incidents closed during the window were judged on incomplete data. Reopen and review those whose classification could change.",
        kql: kql(
          ctx,
          "SecurityIncident",
          "| where TimeGenerated >= windowStart",
          "| summarize arg_max(TimeGenerated, *) by IncidentNumber",
          "| where (FirstActivityTime <= windowEnd and LastActivityTime >= windowStart) or CreatedTime between (windowStart .. windowEnd)",
          "| project IncidentNumber, Title, Severity, Status, Classification, CreatedTime, FirstActivityTime, LastActivityTime, AssignedTo = tostring(Owner.assignedTo), IncidentUrl",
          "| order by CreatedTime asc",
        ),
      },
      {
        id: "sentinel.rule-health",
        product,
        runIn,
        title: "Analytics rules and data connectors that failed during the window",
        why: "A rule run that failed covered nothing. Needs Sentinel health monitoring (the SentinelHealth table); re-run the failed rules over their missed periods.",
        kql: kql(
          ctx,
          "SentinelHealth",
          "| where TimeGenerated between (windowStart .. (windowEnd + 1d))",
          '| where SentinelResourceType in ("Analytics Rule", "Data connector")',
          '| where Status != "Success"',
          "| summarize Failures = count(), FirstFailure = min(TimeGenerated), LastFailure = max(TimeGenerated), Reasons = make_set(Description, 5) by SentinelResourceType, SentinelResourceName, Status",
          "| order by Failures desc",
        ),
      },
    ];
  },

  "defender-xdr": (ctx) => {
    const product = "Microsoft Defender XDR";
    const runIn = "advanced-hunting";
    const keep = `Advanced hunting keeps ${String(ADVANCED_HUNTING_DAYS)} days: run this before ${ctx.huntingDeadline}.`;
    return [
      {
        id: "defender-xdr.silent-hours",
        product,
        runIn,
        title: "Hours without events in identity, cloud app and alert tables",
        why: `Tables that reported the day before and then fell silent show where Defender XDR is blind. ${keep}`,
        kql: silentHours(ctx, {
          from: "union withsource=TableName IdentityLogonEvents, IdentityDirectoryEvents, CloudAppEvents, DeviceLogonEvents, AlertInfo",
          time: "Timestamp",
          key: "TableName",
          lookback: "1d",
        }),
      },
      {
        id: "defender-xdr.identity-logons",
        product,
        runIn,
        title: "Password spray and brute force against identities during the window",
        why: `Many failures from one address, or one address trying many accounts, are the attacks a telemetry gap hides. Block the addresses and reset the accounts that then succeeded. ${keep}`,
        kql: kql(
          ctx,
          "IdentityLogonEvents",
          "| where Timestamp between (windowStart .. windowEnd)",
          '| summarize Failed = countif(ActionType == "LogonFailed"), Succeeded = countif(ActionType == "LogonSuccess"), Accounts = dcount(AccountUpn), Applications = make_set(Application, 10), FirstSeen = min(Timestamp), LastSeen = max(Timestamp) by IPAddress',
          "| where Failed >= 10 or (Accounts >= 5 and Failed > 0)",
          "| order by Failed desc",
        ),
      },
      {
        id: "defender-xdr.alerts",
        product,
        runIn,
        title: "Alerts and their evidence for the window, including alerts raised after it",
        why: `Correlation across products needs every alert of the window: triage those raised late, and link them to the incident. ${keep}`,
        kql: xdrAlerts(ctx, undefined),
      },
      {
        id: "defender-xdr.cloud-app-admin",
        product,
        runIn,
        title: "Administrative and mailbox-rule activity in cloud apps during the window",
        why: `Admin operations, inbox rules and mailbox permissions are classic persistence. Confirm each with the account owner. ${keep}`,
        kql: kql(
          ctx,
          "CloudAppEvents",
          "| where Timestamp between (windowStart .. windowEnd)",
          `| where IsAdminOperation == true or ActionType in~ (${list(MAIL_PERSISTENCE_OPERATIONS)})`,
          "| project Timestamp, Application, ActionType, AccountDisplayName, AccountObjectId, IPAddress, CountryCode, IsExternalUser, ObjectName",
          "| order by Timestamp asc",
        ),
      },
    ];
  },

  "defender-cloud": (ctx) => {
    const product = "Microsoft Defender for Cloud";
    return [
      {
        id: "defender-cloud.alerts-workspace",
        product,
        runIn: "log-analytics",
        title: "Defender for Cloud alerts about activity in the window (workspace copy)",
        why: "Alerts exported to the workspace (continuous export or the Sentinel connector). Compare with the Security alerts page of Defender for Cloud, which keeps alerts for 90 days: an alert missing here was never seen by Sentinel rules.",
        kql: kql(
          ctx,
          "SecurityAlert",
          "| where TimeGenerated >= windowStart",
          '| where ProductName in ("Azure Security Center", "Microsoft Defender for Cloud")',
          "| summarize arg_max(TimeGenerated, *) by SystemAlertId",
          "| where StartTime <= windowEnd and EndTime >= windowStart",
          "| project StartTime, EndTime, AlertName, AlertSeverity, AlertType, CompromisedEntity, ResourceId, Status, SystemAlertId",
          "| order by StartTime asc",
        ),
      },
      {
        id: "defender-cloud.alerts-xdr",
        product,
        runIn: "advanced-hunting",
        title: "Defender for Cloud alerts in Defender XDR, with their evidence",
        why: `A second copy of the same alerts, kept by Defender XDR: anything here but not in the workspace was lost on the way. Advanced hunting keeps ${String(ADVANCED_HUNTING_DAYS)} days: run this before ${ctx.huntingDeadline}. Microsoft does not document the values of ServiceSource: if this finds nothing, \`AlertInfo | distinct ServiceSource\` shows the name Defender for Cloud has in your tenant.`,
        kql: xdrAlerts(ctx, "Microsoft Defender for Cloud"),
      },
      {
        id: "defender-cloud.plan-changes",
        product,
        runIn: "log-analytics",
        title: "Changes to Defender for Cloud settings during the window",
        why: "Turning off a Defender plan, auto-provisioning or an export is how an intruder blinds it on purpose. Confirm each change with its owner.",
        kql: kql(
          ctx,
          "AzureActivity",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where OperationNameValue startswith "Microsoft.Security/"',
          '| where OperationNameValue endswith "/write" or OperationNameValue endswith "/delete"',
          '| where ActivityStatusValue in~ ("Success", "Succeeded")',
          "| project TimeGenerated, SubscriptionId, Caller, CallerIpAddress, OperationNameValue, _ResourceId, CorrelationId",
          "| order by TimeGenerated asc",
        ),
      },
    ];
  },

  "purview-audit": (ctx) => {
    const product = "Microsoft Purview";
    return [
      {
        id: "purview-audit.silent-hours",
        product,
        runIn: "log-analytics",
        title: "Hours without Microsoft 365 audit records in OfficeActivity, per workload",
        why: "Shows which workloads and hours the workspace copy of the unified audit log lacks. Search those hours in Purview Audit (kept 180 days) or with Search-UnifiedAuditLog, and keep the export as evidence.",
        kql: silentHours(ctx, { from: "OfficeActivity", time: "TimeGenerated", key: "OfficeWorkload", lookback: "1d" }),
      },
      {
        id: "purview-audit.mail-persistence",
        product,
        runIn: "log-analytics",
        title: "Inbox rules, forwarding and mailbox permissions set during the window",
        why: "Mail forwarding and hidden inbox rules are the usual follow-up to a stolen session. Check each rule and permission with the mailbox owner and remove what nobody asked for.",
        kql: kql(
          ctx,
          "OfficeActivity",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where OfficeWorkload == "Exchange"',
          `| where Operation in~ (${list(MAIL_PERSISTENCE_OPERATIONS)})`,
          "| project TimeGenerated, Operation, UserId, ClientIP, ResultStatus, OfficeObjectId, Parameters",
          "| order by TimeGenerated asc",
        ),
      },
      {
        id: "purview-audit.file-exfiltration",
        product,
        runIn: "log-analytics",
        title: "Mass downloads and anonymous sharing in SharePoint and OneDrive during the window",
        why: "Large downloads and anonymous links are how data leaves. Confirm with the users; revoke links nobody needs.",
        kql: kql(
          ctx,
          "OfficeActivity",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where OfficeWorkload in ("SharePoint", "OneDrive")',
          '| where Operation in~ ("FileDownloaded", "FileSyncDownloadedFull", "AnonymousLinkCreated", "SharingInvitationCreated", "CompanyLinkCreated")',
          "| summarize Events = count(), Files = dcount(OfficeObjectId), Operations = make_set(Operation), IPs = make_set(ClientIP, 10) by UserId",
          '| where Events >= 50 or set_has_element(Operations, "AnonymousLinkCreated")',
          "| order by Events desc",
        ),
      },
      {
        id: "purview-audit.cloud-app-events",
        product,
        runIn: "advanced-hunting",
        title: "Microsoft 365 activity Defender XDR recorded during the window, per app and hour",
        why: `CloudAppEvents is a copy of the same audit events kept by Defender XDR: hours present here but missing from OfficeActivity can be recovered from it. Advanced hunting keeps ${String(ADVANCED_HUNTING_DAYS)} days: run this before ${ctx.huntingDeadline}.`,
        kql: kql(
          ctx,
          "CloudAppEvents",
          "| where Timestamp between (windowStart .. windowEnd)",
          '| where Application in ("Microsoft Exchange Online", "Microsoft SharePoint Online", "Microsoft OneDrive for Business", "Microsoft Teams")',
          "| summarize Events = count(), AdminOperations = countif(IsAdminOperation == true) by Application, Hour = bin(Timestamp, 1h)",
          "| order by Hour asc, Application asc",
        ),
      },
    ];
  },

  "azure-activity": (ctx) => {
    const product = "Azure Monitor";
    const runIn = "log-analytics";
    const platformCopy = `The platform keeps the activity log 90 days whatever the workspace holds: compare with az monitor activity-log list --start-time ${ctx.start} --end-time ${ctx.end ?? ctx.now}.`;
    return [
      {
        id: "azure-activity.silent-hours",
        product,
        runIn,
        title: "Hours without activity-log records, per subscription",
        why: `Subscriptions that reported the week before and then fell silent are where the workspace lost the activity log. ${platformCopy}`,
        kql: silentHours(ctx, { from: "AzureActivity", time: "TimeGenerated", key: "SubscriptionId", lookback: "7d" }),
      },
      {
        id: "azure-activity.sensitive-operations",
        product,
        runIn,
        title: "Role assignments, logging changes and code execution in Azure during the window",
        why: `Access grants, disabled diagnostics and run commands are what an intruder does while nobody watches. Confirm each with its owner. ${platformCopy}`,
        kql: kql(
          ctx,
          "AzureActivity",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where CategoryValue == "Administrative"',
          `| where OperationNameValue in~ (${list(SENSITIVE_AZURE_OPERATIONS)})`,
          "| project TimeGenerated, SubscriptionId, ResourceGroup, Caller, CallerIpAddress, OperationNameValue, ActivityStatusValue, _ResourceId, CorrelationId",
          "| order by TimeGenerated asc",
        ),
      },
      {
        id: "azure-activity.admin-by-caller",
        product,
        runIn,
        title: "Successful administrative operations per caller during the window",
        why: "An unfamiliar caller or address, or an unusual amount of change, deserves a look even when no single operation is sensitive.",
        kql: kql(
          ctx,
          "AzureActivity",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where CategoryValue == "Administrative" and ActivityStatusValue in~ ("Success", "Succeeded")',
          '| where OperationNameValue endswith "/write" or OperationNameValue endswith "/delete" or OperationNameValue endswith "/action"',
          "| summarize Operations = count(), Kinds = make_set(OperationNameValue, 20), IPs = make_set(CallerIpAddress, 10), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated) by Caller, SubscriptionId",
          "| order by Operations desc",
        ),
      },
    ];
  },

  "azure-monitor": (ctx) => {
    const product = "Azure Monitor";
    const runIn = "log-analytics";
    return [
      {
        id: "azure-monitor.ingestion-gaps",
        product,
        runIn,
        title: "Hours in which a table ingested less than half its usual volume",
        why: "Finds the tables and hours the workspace is blind for, zero hours included, against the average hour of the week before. Alerts and workbooks built on those tables missed what happened then.",
        kql: volumeGaps(ctx, undefined),
      },
      {
        id: "azure-monitor.ingestion-delay",
        product,
        runIn,
        title: "Records that arrived late (ingestion and agent delay per table and hour)",
        why: "Log search alert rules evaluate a fixed period when they run: records that arrived later than that were never evaluated. Re-run the alert queries over the tables and hours listed.",
        kql: ingestionDelay(ctx, ["Heartbeat", "AzureDiagnostics", "AzureMetrics", "Perf", "Event", "Syslog", "AppRequests", "AppTraces"]),
      },
      {
        id: "azure-monitor.heartbeat-gaps",
        product,
        runIn,
        title: "Machines whose agent sent no heartbeat for an hour or more",
        why: "A machine that reported the day before and then went silent sent none of its security events either. Check whether its agent buffered and caught up (ingestion-delay query) or lost them.",
        kql: silentHours(ctx, { from: "Heartbeat", time: "TimeGenerated", key: "Computer", lookback: "1d" }),
      },
      {
        id: "azure-monitor.diagnostics-gaps",
        product,
        runIn,
        title: "Azure resources whose diagnostic logs stopped during the window",
        why: "Resources that sent diagnostic logs the day before and then fell silent: check the resource and its diagnostic settings.",
        kql: silentHours(ctx, { from: "AzureDiagnostics", time: "TimeGenerated", key: "_ResourceId", lookback: "1d" }),
      },
      {
        id: "azure-monitor.workspace-health",
        product,
        runIn,
        title: "Workspace warnings and errors during the window (daily cap, ingestion limits)",
        why: "A daily cap reached or an ingestion rate limit drops data with no other trace. Raise the cap or fix the source, and record the hours dropped.",
        kql: kql(
          ctx,
          "_LogOperation",
          "| where TimeGenerated between (windowStart .. windowEnd)",
          '| where Level in ("Warning", "Error")',
          "| summarize Events = count(), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated), Sample = take_any(Detail) by Category, Operation, Level",
          "| order by Events desc",
        ),
      },
    ];
  },
};

/**
 * The hunt queries for one blind window: ready-to-run KQL with the window's instants filled in (an open window
 * reaches `now()` at run time; `nowIso` records when the checklist was made). Graph-replayable sources get none.
 * Throws RangeError when an instant is not an ISO-8601 instant (a bug upstream, not a user error).
 */
export function huntQueries(window: HuntWindow, nowIso: string): HuntQuery[] {
  const build = BUILDERS[window.source];
  if (!build) return [];
  return build(context(window, nowIso));
}

/** A Markdown checklist a person can paste into a ticket, wiki or Teams message: one item per query. */
export function huntChecklistMarkdown(queries: readonly HuntQuery[]): string {
  if (queries.length === 0) return "No hunt queries: Microsoft Graph can replay this source, and blindwindow reviews it directly.\n";
  const items = queries.map((q) =>
    [
      `- [ ] **${q.title}** (${q.product}; \`${q.id}\`)`,
      "",
      `  Run in: ${CONSOLE_NAMES[q.runIn]}.`,
      "",
      `  ${q.why}`,
      "",
      "  ```kusto",
      ...q.kql.split("\n").map((line) => `  ${line}`),
      "  ```",
    ].join("\n"),
  );
  return `${items.join("\n\n")}\n`;
}
