import type { HuntConsole } from "../../shared/domain/huntQueries.js";
import type { TableSchemas } from "./kusto.js";

/**
 * The tables the hunt queries read, with the columns they use and each column's type as Microsoft documents it
 * (checked 2026-11-29 against the markdown behind the pages named). The hunt-query tests analyse every query against
 * these with Kusto's own analyser, so a misspelt column, a column of another table, or a function given the wrong
 * type is a test failure, not an analyst's error message in the middle of an incident.
 */

/** Azure Monitor standard columns (https://learn.microsoft.com/azure/azure-monitor/logs/log-standard-columns). */
const STANDARD = "TimeGenerated:datetime, _TimeReceived:datetime";

/**
 * Log Analytics tables (https://learn.microsoft.com/azure/azure-monitor/reference/tables/<table>). `_TimeReceived`
 * is a standard column the table pages do not list; the docs subtract `TimeGenerated` from it (a datetime).
 * `_LogOperation` is a function over the Operation table (https://learn.microsoft.com/azure/azure-monitor/logs/monitor-workspace).
 */
export const LOG_ANALYTICS_TABLES: TableSchemas = {
  Usage: `${STANDARD}, DataType:string, Quantity:real, StartTime:datetime`,
  // LocationDetails, DeviceDetail and Status are dynamic in SigninLogs but string in the non-interactive table.
  SigninLogs: `${STANDARD}, ResultType:string, UserPrincipalName:string, RiskLevelDuringSignIn:string, RiskState:string, IPAddress:string, Location:string, AppDisplayName:string, ConditionalAccessStatus:string, CorrelationId:string, LocationDetails:dynamic, Status:dynamic`,
  AADNonInteractiveUserSignInLogs: `${STANDARD}, ResultType:string, UserPrincipalName:string, RiskLevelDuringSignIn:string, RiskState:string, IPAddress:string, Location:string, AppDisplayName:string, ConditionalAccessStatus:string, CorrelationId:string, LocationDetails:string, Status:string`,
  AADServicePrincipalSignInLogs: STANDARD,
  AADManagedIdentitySignInLogs: STANDARD,
  AuditLogs: `${STANDARD}, OperationName:string, InitiatedBy:dynamic, TargetResources:dynamic, Result:string, Category:string, CorrelationId:string`,
  AADUserRiskEvents: STANDARD,
  AADRiskyUsers: STANDARD,
  SecurityAlert: `${STANDARD}, SystemAlertId:string, StartTime:datetime, EndTime:datetime, AlertName:string, AlertSeverity:string, ProductName:string, ProviderName:string, CompromisedEntity:string, Status:string, AlertType:string, ResourceId:string`,
  SecurityIncident: `${STANDARD}, IncidentNumber:int, FirstActivityTime:datetime, LastActivityTime:datetime, CreatedTime:datetime, Title:string, Severity:string, Status:string, Classification:string, Owner:dynamic, IncidentUrl:string`,
  SecurityEvent: STANDARD,
  CommonSecurityLog: STANDARD,
  Syslog: STANDARD,
  OfficeActivity: `${STANDARD}, OfficeWorkload:string, Operation:string, UserId:string, ClientIP:string, ResultStatus:string, OfficeObjectId:string, Parameters:string`,
  AzureActivity: `${STANDARD}, OperationNameValue:string, ActivityStatusValue:string, SubscriptionId:string, Caller:string, CallerIpAddress:string, _ResourceId:string, CorrelationId:string, CategoryValue:string, ResourceGroup:string`,
  SentinelHealth: `${STANDARD}, SentinelResourceType:string, Status:string, Description:string, SentinelResourceName:string`,
  Heartbeat: `${STANDARD}, Computer:string`,
  AzureDiagnostics: `${STANDARD}, _ResourceId:string`,
  AzureMetrics: STANDARD,
  Perf: STANDARD,
  Event: STANDARD,
  AppRequests: STANDARD,
  AppTraces: STANDARD,
  _LogOperation: "TimeGenerated:datetime, Level:string, Detail:string, Category:string, Operation:string",
};

/** Defender XDR advanced hunting tables (https://learn.microsoft.com/defender-xdr/advanced-hunting-<table>-table). */
export const ADVANCED_HUNTING_TABLES: TableSchemas = {
  IdentityLogonEvents: "Timestamp:datetime, ActionType:string, AccountUpn:string, Application:string, IPAddress:string",
  IdentityDirectoryEvents: "Timestamp:datetime",
  DeviceLogonEvents: "Timestamp:datetime",
  // AttackTechniques is a string holding a JSON array, not dynamic.
  AlertInfo: "Timestamp:datetime, AlertId:string, Title:string, Severity:string, Category:string, ServiceSource:string, DetectionSource:string, AttackTechniques:string",
  AlertEvidence: "Timestamp:datetime, AlertId:string, AccountUpn:string, DeviceName:string, RemoteIP:string, EntityType:string",
  CloudAppEvents: "Timestamp:datetime, IsAdminOperation:bool, ActionType:string, Application:string, AccountDisplayName:string, AccountObjectId:string, IPAddress:string, CountryCode:string, IsExternalUser:bool, ObjectName:string",
};

export const TABLES_BY_CONSOLE: Readonly<Record<HuntConsole, TableSchemas>> = {
  "log-analytics": LOG_ANALYTICS_TABLES,
  "advanced-hunting": ADVANCED_HUNTING_TABLES,
};
