/**
 * The compact sign-in the detectors read, normalised at the boundary from a Graph `signIn` (v1.0 or beta).
 *
 * This runs once per record (hundreds of thousands per review), so it is a hand-rolled guard rather than a zod parse:
 * it reads the fields the detectors need, checks their types, and never copies anything else. The shapes come from
 * the documented samples in test/fixtures/microsoft-docs (the beta sample has `geoCoordinates: {}`; v1.0 has no
 * `signInEventTypes`, `servicePrincipalId` or, in older samples, `riskEventTypes_v2`).
 */

import { parseGraphTime } from "./graphTime.js";

export const SIGN_IN_EVENT_TYPES = ["interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"] as const;
export type SignInEventType = (typeof SIGN_IN_EVENT_TYPES)[number];

export interface SignInRecord {
  id: string;
  /** As Graph sent it (ISO 8601, UTC). */
  createdDateTime: string;
  /** `createdDateTime` in epoch milliseconds. */
  t: number;
  /** Empty for service-principal and managed-identity sign-ins. */
  userId: string;
  userPrincipalName: string | null;
  appId: string;
  appDisplayName: string;
  ipAddress: string;
  /** "Browser", "Mobile Apps and Desktop clients", "IMAP4", … (empty for service principals). */
  clientAppUsed: string;
  /** `status.errorCode`: 0 is a success. */
  errorCode: number;
  eventType: SignInEventType;
  riskLevelDuringSignIn: string;
  riskState: string;
  /** `riskEventTypes_v2`, or the older `riskEventTypes` when v2 is absent. */
  riskEventTypes: readonly string[];
  countryOrRegion: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  servicePrincipalId: string | null;
}

/**
 * Properties to `$select` per API version so the detectors get everything they read and Graph sends nothing else
 * (a third of the bytes of a whole record). v1.0 names only properties v1.0 has (`signInEventTypes` and
 * `servicePrincipalId` are beta-only: v1.0 rejects a `$select` naming them).
 */
export const SIGN_IN_SELECT = {
  "v1.0": [
    "id",
    "createdDateTime",
    "userId",
    "userPrincipalName",
    "appId",
    "appDisplayName",
    "ipAddress",
    "clientAppUsed",
    "status",
    "riskLevelDuringSignIn",
    "riskState",
    "riskEventTypes",
    "riskEventTypes_v2",
    "location",
  ],
  beta: [
    "id",
    "createdDateTime",
    "userId",
    "userPrincipalName",
    "appId",
    "appDisplayName",
    "ipAddress",
    "clientAppUsed",
    "status",
    "riskLevelDuringSignIn",
    "riskState",
    "riskEventTypes",
    "riskEventTypes_v2",
    "location",
    "signInEventTypes",
    "servicePrincipalId",
  ],
} as const satisfies Readonly<Record<"v1.0" | "beta", readonly string[]>>;

/**
 * The list of a sign-in with no risk event types (most of them), shared. Not frozen: V8 iterates a frozen array
 * with a generic iterator, so the detectors' `for … of` over it allocated about 85 bytes a sign-in (133 → 48 bytes
 * a record in `observe` without it) while the whole slice is held, and each collection that causes copies the held
 * slice again. `readonly` keeps our code from changing it.
 */
const NO_STRINGS: readonly string[] = [];

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function nullableStr(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function stringList(value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  if (value.length === 0) return NO_STRINGS;
  for (const item of value) if (typeof item !== "string") return value.filter((v): v is string => typeof v === "string");
  return value as string[];
}

function eventTypeOf(value: unknown, fallback: SignInEventType): SignInEventType {
  if (!Array.isArray(value)) return fallback;
  for (const item of value as unknown[]) {
    switch (item) {
      case "interactiveUser":
      case "nonInteractiveUser":
      case "servicePrincipal":
      case "managedIdentity":
        return item;
      default:
    }
  }
  return fallback;
}

/**
 * The compact record of a Graph sign-in, or undefined when it lacks what identifies and orders it (`id`,
 * a parseable `createdDateTime`, `status.errorCode`): the caller counts those as unreadable. `defaultEventType` is
 * used when the record has no `signInEventTypes` (v1.0 returns interactive sign-ins only, without the property).
 */
export function toSignInRecord(raw: unknown, defaultEventType: SignInEventType): SignInRecord | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const id = r.id;
  const created = r.createdDateTime;
  const status = r.status;
  if (typeof id !== "string" || id === "" || typeof created !== "string" || typeof status !== "object" || status === null) return undefined;
  const errorCode = (status as Record<string, unknown>).errorCode;
  if (typeof errorCode !== "number" || !Number.isFinite(errorCode)) return undefined;
  const t = parseGraphTime(created);
  if (Number.isNaN(t)) return undefined;
  let countryOrRegion: string | null = null;
  let city: string | null = null;
  let latitude: number | null = null;
  let longitude: number | null = null;
  const location = r.location;
  if (typeof location === "object" && location !== null) {
    const l = location as Record<string, unknown>;
    countryOrRegion = nullableStr(l.countryOrRegion);
    city = nullableStr(l.city);
    const geo = l.geoCoordinates;
    if (typeof geo === "object" && geo !== null) {
      latitude = finite((geo as Record<string, unknown>).latitude);
      longitude = finite((geo as Record<string, unknown>).longitude);
      if (latitude === null || longitude === null) latitude = longitude = null;
    }
  }
  return {
    id,
    createdDateTime: created,
    t,
    userId: str(r.userId),
    userPrincipalName: nullableStr(r.userPrincipalName),
    appId: str(r.appId),
    appDisplayName: str(r.appDisplayName),
    ipAddress: str(r.ipAddress),
    clientAppUsed: str(r.clientAppUsed),
    errorCode,
    eventType: eventTypeOf(r.signInEventTypes, defaultEventType),
    riskLevelDuringSignIn: str(r.riskLevelDuringSignIn),
    riskState: str(r.riskState),
    riskEventTypes: stringList(r.riskEventTypes_v2) ?? stringList(r.riskEventTypes) ?? NO_STRINGS,
    countryOrRegion,
    city,
    latitude,
    longitude,
    servicePrincipalId: nullableStr(r.servicePrincipalId),
  };
}
