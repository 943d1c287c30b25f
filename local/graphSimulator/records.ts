/**
 * The shapes of the Graph resources the simulator serves, taken from the documented samples in
 * test/fixtures/microsoft-docs (sign-in v1.0 and beta, directoryAudit, riskDetection, serviceHealthIssue), and the
 * `$filter` / `$select` rules per resource and API version.
 */
import type { FilterSchema } from "./odataFilter.js";

export type ApiVersion = "v1.0" | "beta";
export type Licence = "free" | "p1" | "p2";
export type SignInEventType = "interactiveUser" | "nonInteractiveUser" | "servicePrincipal" | "managedIdentity";

export const SIGN_IN_EVENT_TYPES: readonly SignInEventType[] = [
  "interactiveUser",
  "nonInteractiveUser",
  "servicePrincipal",
  "managedIdentity",
];

export interface GeoLocation {
  city: string | null;
  state: string | null;
  countryOrRegion: string | null;
  geoCoordinates: { altitude: number | null; latitude: number; longitude: number } | null;
}

export interface AuthenticationDetail {
  authenticationStepDateTime: string;
  authenticationMethod: string;
  authenticationMethodDetail: string | null;
  succeeded: boolean;
  authenticationStepResultDetail: string;
  authenticationStepRequirement: string;
}

/** A sign-in as beta returns it; v1.0 returns the subset in SIGN_IN_FIELDS["v1.0"]. */
export interface SignIn {
  id: string;
  createdDateTime: string;
  userDisplayName: string | null;
  userPrincipalName: string | null;
  userId: string;
  appId: string;
  appDisplayName: string;
  ipAddress: string;
  clientAppUsed: string;
  userAgent: string | null;
  correlationId: string;
  conditionalAccessStatus: "success" | "failure" | "notApplied";
  isInteractive: boolean;
  riskDetail: string;
  riskLevelAggregated: string;
  riskLevelDuringSignIn: string;
  riskState: string;
  riskEventTypes: string[];
  riskEventTypes_v2: string[];
  resourceDisplayName: string;
  resourceId: string;
  resourceTenantId: string;
  homeTenantId: string;
  authenticationRequirement: "singleFactorAuthentication" | "multiFactorAuthentication";
  signInEventTypes: SignInEventType[];
  servicePrincipalId: string;
  servicePrincipalName: string | null;
  userType: string;
  status: { errorCode: number; failureReason: string | null; additionalDetails: string | null };
  deviceDetail: {
    deviceId: string;
    displayName: string | null;
    operatingSystem: string;
    browser: string;
    isCompliant: boolean | null;
    isManaged: boolean | null;
    trustType: string | null;
  };
  location: GeoLocation;
  appliedConditionalAccessPolicies: {
    id: string;
    displayName: string;
    enforcedGrantControls: string[];
    enforcedSessionControls: string[];
    result: string;
  }[];
  mfaDetail: { authMethod: string | null; authDetail: string | null } | null;
  authenticationDetails: AuthenticationDetail[];
}

const SIGN_IN_V1_FIELDS = [
  "id",
  "createdDateTime",
  "userDisplayName",
  "userPrincipalName",
  "userId",
  "appId",
  "appDisplayName",
  "ipAddress",
  "clientAppUsed",
  "correlationId",
  "conditionalAccessStatus",
  "isInteractive",
  "riskDetail",
  "riskLevelAggregated",
  "riskLevelDuringSignIn",
  "riskState",
  "riskEventTypes",
  "riskEventTypes_v2",
  "resourceDisplayName",
  "resourceId",
  "status",
  "deviceDetail",
  "location",
  "appliedConditionalAccessPolicies",
] as const satisfies readonly (keyof SignIn)[];

const SIGN_IN_BETA_FIELDS = [
  ...SIGN_IN_V1_FIELDS,
  "userAgent",
  "resourceTenantId",
  "homeTenantId",
  "authenticationRequirement",
  "signInEventTypes",
  "servicePrincipalId",
  "servicePrincipalName",
  "userType",
  "mfaDetail",
  "authenticationDetails",
] as const satisfies readonly (keyof SignIn)[];

/** Properties each API version returns for a sign-in (v1.0 is the set in the v1.0 sample). */
export const SIGN_IN_FIELDS: Readonly<Record<ApiVersion, readonly (keyof SignIn)[]>> = {
  "v1.0": SIGN_IN_V1_FIELDS,
  beta: SIGN_IN_BETA_FIELDS,
};

export interface AuditIdentity {
  user: {
    id: string;
    displayName: string | null;
    userPrincipalName: string | null;
    ipAddress: string | null;
    userType: string | null;
    homeTenantId: string | null;
    homeTenantName: string | null;
  } | null;
  app: { appId: string; displayName: string; servicePrincipalId: string; servicePrincipalName: string | null } | null;
}

export interface DirectoryAudit {
  id: string;
  category: string;
  correlationId: string;
  result: "success" | "failure" | "timeout" | "unknownFutureValue";
  resultReason: string;
  activityDisplayName: string;
  activityDateTime: string;
  loggedByService: string;
  operationType: string;
  initiatedBy: AuditIdentity;
  targetResources: {
    id: string;
    displayName: string | null;
    type: string;
    userPrincipalName: string | null;
    groupType: string | null;
    modifiedProperties: { displayName: string; oldValue: string | null; newValue: string | null }[];
  }[];
  additionalDetails: { key: string; value: string }[];
}

export const DIRECTORY_AUDIT_FIELDS: readonly (keyof DirectoryAudit)[] = [
  "id",
  "category",
  "correlationId",
  "result",
  "resultReason",
  "activityDisplayName",
  "activityDateTime",
  "loggedByService",
  "operationType",
  "initiatedBy",
  "targetResources",
  "additionalDetails",
];

export interface RiskDetection {
  "@odata.type": "#microsoft.graph.riskDetection";
  id: string;
  requestId: string;
  correlationId: string;
  riskEventType: string;
  riskState: string;
  riskLevel: string;
  riskDetail: string;
  source: string;
  detectionTimingType: "realtime" | "offline" | "nearRealtime";
  activity: "signin" | "user";
  tokenIssuerType: string;
  ipAddress: string;
  location: GeoLocation;
  activityDateTime: string;
  detectedDateTime: string;
  lastUpdatedDateTime: string;
  userId: string;
  userDisplayName: string;
  userPrincipalName: string;
  additionalInfo: string;
}

export const RISK_DETECTION_FIELDS: readonly (keyof RiskDetection)[] = [
  "@odata.type",
  "id",
  "requestId",
  "correlationId",
  "riskEventType",
  "riskState",
  "riskLevel",
  "riskDetail",
  "source",
  "detectionTimingType",
  "activity",
  "tokenIssuerType",
  "ipAddress",
  "location",
  "activityDateTime",
  "detectedDateTime",
  "lastUpdatedDateTime",
  "userId",
  "userDisplayName",
  "userPrincipalName",
  "additionalInfo",
];

export interface ServiceHealthIssue {
  startDateTime: string;
  endDateTime: string | null;
  lastModifiedDateTime: string;
  title: string;
  id: string;
  impactDescription: string;
  classification: string;
  origin: string;
  status: string;
  service: string;
  feature: string | null;
  featureGroup: string | null;
  isResolved: boolean;
  details: { name: string; value: string }[];
  posts: {
    createdDateTime: string;
    postType: string;
    description: { contentType: "Html" | "Text"; content: string };
  }[];
}

export const SERVICE_ISSUE_FIELDS: readonly (keyof ServiceHealthIssue)[] = [
  "startDateTime",
  "endDateTime",
  "lastModifiedDateTime",
  "title",
  "id",
  "impactDescription",
  "classification",
  "origin",
  "status",
  "service",
  "feature",
  "featureGroup",
  "isResolved",
  "details",
  "posts",
];

const signInProperties = {
  createdDateTime: { type: "datetime", get: (r: SignIn) => r.createdDateTime },
  id: { type: "string", get: (r: SignIn) => r.id },
  userId: { type: "string", get: (r: SignIn) => r.userId },
  userPrincipalName: { type: "string", get: (r: SignIn) => r.userPrincipalName, startswith: true },
  userDisplayName: { type: "string", get: (r: SignIn) => r.userDisplayName, startswith: true },
  appId: { type: "string", get: (r: SignIn) => r.appId },
  appDisplayName: { type: "string", get: (r: SignIn) => r.appDisplayName, startswith: true },
  ipAddress: { type: "string", get: (r: SignIn) => r.ipAddress, startswith: true },
  clientAppUsed: { type: "string", get: (r: SignIn) => r.clientAppUsed },
  conditionalAccessStatus: { type: "string", get: (r: SignIn) => r.conditionalAccessStatus },
  correlationId: { type: "string", get: (r: SignIn) => r.correlationId },
  riskLevelDuringSignIn: { type: "string", get: (r: SignIn) => r.riskLevelDuringSignIn },
  riskLevelAggregated: { type: "string", get: (r: SignIn) => r.riskLevelAggregated },
  riskState: { type: "string", get: (r: SignIn) => r.riskState },
  isInteractive: { type: "boolean", get: (r: SignIn) => r.isInteractive },
  "status/errorCode": { type: "number", get: (r: SignIn) => r.status.errorCode },
  "location/city": { type: "string", get: (r: SignIn) => r.location.city, startswith: true },
  "location/countryOrRegion": { type: "string", get: (r: SignIn) => r.location.countryOrRegion },
  "location/state": { type: "string", get: (r: SignIn) => r.location.state },
  riskEventTypes_v2: { type: "stringCollection", get: (r: SignIn) => r.riskEventTypes_v2 },
} as const satisfies FilterSchema<SignIn>["properties"];

/** `$filter` properties of signIns per version; only beta knows `signInEventTypes`. */
export const SIGN_IN_FILTER: Readonly<Record<ApiVersion, FilterSchema<SignIn>>> = {
  "v1.0": { typeName: "microsoft.graph.signIn", timeProperty: "createdDateTime", properties: signInProperties },
  beta: {
    typeName: "microsoft.graph.signIn",
    timeProperty: "createdDateTime",
    properties: {
      ...signInProperties,
      signInEventTypes: { type: "stringCollection", get: (r: SignIn) => r.signInEventTypes, values: SIGN_IN_EVENT_TYPES },
    },
  },
};

export const DIRECTORY_AUDIT_FILTER: FilterSchema<DirectoryAudit> = {
  typeName: "microsoft.graph.directoryAudit",
  timeProperty: "activityDateTime",
  properties: {
    activityDateTime: { type: "datetime", get: (r) => r.activityDateTime },
    activityDisplayName: { type: "string", get: (r) => r.activityDisplayName, startswith: true },
    category: { type: "string", get: (r) => r.category },
    correlationId: { type: "string", get: (r) => r.correlationId },
    result: { type: "string", get: (r) => r.result },
    loggedByService: { type: "string", get: (r) => r.loggedByService },
    "initiatedBy/user/id": { type: "string", get: (r) => r.initiatedBy.user?.id },
    "initiatedBy/user/userPrincipalName": {
      type: "string",
      get: (r) => r.initiatedBy.user?.userPrincipalName,
      startswith: true,
    },
    "initiatedBy/app/appId": { type: "string", get: (r) => r.initiatedBy.app?.appId },
  },
};

export const RISK_DETECTION_FILTER: FilterSchema<RiskDetection> = {
  typeName: "microsoft.graph.riskDetection",
  timeProperty: "detectedDateTime",
  properties: {
    detectedDateTime: { type: "datetime", get: (r) => r.detectedDateTime },
    activityDateTime: { type: "datetime", get: (r) => r.activityDateTime },
    lastUpdatedDateTime: { type: "datetime", get: (r) => r.lastUpdatedDateTime },
    riskEventType: { type: "string", get: (r) => r.riskEventType },
    riskLevel: { type: "string", get: (r) => r.riskLevel },
    riskState: { type: "string", get: (r) => r.riskState },
    userId: { type: "string", get: (r) => r.userId },
    userPrincipalName: { type: "string", get: (r) => r.userPrincipalName, startswith: true },
    ipAddress: { type: "string", get: (r) => r.ipAddress },
  },
};

export const SERVICE_ISSUE_FILTER: FilterSchema<ServiceHealthIssue> = {
  typeName: "microsoft.graph.serviceHealthIssue",
  timeProperty: "lastModifiedDateTime",
  properties: {
    lastModifiedDateTime: { type: "datetime", get: (r) => r.lastModifiedDateTime },
    startDateTime: { type: "datetime", get: (r) => r.startDateTime },
    endDateTime: { type: "datetime", get: (r) => r.endDateTime },
    service: { type: "string", get: (r) => r.service },
    classification: { type: "string", get: (r) => r.classification },
    status: { type: "string", get: (r) => r.status },
    id: { type: "string", get: (r) => r.id },
    isResolved: { type: "boolean", get: (r) => r.isResolved },
  },
};
