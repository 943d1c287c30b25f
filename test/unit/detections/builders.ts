/** Hand-made records for rule tests: compact records with sensible defaults, times in minutes from T0. */
import type { AuditRecord, RiskRecord, SignInRecord } from "../../../shared/domain/detections/index.js";

export const T0 = Date.parse("2024-09-10T10:00:00Z");
export const MINUTE = 60_000;

let sequence = 0;
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${String(sequence).padStart(6, "0")}`;
}

export const REDMOND = { city: "Redmond", countryOrRegion: "US", latitude: 47.6805, longitude: -122.1209 };
export const BERLIN = { city: "Berlin", countryOrRegion: "DE", latitude: 52.52, longitude: 13.405 };
export const MOSCOW = { city: "Moscow", countryOrRegion: "RU", latitude: 55.7558, longitude: 37.6173 };

/** A successful interactive sign-in of user "u1" from Redmond at T0 + `minute`, unless overridden. */
export function signIn(minute: number, overrides: Partial<SignInRecord> = {}): SignInRecord {
  const t = T0 + Math.round(minute * MINUTE);
  return {
    id: nextId("s"),
    createdDateTime: new Date(t).toISOString(),
    t,
    userId: "u1",
    userPrincipalName: "u1@contoso.com",
    appId: "app-office",
    appDisplayName: "OfficeHome",
    ipAddress: "131.107.1.1",
    clientAppUsed: "Browser",
    errorCode: 0,
    eventType: "interactiveUser",
    riskLevelDuringSignIn: "none",
    riskState: "none",
    riskEventTypes: [],
    ...REDMOND,
    servicePrincipalId: null,
    ...overrides,
    ...(overrides.t !== undefined && overrides.createdDateTime === undefined ? { createdDateTime: new Date(overrides.t).toISOString() } : {}),
  };
}

/** A successful audit at T0 + `minute` by admin "a1" on user "u2". */
export function audit(minute: number, activityDisplayName: string, category: string, overrides: Partial<AuditRecord> = {}): AuditRecord {
  const t = T0 + Math.round(minute * MINUTE);
  return {
    id: nextId("a"),
    activityDateTime: new Date(t).toISOString(),
    t,
    category,
    activityDisplayName,
    result: "success",
    loggedByService: "Core Directory",
    operationType: "Add",
    initiatedBy: { userId: "a1", userPrincipalName: "admin@contoso.com", ipAddress: "95.165.1.1", appId: null, appDisplayName: null, servicePrincipalId: null },
    targets: [{ id: "u2", displayName: "User Two", type: "User", userPrincipalName: "u2@contoso.com", modifiedProperties: [] }],
    ...overrides,
  };
}

/** A medium, at-risk detection of user "u1" detected at T0 + `minute`. */
export function risk(minute: number, overrides: Partial<RiskRecord> = {}): RiskRecord {
  const t = T0 + Math.round(minute * MINUTE);
  return {
    id: nextId("r"),
    detectedDateTime: new Date(t).toISOString(),
    t,
    activityDateTime: new Date(t - MINUTE).toISOString(),
    activityT: t - MINUTE,
    riskEventType: "unlikelyTravel",
    riskLevel: "medium",
    riskState: "atRisk",
    riskDetail: "none",
    activity: "signin",
    detectionTimingType: "offline",
    ipAddress: "126.72.1.1",
    userId: "u1",
    userPrincipalName: "u1@contoso.com",
    countryOrRegion: "JP",
    city: "Tokyo",
    ...overrides,
  };
}
