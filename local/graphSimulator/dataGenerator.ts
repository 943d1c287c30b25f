/**
 * The deterministic, seeded data behind the Graph simulator: tenants, users, sign-ins, directory audits, risk
 * detections and service health issues, with planted attacks whose ground truth tests can read.
 *
 * Nothing large is held in memory. Background records are generated on demand per (tenant, hour) for sign-ins and
 * per (tenant, day) for audits and risk detections, each from its own counter-based stream keyed by
 * (seed, tenant, bucket): any bucket can be regenerated at any time, in any order, with identical results. Only the
 * planted attacks (a few dozen records per tenant) are precomputed.
 */
import { SeededRandom, hashKey } from "./seededRandom.js";
import type {
  AuthenticationDetail,
  DirectoryAudit,
  GeoLocation,
  Licence,
  RiskDetection,
  ServiceHealthIssue,
  SignIn,
  SignInEventType,
} from "./records.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Days of sign-ins and directory audits Entra keeps per licence (Free 7, P1/P2 30). */
export const RETENTION_DAYS: Readonly<Record<Licence, number>> = { free: 7, p1: 30, p2: 30 };
/** Identity Protection keeps risk detections for 90 days. */
export const RISK_RETENTION_DAYS = 90;

export type AttackKind =
  | "passwordSpray"
  | "bruteForceThenSuccess"
  | "mfaFatigue"
  | "impossibleTravel"
  | "legacyAuthSuccess"
  | "riskySignIn"
  | "newAdminRoleAssignment"
  | "consentToApplication"
  | "servicePrincipalCredential";

export const ATTACK_KINDS: readonly AttackKind[] = [
  "passwordSpray",
  "bruteForceThenSuccess",
  "mfaFatigue",
  "impossibleTravel",
  "legacyAuthSuccess",
  "riskySignIn",
  "newAdminRoleAssignment",
  "consentToApplication",
  "servicePrincipalCredential",
];

/** One planted attack and the records that carry it: what a review of the window should find. */
export interface PlantedAttack {
  id: string;
  tenantId: string;
  kind: AttackKind;
  description: string;
  /** Users attacked or acting (the victim, the sprayed accounts, the admin who granted a role). */
  users: { id: string; userPrincipalName: string }[];
  /** Source IP addresses of the attack. */
  ipAddresses: string[];
  /** First and last record of the attack (ISO). */
  start: string;
  end: string;
  signInIds: string[];
  auditIds: string[];
  riskDetectionIds: string[];
}

export interface TenantOptions {
  id?: string;
  displayName?: string;
  domain?: string;
  licence?: Licence;
  users?: number;
  /** Attacks to plant (all by default; `[]` for a quiet tenant). */
  attacks?: readonly AttackKind[];
}

export interface DatasetOptions {
  seed: number | string;
  /** Simulator clock at start-up (epoch ms): the newest data, and the reference for placing attacks. */
  nowMs: number;
  /** Days of history before `nowMs` that hold data. */
  days: number;
  tenants?: readonly TenantOptions[];
  /** Users per tenant when a tenant does not say. */
  users?: number;
  /** Mean sign-ins per user per weekday. */
  interactivePerUserPerDay?: number;
  nonInteractivePerUserPerDay?: number;
  /** Service health issues to serve instead of the generated ones. */
  serviceIssues?: readonly ServiceHealthIssue[];
  /**
   * Where planted attacks may start (epoch ms, inside the retained data): e.g. inside a blind window, for the demo.
   * Default: anywhere from 6 h after the oldest retained hour to 3 h before `nowMs`.
   */
  attacksBetween?: { startMs: number; endMs: number };
}

export interface SeededTenant {
  id: string;
  displayName: string;
  domain: string;
  licence: Licence;
  retentionDays: number;
  userCount: number;
}

export interface SimUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  home: City;
  homeIp: string;
  mobileIp: string;
  os: string;
  browser: string;
  device: { os: string; browser: string; ua: string };
  isAdmin: boolean;
}

export interface Timed<R> {
  t: number;
  r: R;
}

interface City {
  city: string;
  state: string | null;
  countryOrRegion: string;
  latitude: number;
  longitude: number;
  ipPrefix: string;
}

interface AppInfo {
  appId: string;
  appDisplayName: string;
  resourceDisplayName: string;
  resourceId: string;
  clientAppUsed: string;
}

const GRAPH_RESOURCE = { resourceDisplayName: "Microsoft Graph", resourceId: "00000003-0000-0000-c000-000000000000" };
const EXCHANGE_RESOURCE = {
  resourceDisplayName: "Office 365 Exchange Online",
  resourceId: "00000002-0000-0ff1-ce00-000000000000",
};

const OFFICE_CITIES: Readonly<Record<string, readonly City[]>> = {
  US: [
    { city: "Redmond", state: "Washington", countryOrRegion: "US", latitude: 47.6805, longitude: -122.1209, ipPrefix: "131.107" },
    { city: "New York", state: "New York", countryOrRegion: "US", latitude: 40.7128, longitude: -74.006, ipPrefix: "64.124" },
    { city: "Chicago", state: "Illinois", countryOrRegion: "US", latitude: 41.8781, longitude: -87.6298, ipPrefix: "98.213" },
    { city: "Austin", state: "Texas", countryOrRegion: "US", latitude: 30.2672, longitude: -97.7431, ipPrefix: "70.114" },
  ],
  DE: [
    { city: "Berlin", state: "Berlin", countryOrRegion: "DE", latitude: 52.52, longitude: 13.405, ipPrefix: "91.64" },
    { city: "Munich", state: "Bavaria", countryOrRegion: "DE", latitude: 48.1351, longitude: 11.582, ipPrefix: "84.150" },
    { city: "Hamburg", state: "Hamburg", countryOrRegion: "DE", latitude: 53.5511, longitude: 9.9937, ipPrefix: "87.123" },
  ],
  GB: [
    { city: "London", state: "England", countryOrRegion: "GB", latitude: 51.5072, longitude: -0.1276, ipPrefix: "81.2" },
    { city: "Manchester", state: "England", countryOrRegion: "GB", latitude: 53.4808, longitude: -2.2426, ipPrefix: "86.5" },
  ],
  NL: [
    { city: "Amsterdam", state: "North Holland", countryOrRegion: "NL", latitude: 52.3676, longitude: 4.9041, ipPrefix: "145.53" },
  ],
};

const ATTACKER_CITIES: readonly City[] = [
  { city: "Moscow", state: "Moscow", countryOrRegion: "RU", latitude: 55.7558, longitude: 37.6173, ipPrefix: "95.165" },
  { city: "Lagos", state: "Lagos", countryOrRegion: "NG", latitude: 6.5244, longitude: 3.3792, ipPrefix: "102.89" },
  { city: "Shanghai", state: "Shanghai", countryOrRegion: "CN", latitude: 31.2304, longitude: 121.4737, ipPrefix: "116.228" },
  { city: "Sao Paulo", state: "Sao Paulo", countryOrRegion: "BR", latitude: -23.5505, longitude: -46.6333, ipPrefix: "177.71" },
  { city: "Hanoi", state: "Hanoi", countryOrRegion: "VN", latitude: 21.0278, longitude: 105.8342, ipPrefix: "113.190" },
];

/** Where Tor exit nodes and VPNs show up. */
const ANONYMIZER_CITY: City = {
  city: "Frankfurt am Main",
  state: "Hesse",
  countryOrRegion: "DE",
  latitude: 50.1109,
  longitude: 8.6821,
  ipPrefix: "185.220",
};

const TRAVEL_CITIES: readonly City[] = [
  { city: "Sydney", state: "New South Wales", countryOrRegion: "AU", latitude: -33.8688, longitude: 151.2093, ipPrefix: "1.144" },
  { city: "Singapore", state: "Singapore", countryOrRegion: "SG", latitude: 1.3521, longitude: 103.8198, ipPrefix: "118.189" },
  { city: "Tokyo", state: "Tokyo", countryOrRegion: "JP", latitude: 35.6762, longitude: 139.6503, ipPrefix: "126.72" },
];

const APPS: readonly (readonly [AppInfo, number])[] = [
  [{ appId: "1fec8e78-bce4-4aaf-ab1b-5451cc387264", appDisplayName: "Microsoft Teams", resourceDisplayName: "Microsoft Teams Services", resourceId: "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", clientAppUsed: "Mobile Apps and Desktop clients" }, 30],
  [{ appId: "4765445b-32c6-49b0-83e6-1d93765276ca", appDisplayName: "OfficeHome", ...GRAPH_RESOURCE, clientAppUsed: "Browser" }, 20],
  [{ appId: "00000002-0000-0ff1-ce00-000000000000", appDisplayName: "Office 365 Exchange Online", ...EXCHANGE_RESOURCE, clientAppUsed: "Browser" }, 20],
  [{ appId: "d3590ed6-52b3-4102-aeff-aad2292ab01c", appDisplayName: "Microsoft Office", resourceDisplayName: "Office 365 SharePoint Online", resourceId: "00000003-0000-0ff1-ce00-000000000000", clientAppUsed: "Mobile Apps and Desktop clients" }, 15],
  [{ appId: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", appDisplayName: "Azure Portal", resourceDisplayName: "Windows Azure Service Management API", resourceId: "797f4846-ba00-4fd7-ba43-dac1f8f63013", clientAppUsed: "Browser" }, 5],
  [{ appId: "27922004-5251-4030-b22d-91ecd9a37ea4", appDisplayName: "Outlook Mobile", ...EXCHANGE_RESOURCE, clientAppUsed: "Mobile Apps and Desktop clients" }, 10],
];

const POWERSHELL_APP: AppInfo = {
  appId: "1b730954-1685-4b74-9bfd-dac224a7b894",
  appDisplayName: "Azure Active Directory PowerShell",
  resourceDisplayName: "Windows Azure Active Directory",
  resourceId: "00000002-0000-0000-c000-000000000000",
  clientAppUsed: "Mobile Apps and Desktop clients",
};
const OFFICE_HOME_APP = APPS[1]?.[0] as AppInfo;
const EXCHANGE_APP = APPS[2]?.[0] as AppInfo;

const DEVICES: readonly (readonly [{ os: string; browser: string; ua: string }, number])[] = [
  [{ os: "Windows 10", browser: "Edge 127.0.0", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.0.0" }, 45],
  [{ os: "MacOs", browser: "Safari 17.5", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15" }, 20],
  [{ os: "Windows 10", browser: "Chrome 128.0.0", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36" }, 25],
  [{ os: "Ios 17", browser: "Mobile Safari 17.6", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1" }, 10],
];
const ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36";

const FIRST_NAMES = ["Adele", "Alex", "Allan", "Bianca", "Christie", "Debra", "Diego", "Emily", "Enrico", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Raul", "Sanjay", "Yuki", "Zrinka", "Olivia", "Tomas", "Amara", "Kenji"];
const LAST_NAMES = ["Vance", "Wilber", "Deyoung", "Pinto", "Cline", "Berger", "Siciliani", "Braun", "Mari", "Archie", "Guzman", "Langer", "Lorenz", "Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Razi", "Patel", "Tanaka", "Jurkovic", "Lack", "Novak", "Okafor", "Sato"];

const FAILURE_REASONS: Readonly<Record<number, string>> = {
  50053: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
  50074: "Strong Authentication is required.",
  50076: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
  50126: "Error validating credentials due to invalid username or password.",
  50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
  53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
  70044: "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
  500121: "Authentication failed during strong authentication request.",
};

const MFA_POLICY = { id: "de7e60eb-ed89-4d73-8205-2227def6b7c9", displayName: "Require MFA for all users" };
const CA_RESULTS: Readonly<Record<SignIn["conditionalAccessStatus"], SignIn["appliedConditionalAccessPolicies"]>> = {
  success: [{ ...MFA_POLICY, enforcedGrantControls: ["Mfa"], enforcedSessionControls: [], result: "success" }],
  failure: [{ ...MFA_POLICY, enforcedGrantControls: ["Mfa"], enforcedSessionControls: [], result: "failure" }],
  notApplied: [{ ...MFA_POLICY, enforcedGrantControls: ["Mfa"], enforcedSessionControls: [], result: "notApplied" }],
};
const GLOBAL_ADMIN_TEMPLATE_ID = "62e90394-69f5-4237-9190-012177145e10";

interface SignInSpec {
  t: number;
  user: SimUser;
  app: AppInfo;
  ip: string;
  city: City;
  eventType: SignInEventType;
  errorCode: number;
  clientAppUsed?: string;
  mfa?: "satisfied" | "previously" | "denied" | "required" | "none";
  risk?: { level: string; state: string; eventTypes: string[] };
  device?: { os: string; browser: string; ua: string };
}

interface TenantState {
  tenant: SeededTenant;
  users: SimUser[];
  servicePrincipals: { id: string; appId: string; name: string }[];
  tzOffsetHours: number;
  plantedSignIns: Map<number, Timed<SignIn>[]>;
  plantedAudits: Map<number, Timed<DirectoryAudit>[]>;
  plantedRisks: Map<number, Timed<RiskDetection>[]>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

function byTimeDesc<R extends { id: string }>(a: Timed<R>, b: Timed<R>): number {
  return b.t - a.t || (a.r.id < b.r.id ? 1 : a.r.id > b.r.id ? -1 : 0);
}

function pushTo<R>(map: Map<number, Timed<R>[]>, bucket: number, item: Timed<R>): void {
  const list = map.get(bucket);
  if (list) list.push(item);
  else map.set(bucket, [item]);
}

function ipIn(rng: SeededRandom, city: City): string {
  return `${city.ipPrefix}.${rng.between(1, 254)}.${rng.between(1, 254)}`;
}

const GEO_CACHE = new WeakMap<City, GeoLocation>();

/** Location objects are shared between records (they are only ever serialised), which keeps GC pressure low. */
function geo(city: City): GeoLocation {
  const cached = GEO_CACHE.get(city);
  if (cached) return cached;
  const location: GeoLocation = {
    city: city.city,
    state: city.state,
    countryOrRegion: city.countryOrRegion,
    geoCoordinates: { altitude: null, latitude: city.latitude, longitude: city.longitude },
  };
  GEO_CACHE.set(city, location);
  return location;
}

/** Mean of a Poisson-ish count with ±20 % jitter, rounded stochastically. */
function sampleCount(rng: SeededRandom, mean: number): number {
  const jittered = mean * (0.8 + 0.4 * rng.next());
  const whole = Math.floor(jittered);
  return whole + (rng.chance(jittered - whole) ? 1 : 0);
}

/** Relative activity by local hour of day (office hours) — sums to 24 over a day. */
const DIURNAL: readonly number[] = (() => {
  const raw = Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 18 ? 1.8 : h >= 6 && h < 22 ? 0.8 : 0.15));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w * 24) / sum);
})();

/**
 * The seeded world the simulator serves. Construct once per simulator; every method is deterministic for the
 * same options.
 */
export class GraphDataset {
  readonly seed: string;
  readonly tenants: readonly SeededTenant[];
  readonly groundTruth: readonly PlantedAttack[];
  /** First instant that holds data (start-up `now` minus `days`). */
  readonly dataStartMs: number;
  private readonly states = new Map<string, TenantState>();
  private readonly interactivePerDay: number;
  private readonly nonInteractivePerDay: number;
  private readonly issues: readonly ServiceHealthIssue[];
  private readonly cache = new Map<string, readonly Timed<SignIn>[]>();

  constructor(options: DatasetOptions) {
    if (!(options.days >= 1)) throw new RangeError("days must be at least 1");
    this.seed = String(options.seed);
    this.dataStartMs = options.nowMs - options.days * DAY_MS;
    this.interactivePerDay = options.interactivePerUserPerDay ?? 4;
    this.nonInteractivePerDay = options.nonInteractivePerUserPerDay ?? 16;
    const specs = options.tenants ?? [
      { displayName: "Contoso", licence: "p2" as const },
      { displayName: "Fabrikam", licence: "free" as const },
    ];
    const truth: PlantedAttack[] = [];
    specs.forEach((spec, index) => {
      const state = this.seedTenant(spec, index, options.users ?? 25);
      this.states.set(state.tenant.id, state);
      truth.push(...this.plantAttacks(state, spec.attacks ?? ATTACK_KINDS, options.nowMs, options.days, options.attacksBetween));
    });
    this.tenants = [...this.states.values()].map((s) => s.tenant);
    this.groundTruth = truth;
    this.issues = options.serviceIssues ?? this.generateIssues(options.nowMs);
  }

  tenant(id: string): SeededTenant | undefined {
    return this.states.get(id.toLowerCase())?.tenant;
  }

  users(tenantId: string): readonly SimUser[] {
    return this.state(tenantId).users;
  }

  serviceIssues(): readonly ServiceHealthIssue[] {
    return this.issues;
  }

  private state(tenantId: string): TenantState {
    const state = this.states.get(tenantId.toLowerCase());
    if (!state) throw new RangeError(`tenant ${tenantId} is not seeded`);
    return state;
  }

  private seedTenant(spec: TenantOptions, index: number, defaultUsers: number): TenantState {
    const rng = SeededRandom.keyed(this.seed, "tenant", index);
    const displayName = spec.displayName ?? `Tenant ${index + 1}`;
    const id = (spec.id ?? rng.guid()).toLowerCase();
    const domain = spec.domain ?? `${displayName.toLowerCase().replace(/[^a-z0-9]/g, "")}.onmicrosoft.com`;
    const licence = spec.licence ?? "p2";
    const userCount = spec.users ?? defaultUsers;
    if (!Number.isInteger(userCount) || userCount < 2) throw new RangeError("a tenant needs at least 2 users");
    const country = rng.pick(Object.keys(OFFICE_CITIES));
    const offices = OFFICE_CITIES[country] ?? [];
    const users: SimUser[] = [];
    const taken = new Set<string>();
    for (let i = 0; i < userCount; i++) {
      const u = SeededRandom.keyed(this.seed, id, "user", i);
      const first = u.pick(FIRST_NAMES);
      const last = u.pick(LAST_NAMES);
      let alias = `${first}${last.charAt(0)}`.toLowerCase();
      if (taken.has(alias)) alias = `${alias}${i}`;
      taken.add(alias);
      const home = u.chance(0.85) ? u.pick(offices) : u.pick(Object.values(OFFICE_CITIES).flat());
      const device = u.weighted(DEVICES);
      users.push({
        id: u.guid(),
        displayName: `${first} ${last}`,
        userPrincipalName: `${alias}@${domain}`,
        home,
        homeIp: ipIn(u, home),
        mobileIp: ipIn(u, home),
        os: device.os,
        browser: device.browser,
        device,
        isAdmin: i < Math.max(1, Math.round(userCount * 0.05)),
      });
    }
    const servicePrincipals = ["Backup Connector", "HR Sync", "Monitoring Agent"].map((name, i) => {
      const s = SeededRandom.keyed(this.seed, id, "sp", i);
      return { id: s.guid(), appId: s.guid(), name };
    });
    return {
      tenant: { id, displayName, domain, licence, retentionDays: RETENTION_DAYS[licence], userCount },
      users,
      servicePrincipals,
      tzOffsetHours: country === "US" ? -6 : country === "GB" ? 0 : 1,
      plantedSignIns: new Map(),
      plantedAudits: new Map(),
      plantedRisks: new Map(),
    };
  }

  /** Sign-ins of one tenant in one hour (epoch hour index), newest first; empty before the data period. */
  signInsInHour(tenantId: string, hour: number): readonly Timed<SignIn>[] {
    const state = this.state(tenantId);
    if ((hour + 1) * HOUR_MS <= this.dataStartMs) return [];
    const key = `${state.tenant.id}:${hour}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const records = this.generateHour(state, hour);
    if (this.cache.size >= 8) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, records);
    return records;
  }

  private generateHour(state: TenantState, hour: number): Timed<SignIn>[] {
    const rng = SeededRandom.keyed(this.seed, state.tenant.id, "signIns", hour);
    const start = hour * HOUR_MS;
    const localHour = (((new Date(start).getUTCHours() + state.tzOffsetHours) % 24) + 24) % 24;
    const weekday = new Date(start + state.tzOffsetHours * HOUR_MS).getUTCDay();
    const weekend = weekday === 0 || weekday === 6 ? 0.35 : 1;
    const weight = (DIURNAL[localHour] ?? 1) * weekend;
    const users = state.users;
    const out: Timed<SignIn>[] = [];
    const at = () => start + rng.int(3600) * 1000;

    const interactive = sampleCount(rng, (users.length * this.interactivePerDay * weight) / 24);
    for (let i = 0; i < interactive; i++) {
      const user = rng.pick(users);
      const errorCode = rng.weighted<number>([
        [0, 920],
        [50126, 30],
        [50074, 20],
        [50140, 15],
        [53003, 8],
        [50076, 7],
      ]);
      const mfa = errorCode === 0 ? rng.weighted<"satisfied" | "previously" | "none">([["satisfied", 25], ["previously", 45], ["none", 30]]) : errorCode === 50074 || errorCode === 50076 ? "required" : "none";
      const mobile = rng.chance(0.2);
      out.push(this.signIn(rng, state, { t: at(), user, app: rng.weighted(APPS), ip: mobile ? user.mobileIp : user.homeIp, city: user.home, eventType: "interactiveUser", errorCode, mfa }));
    }
    const nonInteractive = sampleCount(rng, (users.length * this.nonInteractivePerDay * (0.5 + 0.5 * weight)) / 24);
    for (let i = 0; i < nonInteractive; i++) {
      const user = rng.pick(users);
      const errorCode = rng.weighted<number>([[0, 970], [70044, 20], [50140, 10]]);
      out.push(this.signIn(rng, state, { t: at(), user, app: rng.weighted(APPS), ip: user.homeIp, city: user.home, eventType: "nonInteractiveUser", errorCode, mfa: errorCode === 0 ? "previously" : "none" }));
    }
    for (const sp of state.servicePrincipals) {
      const count = sampleCount(rng, 2);
      for (let i = 0; i < count; i++) out.push(this.servicePrincipalSignIn(rng, state, sp, at(), "servicePrincipal"));
    }
    const managed = state.servicePrincipals[0];
    if (managed && rng.chance(0.5)) out.push(this.servicePrincipalSignIn(rng, state, { ...managed, name: "Automation Account" }, at(), "managedIdentity"));
    for (const planted of state.plantedSignIns.get(hour) ?? []) out.push(planted);
    out.sort(byTimeDesc);
    return out;
  }

  private signIn(rng: SeededRandom, state: TenantState, spec: SignInSpec): Timed<SignIn> {
    const { user, app, errorCode } = spec;
    const interactive = spec.eventType === "interactiveUser";
    const device = spec.device ?? user.device;
    const when = iso(spec.t);
    const mfa = spec.mfa ?? "none";
    const details: AuthenticationDetail[] = [];
    const step = (method: string, methodDetail: string | null, succeeded: boolean, result: string, requirement: string) =>
      details.push({ authenticationStepDateTime: when, authenticationMethod: method, authenticationMethodDetail: methodDetail, succeeded, authenticationStepResultDetail: result, authenticationStepRequirement: requirement });
    if (mfa === "previously" && errorCode === 0) {
      step("Previously satisfied", null, true, "First factor requirement satisfied by claim in the token", "Primary authentication");
    } else if (errorCode === 50126 || errorCode === 50053) {
      step("Password", "Password in the cloud", false, "Invalid username or password or Invalid on-premise username or password.", "Primary authentication");
    } else {
      step("Password", "Password in the cloud", true, "Correct password", "Primary authentication");
    }
    if (mfa === "satisfied") step("Mobile app notification", null, true, "MFA successfully completed", "Multi-factor authentication");
    if (mfa === "denied") step("Mobile app notification", null, false, "MFA denied; user declined the authentication", "Multi-factor authentication");
    if (mfa === "required") step("Mobile app notification", null, false, "MFA required in Azure AD", "Multi-factor authentication");
    const multiFactor = mfa === "satisfied" || mfa === "denied" || mfa === "required" || (mfa === "previously" && rng.chance(0.5));
    const risk = spec.risk ?? { level: "none", state: "none", eventTypes: [] };
    const caResult = errorCode === 53003 ? "failure" : multiFactor ? "success" : "notApplied";
    const record: SignIn = {
      id: rng.guid(),
      createdDateTime: when,
      userDisplayName: user.displayName,
      userPrincipalName: user.userPrincipalName,
      userId: user.id,
      appId: app.appId,
      appDisplayName: app.appDisplayName,
      ipAddress: spec.ip,
      clientAppUsed: spec.clientAppUsed ?? app.clientAppUsed,
      userAgent: device.ua,
      correlationId: rng.guid(),
      conditionalAccessStatus: caResult,
      isInteractive: interactive,
      riskDetail: "none",
      riskLevelAggregated: risk.level,
      riskLevelDuringSignIn: risk.level,
      riskState: risk.state,
      riskEventTypes: risk.eventTypes,
      riskEventTypes_v2: risk.eventTypes,
      resourceDisplayName: app.resourceDisplayName,
      resourceId: app.resourceId,
      resourceTenantId: state.tenant.id,
      homeTenantId: state.tenant.id,
      authenticationRequirement: multiFactor ? "multiFactorAuthentication" : "singleFactorAuthentication",
      signInEventTypes: [spec.eventType],
      servicePrincipalId: "",
      servicePrincipalName: null,
      userType: "member",
      status: {
        errorCode,
        failureReason: errorCode === 0 ? null : (FAILURE_REASONS[errorCode] ?? "Other."),
        additionalDetails: mfa === "satisfied" ? "MFA requirement satisfied by claim in the token" : null,
      },
      deviceDetail: { deviceId: "", displayName: null, operatingSystem: device.os, browser: device.browser, isCompliant: false, isManaged: false, trustType: null },
      location: geo(spec.city),
      appliedConditionalAccessPolicies: CA_RESULTS[caResult],
      mfaDetail: multiFactor ? { authMethod: "Mobile app notification", authDetail: null } : null,
      authenticationDetails: details,
    };
    return { t: spec.t, r: record };
  }

  private servicePrincipalSignIn(rng: SeededRandom, state: TenantState, sp: { id: string; appId: string; name: string }, t: number, eventType: "servicePrincipal" | "managedIdentity"): Timed<SignIn> {
    const dc: City = { city: "Amsterdam", state: "North Holland", countryOrRegion: "NL", latitude: 52.3676, longitude: 4.9041, ipPrefix: "20.50" };
    const record: SignIn = {
      id: rng.guid(),
      createdDateTime: iso(t),
      userDisplayName: null,
      userPrincipalName: null,
      userId: "",
      appId: sp.appId,
      appDisplayName: sp.name,
      ipAddress: `20.50.${rng.between(1, 254)}.${rng.between(1, 254)}`,
      clientAppUsed: "",
      userAgent: null,
      correlationId: rng.guid(),
      conditionalAccessStatus: "notApplied",
      isInteractive: false,
      riskDetail: "none",
      riskLevelAggregated: "none",
      riskLevelDuringSignIn: "none",
      riskState: "none",
      riskEventTypes: [],
      riskEventTypes_v2: [],
      ...GRAPH_RESOURCE,
      resourceTenantId: state.tenant.id,
      homeTenantId: state.tenant.id,
      authenticationRequirement: "singleFactorAuthentication",
      signInEventTypes: [eventType],
      servicePrincipalId: sp.id,
      servicePrincipalName: sp.name,
      userType: "member",
      status: { errorCode: 0, failureReason: null, additionalDetails: null },
      deviceDetail: { deviceId: "", displayName: null, operatingSystem: "", browser: "", isCompliant: null, isManaged: null, trustType: null },
      location: geo(dc),
      appliedConditionalAccessPolicies: [],
      mfaDetail: null,
      authenticationDetails: [],
    };
    return { t, r: record };
  }

  /** Directory audits of one tenant on one day (epoch day index), newest first. */
  auditsInDay(tenantId: string, day: number): readonly Timed<DirectoryAudit>[] {
    const state = this.state(tenantId);
    const out: Timed<DirectoryAudit>[] = [];
    if ((day + 1) * DAY_MS > this.dataStartMs) {
      const rng = SeededRandom.keyed(this.seed, state.tenant.id, "audits", day);
      const weekday = new Date(day * DAY_MS).getUTCDay();
      const count = sampleCount(rng, state.users.length * 0.4 * (weekday === 0 || weekday === 6 ? 0.3 : 1)) + 1;
      for (let i = 0; i < count; i++) out.push(this.backgroundAudit(rng, state, day * DAY_MS + rng.int(86_400) * 1000));
    }
    for (const planted of state.plantedAudits.get(day) ?? []) out.push(planted);
    return out.sort(byTimeDesc);
  }

  private backgroundAudit(rng: SeededRandom, state: TenantState, t: number): Timed<DirectoryAudit> {
    const user = rng.pick(state.users);
    const admin = rng.pick(state.users.filter((u) => u.isAdmin));
    const kind = rng.weighted<readonly [string, string, string, "User" | "Group" | "Device"]>([
      [["Update user", "UserManagement", "Core Directory", "User"], 30],
      [["Add member to group", "GroupManagement", "Core Directory", "Group"], 20],
      [["Remove member from group", "GroupManagement", "Core Directory", "Group"], 10],
      [["Reset password (self-service)", "UserManagement", "Self-service Password Management", "User"], 8],
      [["Update device", "Device", "Core Directory", "Device"], 20],
      [["Add registered owner to device", "Device", "Core Directory", "Device"], 5],
    ]);
    const [activity, category, service, targetType] = kind;
    const selfService = service.startsWith("Self-service");
    const target = targetType === "User" ? { id: user.id, displayName: user.displayName, type: "User", userPrincipalName: user.userPrincipalName, groupType: null }
      : targetType === "Group" ? { id: SeededRandom.keyed(this.seed, state.tenant.id, "group", rng.int(6)).guid(), displayName: rng.pick(["All Staff", "Finance", "Engineering", "Sales", "IT Admins", "Contractors"]), type: "Group", userPrincipalName: null, groupType: "unifiedGroups" }
      : { id: rng.guid(), displayName: `${user.displayName.split(" ")[0] ?? "PC"}-LAPTOP`, type: "Device", userPrincipalName: null, groupType: null };
    return { t, r: this.audit(rng, state, { t, activity, category, service, actor: selfService ? user : admin, targets: [{ ...target, modifiedProperties: [] }] }) };
  }

  private audit(
    rng: SeededRandom,
    state: TenantState,
    a: { t: number; activity: string; category: string; service: string; actor: SimUser; actorIp?: string; targets: DirectoryAudit["targetResources"]; details?: DirectoryAudit["additionalDetails"]; operationType?: string },
  ): DirectoryAudit {
    const correlationId = rng.guid();
    const suffix = `${rng.nextUint32().toString(36).toUpperCase().slice(0, 5).padEnd(5, "0")}_${String(rng.int(100_000_000)).padStart(8, "0")}`;
    return {
      id: `Directory_${correlationId}_${suffix}`,
      category: a.category,
      correlationId,
      result: "success",
      resultReason: "",
      activityDisplayName: a.activity,
      activityDateTime: new Date(a.t).toISOString(),
      loggedByService: a.service,
      operationType: a.operationType ?? (a.activity.startsWith("Add") ? "Add" : a.activity.startsWith("Remove") ? "Delete" : "Update"),
      initiatedBy: {
        user: { id: a.actor.id, displayName: null, userPrincipalName: a.actor.userPrincipalName, ipAddress: a.actorIp ?? null, userType: null, homeTenantId: null, homeTenantName: null },
        app: null,
      },
      targetResources: a.targets,
      additionalDetails: a.details ?? [],
    };
  }

  /** Risk detections of one tenant on one day (by detectedDateTime), newest first. */
  riskDetectionsInDay(tenantId: string, day: number): readonly Timed<RiskDetection>[] {
    const state = this.state(tenantId);
    const out: Timed<RiskDetection>[] = [];
    if ((day + 1) * DAY_MS > this.dataStartMs) {
      const rng = SeededRandom.keyed(this.seed, state.tenant.id, "risks", day);
      if (rng.chance(0.3)) {
        const user = rng.pick(state.users);
        const t = day * DAY_MS + rng.int(86_400) * 1000;
        out.push(this.riskDetection(rng, { user, t, detectedT: t + 60_000, type: "unfamiliarFeatures", level: "low", ip: user.mobileIp, city: user.home, timing: "realtime" }));
      }
    }
    for (const planted of state.plantedRisks.get(day) ?? []) out.push(planted);
    return out.sort(byTimeDesc);
  }

  private riskDetection(
    rng: SeededRandom,
    d: { user: SimUser; t: number; detectedT: number; type: string; level: string; ip: string; city: City; timing: RiskDetection["detectionTimingType"]; requestId?: string },
  ): Timed<RiskDetection> {
    const requestId = d.requestId ?? rng.guid();
    const detected = new Date(d.detectedT).toISOString();
    return {
      t: d.detectedT,
      r: {
        "@odata.type": "#microsoft.graph.riskDetection",
        id: rng.guid(),
        requestId,
        correlationId: rng.guid(),
        riskEventType: d.type,
        riskState: "atRisk",
        riskLevel: d.level,
        riskDetail: "none",
        source: "IdentityProtection",
        detectionTimingType: d.timing,
        activity: "signin",
        tokenIssuerType: "AzureAD",
        ipAddress: d.ip,
        location: { ...geo(d.city), geoCoordinates: null },
        activityDateTime: new Date(d.t).toISOString(),
        detectedDateTime: detected,
        lastUpdatedDateTime: detected,
        userId: d.user.id,
        userDisplayName: d.user.displayName,
        userPrincipalName: d.user.userPrincipalName,
        additionalInfo: JSON.stringify([{ Key: "userAgent", Value: ATTACKER_UA }]),
      },
    };
  }

  private plantAttacks(state: TenantState, kinds: readonly AttackKind[], nowMs: number, days: number, between?: { startMs: number; endMs: number }): PlantedAttack[] {
    const tenantId = state.tenant.id;
    const visibleMs = Math.min(days, state.tenant.retentionDays) * DAY_MS;
    // Attacks start between 6 h after the oldest retained hour and 3 h before `now`, so every record is served —
    // narrowed to `between` when given (an attack takes up to about two hours, so it starts that much before its end).
    const earliest = Math.max(nowMs - visibleMs + 6 * HOUR_MS, between ? between.startMs + HOUR_MS : -Infinity);
    const latest = Math.min(nowMs - 3 * HOUR_MS, between ? between.endMs - 3 * HOUR_MS : Infinity);
    const span = Math.max(HOUR_MS, latest - earliest);
    const victims = state.users.filter((u) => !u.isAdmin);
    const attacks: PlantedAttack[] = [];
    kinds.forEach((kind) => {
      const rng = SeededRandom.keyed(this.seed, tenantId, "attack", kind);
      const start = Math.floor((earliest + rng.int(Math.floor(span / 1000)) * 1000) / 1000) * 1000;
      const victim = rng.pick(victims.length > 0 ? victims : state.users);
      const attacker = rng.pick(ATTACKER_CITIES);
      const attackerIp = ipIn(rng, attacker);
      const signIns: Timed<SignIn>[] = [];
      const audits: Timed<DirectoryAudit>[] = [];
      const risks: Timed<RiskDetection>[] = [];
      const attacked: SimUser[] = [victim];
      const ips: string[] = [attackerIp];
      const attackerDevice = { os: "Linux", browser: "Chrome 116.0.0", ua: ATTACKER_UA };
      let description: string;
      const failure = (t: number, user: SimUser, app: AppInfo, errorCode: number, extra: Partial<SignInSpec> = {}) =>
        signIns.push(this.signIn(rng, state, { t, user, app, ip: attackerIp, city: attacker, eventType: "interactiveUser", errorCode, device: attackerDevice, ...extra }));
      switch (kind) {
        case "passwordSpray": {
          const targets = state.users.slice(0, Math.min(state.users.length, Math.max(5, Math.ceil(state.users.length * 0.6))));
          attacked.splice(0, attacked.length, ...targets);
          targets.forEach((user, i) => failure(start + i * rng.between(20, 90) * 1000, user, POWERSHELL_APP, 50126));
          const last = signIns[signIns.length - 1];
          if (last) risks.push(this.riskDetection(rng, { user: victim, t: last.t, detectedT: last.t + 2 * HOUR_MS, type: "passwordSpray", level: "high", ip: attackerIp, city: attacker, timing: "offline" }));
          description = `Password spray from ${attackerIp} (${attacker.countryOrRegion}): error 50126 on ${targets.length} accounts within an hour`;
          break;
        }
        case "bruteForceThenSuccess": {
          let t = start;
          for (let i = 0; i < 20; i++, t += rng.between(15, 40) * 1000) failure(t, victim, OFFICE_HOME_APP, 50126);
          failure(t + 30_000, victim, OFFICE_HOME_APP, 0);
          description = `Brute force on ${victim.userPrincipalName} from ${attackerIp}: 20 × 50126 then a success`;
          break;
        }
        case "mfaFatigue": {
          let t = start;
          for (let i = 0; i < 10; i++, t += rng.between(40, 120) * 1000) {
            failure(t, victim, OFFICE_HOME_APP, i % 3 === 0 ? 50074 : 500121, { mfa: i % 3 === 0 ? "required" : "denied" });
          }
          failure(t + 60_000, victim, OFFICE_HOME_APP, 0, { mfa: "satisfied" });
          description = `MFA fatigue on ${victim.userPrincipalName} from ${attackerIp}: 10 denied or unanswered MFA prompts (500121 / 50074), then an approved one`;
          break;
        }
        case "impossibleTravel": {
          const far = rng.pick(TRAVEL_CITIES);
          const farIp = ipIn(rng, far);
          ips.splice(0, ips.length, victim.homeIp, farIp);
          signIns.push(this.signIn(rng, state, { t: start, user: victim, app: EXCHANGE_APP, ip: victim.homeIp, city: victim.home, eventType: "interactiveUser", errorCode: 0, mfa: "previously" }));
          const farT = start + rng.between(20, 50) * 60_000;
          signIns.push(this.signIn(rng, state, { t: farT, user: victim, app: EXCHANGE_APP, ip: farIp, city: far, eventType: "interactiveUser", errorCode: 0, device: attackerDevice, risk: { level: "none", state: "none", eventTypes: [] } }));
          risks.push(this.riskDetection(rng, { user: victim, t: farT, detectedT: farT + 3 * HOUR_MS, type: "unlikelyTravel", level: "medium", ip: farIp, city: far, timing: "offline" }));
          description = `Impossible travel for ${victim.userPrincipalName}: ${victim.home.city} (${victim.home.countryOrRegion}) then ${far.city} (${far.countryOrRegion}) within an hour`;
          break;
        }
        case "legacyAuthSuccess": {
          const protocol = rng.pick(["IMAP4", "Exchange ActiveSync", "Authenticated SMTP"]);
          failure(start, victim, EXCHANGE_APP, 50126, { clientAppUsed: protocol });
          failure(start + 45_000, victim, EXCHANGE_APP, 0, { clientAppUsed: protocol });
          description = `Legacy authentication (${protocol}) success for ${victim.userPrincipalName} from ${attackerIp}`;
          break;
        }
        case "riskySignIn": {
          const torIp = ipIn(rng, ANONYMIZER_CITY);
          ips.splice(0, ips.length, torIp);
          const risk = { level: "high", state: "atRisk", eventTypes: ["anonymizedIPAddress"] };
          signIns.push(this.signIn(rng, state, { t: start, user: victim, app: OFFICE_HOME_APP, ip: torIp, city: ANONYMIZER_CITY, eventType: "interactiveUser", errorCode: 0, device: attackerDevice, risk }));
          risks.push(this.riskDetection(rng, { user: victim, t: start, detectedT: start + 60_000, type: "anonymizedIPAddress", level: "high", ip: torIp, city: ANONYMIZER_CITY, timing: "realtime" }));
          description = `High-risk sign-in of ${victim.userPrincipalName} from an anonymizer (${torIp})`;
          break;
        }
        case "newAdminRoleAssignment": {
          const admin = state.users.find((u) => u.isAdmin) ?? victim;
          attacked.splice(0, attacked.length, admin, victim);
          audits.push({ t: start, r: this.audit(rng, state, {
            t: start, activity: "Add member to role", category: "RoleManagement", service: "Core Directory", actor: admin, actorIp: attackerIp,
            targets: [
              { id: victim.id, displayName: null, type: "User", userPrincipalName: victim.userPrincipalName, groupType: null, modifiedProperties: [
                { displayName: "Role.ObjectID", oldValue: null, newValue: `"${SeededRandom.keyed(this.seed, tenantId, "role").guid()}"` },
                { displayName: "Role.DisplayName", oldValue: null, newValue: "\"Global Administrator\"" },
                { displayName: "Role.TemplateId", oldValue: null, newValue: `"${GLOBAL_ADMIN_TEMPLATE_ID}"` },
              ] },
              { id: GLOBAL_ADMIN_TEMPLATE_ID, displayName: "Global Administrator", type: "Role", userPrincipalName: null, groupType: null, modifiedProperties: [] },
            ],
          }) });
          description = `${admin.userPrincipalName} added ${victim.userPrincipalName} to Global Administrator`;
          break;
        }
        case "consentToApplication": {
          const appName = rng.pick(["Mail Backup Pro", "PDF Converter Online", "Secure Doc Viewer"]);
          audits.push({ t: start, r: this.audit(rng, state, {
            t: start, activity: "Consent to application", category: "ApplicationManagement", service: "Core Directory", actor: victim, actorIp: attackerIp,
            targets: [{ id: rng.guid(), displayName: appName, type: "ServicePrincipal", userPrincipalName: null, groupType: null, modifiedProperties: [
              { displayName: "ConsentContext.IsAdminConsent", oldValue: null, newValue: "\"False\"" },
              { displayName: "ConsentAction.Permissions", oldValue: null, newValue: "\"[] => [[Id: …, ClientId: …, Scope:  Mail.Read Mail.Send offline_access User.Read]]; \"" },
            ] }],
          }) });
          description = `${victim.userPrincipalName} consented to the application "${appName}" (Mail.Read, Mail.Send, offline_access)`;
          break;
        }
        case "servicePrincipalCredential": {
          const admin = state.users.find((u) => u.isAdmin) ?? victim;
          const sp = rng.pick(state.servicePrincipals);
          attacked.splice(0, attacked.length, admin);
          const keyId = rng.guid();
          const target = { id: sp.id, displayName: sp.name, type: "ServicePrincipal", userPrincipalName: null, groupType: null };
          audits.push({ t: start, r: this.audit(rng, state, {
            t: start, activity: "Add service principal credentials", category: "ApplicationManagement", service: "Core Directory", actor: admin, actorIp: attackerIp,
            targets: [{ ...target, modifiedProperties: [{ displayName: "KeyDescription", oldValue: "[]", newValue: `["[KeyIdentifier=${keyId},KeyType=Password,KeyUsage=Verify,DisplayName=sync]"]` }] }],
          }) });
          audits.push({ t: start + 2000, r: this.audit(rng, state, {
            t: start + 2000, activity: "Update application – Certificates and secrets management ", category: "ApplicationManagement", service: "Core Directory", actor: admin, actorIp: attackerIp,
            targets: [{ ...target, id: sp.appId, type: "Application", modifiedProperties: [{ displayName: "KeyDescription", oldValue: "[]", newValue: `["[KeyIdentifier=${keyId},KeyType=Password,KeyUsage=Verify,DisplayName=sync]"]` }] }],
          }) });
          description = `${admin.userPrincipalName} added a password credential to the service principal "${sp.name}"`;
          break;
        }
      }
      for (const s of signIns) pushTo(state.plantedSignIns, Math.floor(s.t / HOUR_MS), s);
      for (const a of audits) pushTo(state.plantedAudits, Math.floor(a.t / DAY_MS), a);
      for (const r of risks) pushTo(state.plantedRisks, Math.floor(r.t / DAY_MS), r);
      const times = [...signIns, ...audits].map((x) => x.t);
      attacks.push({
        id: `${tenantId}:${kind}`,
        tenantId,
        kind,
        description,
        users: attacked.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName })),
        ipAddresses: ips,
        start: new Date(Math.min(...times)).toISOString(),
        end: new Date(Math.max(...times)).toISOString(),
        signInIds: signIns.map((s) => s.r.id),
        auditIds: audits.map((a) => a.r.id),
        riskDetectionIds: risks.map((r) => r.r.id),
      });
    });
    return attacks;
  }

  private generateIssues(nowMs: number): ServiceHealthIssue[] {
    const rng = SeededRandom.keyed(this.seed, "issues");
    const at = (hoursAgo: number) => new Date(nowMs - hoursAgo * HOUR_MS).toISOString();
    const gapStart = nowMs - 8 * DAY_MS;
    const gapStartText = new Date(gapStart).toUTCString().replace(/:\d\d GMT$/, " UTC");
    const id = (prefix: string) => `${prefix}${String(100_000 + rng.int(900_000))}`;
    return [
      {
        // PascalCase enums, as in the documented sample (live Graph sends camelCase).
        startDateTime: at(8 * 24),
        endDateTime: at(3 * 24),
        lastModifiedDateTime: at(2 * 24),
        title: "Some security logs may be missing for Microsoft Entra ID and Microsoft Sentinel",
        id: id("MO"),
        impactDescription: "Some sign-in and audit logs for Microsoft Entra ID, and logs ingested into Microsoft Sentinel, may not have been recorded.",
        classification: "Incident",
        origin: "Microsoft",
        status: "ServiceRestored",
        service: "Microsoft Entra",
        feature: "Sign-in logs",
        featureGroup: "Reporting",
        isResolved: true,
        details: [{ name: "NotifyInApp", value: "True" }],
        posts: [
          {
            createdDateTime: at(6 * 24),
            postType: "Regular",
            description: { contentType: "Html", content: `Title: Some security logs may be missing\n\nUser Impact: Starting around ${gapStartText}, a bug in an internal monitoring agent caused some security logs to not be uploaded.` },
          },
          {
            createdDateTime: at(2 * 24),
            postType: "Regular",
            description: { contentType: "Html", content: `Final status: We deployed a fix; logs after ${new Date(nowMs - 3 * DAY_MS).toISOString()} are complete. Data from the impact window cannot be recovered.` },
          },
        ],
      },
      {
        startDateTime: at(6 * 24),
        endDateTime: at(5 * 24),
        lastModifiedDateTime: at(5 * 24),
        title: "Users may have experienced delays receiving email",
        id: id("EX"),
        impactDescription: "Users may have experienced delays receiving email from external senders.",
        classification: "advisory",
        origin: "microsoft",
        status: "serviceRestored",
        service: "Exchange Online",
        feature: "E-Mail and calendar access",
        featureGroup: "E-Mail timely delivery",
        isResolved: true,
        details: [],
        posts: [{ createdDateTime: at(6 * 24), postType: "regular", description: { contentType: "Html", content: "Title: Email delays\n\nUser Impact: Users may see delays." } }],
      },
      {
        startDateTime: at(10),
        endDateTime: null,
        lastModifiedDateTime: at(1),
        title: "Users may be unable to join Teams meetings",
        id: id("TM"),
        impactDescription: "Users may be unable to join meetings from the desktop client.",
        classification: "incident",
        origin: "microsoft",
        status: "serviceDegradation",
        service: "Microsoft Teams",
        feature: "Teams Components",
        featureGroup: "Meetings",
        isResolved: false,
        details: [],
        posts: [{ createdDateTime: at(9), postType: "regular", description: { contentType: "Html", content: "Title: Teams meetings\n\nUser Impact: Users may be unable to join meetings." } }],
      },
    ];
  }
}

/** A stable digest of the dataset's identity (tenants, users, planted record ids) for determinism checks. */
export function datasetFingerprint(dataset: GraphDataset): string {
  const parts: string[] = [];
  for (const tenant of dataset.tenants) {
    parts.push(tenant.id, ...dataset.users(tenant.id).map((u) => u.id));
  }
  for (const attack of dataset.groundTruth) parts.push(...attack.signInIds, ...attack.auditIds, ...attack.riskDetectionIds);
  return hashKey(...parts).toString(16);
}
