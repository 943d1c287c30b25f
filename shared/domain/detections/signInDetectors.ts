import { z } from "zod";
import { contentHash } from "../contentHash.js";
import { MAX_SAMPLE_IDS, type Detection, type Severity, type Subject } from "../finding.js";
import {
  AggregationBook,
  BookSnapshotSchema,
  CursorSnapshotSchema,
  StreamCursor,
  configDigestInput,
  listOf,
  utcRange,
  type Aggregation,
} from "./aggregation.js";
import { haversineKm } from "./geoDistance.js";
import { cidrContains, networkOf, parseCidr, parseIp, type Cidr } from "./ipAddress.js";
import type { SignInRecord } from "./signInRecord.js";
import type { DetectionThresholds } from "./thresholds.js";

/**
 * The sign-in rules, run over one tenant's sign-ins as a stream: ascending (t, id), one record at a time, with state
 * bounded by users, source IPs and open detections — never by the number of records.
 *
 * | rule | subject | fires when | severity |
 * |---|---|---|---|
 * | password-spray | IP | ≥ `sprayMinDistinctUsers` distinct users fail a password (`sprayErrorCodes`) from the IP within `sprayWindowMinutes`; later failures from the IP join the detection | medium; high once one of the sprayed users signs in successfully from the IP |
 * | brute-force-success | user | a success from an IP after ≥ `bruteForceMinFailures` failed passwords of that user from that IP within `bruteForceWindowMinutes` | high (the password was guessed) |
 * | mfa-fatigue | user | an interactive success from an IP after ≥ `mfaFatigueMinFailures` failed MFA prompts (`mfaFailureErrorCodes`) of that user from that IP within `mfaFatigueWindowMinutes` | high (the user gave in) |
 * | impossible-travel | user | two successive successful sign-ins with coordinates ≥ `travelMinDistanceKm` apart, faster than `travelMaxSpeedKmh` | medium |
 * | new-country | user | a success from a country the user has not used, after ≥ `minHistorySignIns` earlier successes | low (a trip is the usual reason) |
 * | legacy-auth-success | user | a success with a `clientAppUsed` in `legacyClientApps` | medium (no MFA on those protocols) |
 * | risky-signin | user | a sign-in with `riskLevelDuringSignIn` in `riskySignInLevels` or `riskState` in `riskySignInStates` | high when one succeeded at level high or state confirmedCompromised; medium when one succeeded; low when all were blocked |
 * | anonymizer-ip | user | a success whose risk event types include one of `anonymizerRiskEventTypes`, or from `anonymizerIpPrefixes` | medium |
 * | privileged-new-ip | user | a success of a privileged user from a network (`privilegedIpv4PrefixBits` / `privilegedIpv6PrefixBits`) or country not seen for them, after ≥ `minHistorySignIns` successes | medium; high when the country is new too |
 *
 * Service-principal and managed-identity sign-ins (no user) are counted and ordered but match no rule.
 */

const MINUTE_MS = 60_000;
/** Stale windows and failure streaks are swept this often (stream time): a sweep changes memory, never output. */
const SWEEP_INTERVAL_MS = 10 * MINUTE_MS;
/** Failures kept per IP in the spray window; a flood beyond it still counts its distinct users among the last ones. */
const SPRAY_WINDOW_CAP = 1000;
/** Error codes named per detection. */
const MAX_CODES = 10;
/** Spellings (client apps, risk levels, …) whose membership is cached; these fields take a few dozen values. */
const LOWER_CACHE_CAP = 4096;

/** A run of failures of one kind for one user from one IP, without a gap longer than the rule's window. */
interface Streak {
  /** Times of the last N failures (N = the rule's threshold), oldest first. */
  times: number[];
  firstT: number;
  lastT: number;
  count: number;
  /** The first MAX_SAMPLE_IDS failure ids. */
  ids: string[];
  codes: number[];
}

interface IpTrackers {
  bf: Streak | null;
  mfa: Streak | null;
}

/**
 * What the rules remember of one user. One flat object (the last location inline, the most recent country and
 * network mirrored) because it is read for every sign-in: fewer objects to reach, fewer cache misses.
 */
class UserState {
  /** Successful sign-ins so far (baseline and window). */
  successes = 0;
  /** Countries of successful sign-ins, least recently seen first (at most maxKnownPerUser); `recentCountry` is the last. */
  countries: string[] = [];
  recentCountry: string | null = null;
  /** Networks of successful sign-ins, for privileged users only; `recentNetwork` is the last. */
  networks: string[] | null = null;
  recentNetwork: string | null = null;
  /** The last successful sign-in with coordinates (`lastT` NaN when none yet). */
  lastT = Number.NaN;
  lastId = "";
  lastLat = 0;
  lastLon = 0;
  lastCity: string | null = null;
  lastCountry: string | null = null;
  lastIp = "";
  trackers: Map<string, IpTrackers> | null = null;
  /** The network of the last address looked up (a cache, not state: recomputed after a restore). */
  networkIp: string | null = null;
  network = "";

  constructor(
    public upn: string | null,
    /** In the privileged set (decided once per user, from the ids the detectors were built with). */
    readonly privileged: boolean,
  ) {}
}

interface SprayEntry {
  t: number;
  user: string;
  id: string;
}

interface SprayWindow {
  entries: SprayEntry[];
  users: Map<string, number>;
}

const StreakSchema = z.strictObject({
  times: z.array(z.number()),
  firstT: z.number(),
  lastT: z.number(),
  count: z.number().int().min(1),
  ids: z.array(z.string()),
  codes: z.array(z.number()),
});

const UserSnapshotSchema = z.strictObject({
  id: z.string().min(1),
  upn: z.string().nullable(),
  successes: z.number().int().min(0),
  countries: z.array(z.string()),
  networks: z.array(z.string()).nullable(),
  last: z
    .strictObject({
      t: z.number(),
      id: z.string(),
      lat: z.number(),
      lon: z.number(),
      city: z.string().nullable(),
      country: z.string().nullable(),
      ip: z.string(),
    })
    .nullable(),
  trackers: z.array(z.strictObject({ ip: z.string(), bf: StreakSchema.nullable(), mfa: StreakSchema.nullable() })),
});

const SignInSnapshotSchema = z.strictObject({
  kind: z.literal("signin-detectors"),
  version: z.literal(1),
  /** Digest of the thresholds and privileged users the state was built under. */
  config: z.string(),
  observed: z.number().int().min(0),
  learned: z.number().int().min(0),
  cursor: CursorSnapshotSchema,
  finished: z.boolean(),
  users: z.array(UserSnapshotSchema),
  spray: z.array(z.strictObject({ ip: z.string(), entries: z.array(z.tuple([z.number(), z.string(), z.string()])).min(1) })),
  book: BookSnapshotSchema,
});
type SignInSnapshot = z.infer<typeof SignInSnapshotSchema>;

function lowerSet(values: readonly string[]): Set<string> {
  return new Set(values.map((v) => v.toLowerCase()));
}

/**
 * Case-insensitive membership for the few dozen values a sign-in field takes ("Browser", "IMAP4", "medium", …):
 * the answer per exact spelling is cached, so the common case is one map lookup and no lower-casing.
 */
class CaseInsensitiveSet {
  private readonly members: ReadonlySet<string>;
  private readonly answers = new Map<string, boolean>();

  constructor(values: readonly string[]) {
    this.members = lowerSet(values);
  }

  get size(): number {
    return this.members.size;
  }

  has(value: string): boolean {
    let answer = this.answers.get(value);
    if (answer === undefined) {
      answer = this.members.has(value.toLowerCase());
      if (this.answers.size < LOWER_CACHE_CAP) this.answers.set(value, answer);
    }
    return answer;
  }
}

function userSubject(id: string, upn: string | null): Subject {
  return upn ? { kind: "user", id, name: upn } : { kind: "user", id };
}

function place(city: string | null, country: string | null): string {
  return city && country ? `${city} (${country})` : (country ?? city ?? "an unknown place");
}

function times(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Moves `value` to the end (most recently seen), adding it and forgetting the oldest beyond `max`. */
function remember(list: string[], value: string, index: number, max: number): void {
  if (index >= 0) {
    if (index === list.length - 1) return;
    list.splice(index, 1);
  }
  list.push(value);
  if (list.length > max) list.shift();
}

/** Forgets the oldest failure of a spray window (a function, not a closure made per failure). */
function dropOldest(window: SprayWindow): void {
  const old = window.entries.shift();
  if (!old) return;
  const n = (window.users.get(old.user) ?? 1) - 1;
  if (n <= 0) window.users.delete(old.user);
  else window.users.set(old.user, n);
}

function qualifies(streak: Streak, t: number, min: number, windowMs: number): boolean {
  const from = streak.times.length - min;
  return from >= 0 && (streak.times[from] ?? Number.NEGATIVE_INFINITY) >= t - windowMs;
}

export class SignInDetectors {
  private readonly thresholds: DetectionThresholds;
  private readonly config: string;
  private readonly gapMs: number;
  private readonly sprayMs: number;
  private readonly bruteForceMs: number;
  private readonly mfaMs: number;
  private readonly sprayCodes: ReadonlySet<number>;
  private readonly bruteForceCodes: ReadonlySet<number>;
  private readonly mfaCodes: ReadonlySet<number>;
  private readonly legacyApps: CaseInsensitiveSet;
  private readonly riskyLevels: CaseInsensitiveSet;
  private readonly riskyStates: CaseInsensitiveSet;
  /** Whether an operator listed "none" as risky (then the common "none"/"none" sign-in cannot be skipped early). */
  private readonly noneIsRisky: boolean;
  private readonly anonymizerTypes: CaseInsensitiveSet;
  private readonly anonymizerPrefixes: readonly Cidr[];
  private readonly privileged: ReadonlySet<string>;

  private readonly cursor = new StreamCursor();
  private readonly book: AggregationBook;
  private readonly users = new Map<string, UserState>();
  private readonly usersWithTrackers = new Set<string>();
  private readonly spray = new Map<string, SprayWindow>();
  private nextSweepT = Number.NEGATIVE_INFINITY;
  private observedCount = 0;
  private learnedCount = 0;
  private finished = false;

  constructor(thresholds: DetectionThresholds, privilegedUserIds: readonly string[]) {
    this.thresholds = thresholds;
    this.config = contentHash(configDigestInput("signin", thresholds, privilegedUserIds), 16);
    this.gapMs = thresholds.mergeGapMinutes * MINUTE_MS;
    this.sprayMs = thresholds.sprayWindowMinutes * MINUTE_MS;
    this.bruteForceMs = thresholds.bruteForceWindowMinutes * MINUTE_MS;
    this.mfaMs = thresholds.mfaFatigueWindowMinutes * MINUTE_MS;
    this.sprayCodes = new Set(thresholds.sprayErrorCodes);
    this.bruteForceCodes = new Set(thresholds.bruteForceErrorCodes);
    this.mfaCodes = new Set(thresholds.mfaFailureErrorCodes);
    this.legacyApps = new CaseInsensitiveSet(thresholds.legacyClientApps);
    this.riskyLevels = new CaseInsensitiveSet(thresholds.riskySignInLevels);
    this.riskyStates = new CaseInsensitiveSet(thresholds.riskySignInStates);
    this.noneIsRisky = this.riskyLevels.has("none") || this.riskyStates.has("none");
    this.anonymizerTypes = new CaseInsensitiveSet(thresholds.anonymizerRiskEventTypes);
    this.anonymizerPrefixes = thresholds.anonymizerIpPrefixes.map((text) => {
      const cidr = parseCidr(text);
      if (!cidr) throw new RangeError(`anonymizerIpPrefixes: ${text} is not a CIDR prefix`);
      return cidr;
    });
    this.privileged = lowerSet(privilegedUserIds);
    this.book = new AggregationBook(this.gapMs, (a) => this.render(a));
  }

  /** Records observed so far (for progress and benchmarks). */
  get observed(): number {
    return this.observedCount;
  }

  /**
   * Baseline only (records from before the window, where retention allows): learns countries, networks, the last
   * location and how many successful sign-ins each user has, and never reports. Ascending (t, id) order, before the
   * window's records.
   */
  learn(record: SignInRecord): void {
    this.assertOpen();
    if (!this.cursor.accept(record.t, record.id)) return;
    this.learnedCount++;
    if (record.userId === "" || record.errorCode !== 0) return;
    const user = this.userOf(record);
    this.place(record, user, false);
  }

  /**
   * Records of the window in ascending (t, id) order (the runner sorts each time slice). Out-of-order input throws a
   * RangeError; an immediate repeat of the previous record is skipped.
   */
  observe(record: SignInRecord): void {
    this.assertOpen();
    if (!this.cursor.accept(record.t, record.id)) return;
    this.observedCount++;
    this.book.advance(record.t);
    if (record.t >= this.nextSweepT) this.sweep(record.t);
    if (record.userId === "") return;
    const user = this.userOf(record);
    if (record.errorCode === 0) this.success(record, user);
    else this.failure(record, user);
    this.risky(record, user);
  }

  /** Detections that can no longer change, completed since the last drain. */
  drain(): Detection[] {
    if (Number.isFinite(this.cursor.t)) this.book.advance(this.cursor.t);
    return this.book.take();
  }

  /** Ends the stream: closes every open aggregation and returns the remaining detections. */
  finish(): Detection[] {
    this.finished = true;
    this.book.closeAll();
    return this.book.take();
  }

  private assertOpen(): void {
    if (this.finished) throw new Error("the sign-in detectors are finished: restore a snapshot taken before finish() to go on");
  }

  private isPrivileged(userId: string): boolean {
    return this.privileged.size > 0 && this.privileged.has(userId.toLowerCase());
  }

  private userOf(record: SignInRecord): UserState {
    let user = this.users.get(record.userId);
    if (!user) {
      user = new UserState(record.userPrincipalName, this.isPrivileged(record.userId));
      this.users.set(record.userId, user);
    } else if (user.upn === null && record.userPrincipalName !== null) {
      user.upn = record.userPrincipalName;
    }
    return user;
  }

  private userHit(rule: Parameters<AggregationBook["hit"]>[0], record: SignInRecord, user: UserState, firstT = record.t): Aggregation {
    const aggregation = this.book.hit(rule, userSubject(record.userId, user.upn), record.t, firstT, record.t);
    aggregation.addIp(record.ipAddress);
    return aggregation;
  }

  private failure(record: SignInRecord, user: UserState): void {
    const code = record.errorCode;
    if (this.sprayCodes.has(code)) this.sprayFailure(record);
    if (this.bruteForceCodes.has(code)) this.streakFailure(record, user, "bf", this.thresholds.bruteForceMinFailures, this.bruteForceMs);
    if (this.mfaCodes.has(code)) this.streakFailure(record, user, "mfa", this.thresholds.mfaFatigueMinFailures, this.mfaMs);
  }

  private sprayFailure(record: SignInRecord): void {
    const ip = record.ipAddress;
    const open = this.book.find("password-spray", "ip", ip);
    if (open) {
      this.book.hit("password-spray", open.subject, record.t, record.t, record.t);
      open.addRecord(record.id);
      open.tag("users", record.userId, Number.MAX_SAFE_INTEGER);
      open.tag("codes", String(record.errorCode), MAX_CODES);
      open.tag("countries", record.countryOrRegion);
      return;
    }
    let window = this.spray.get(ip);
    if (!window) {
      window = { entries: [], users: new Map() };
      this.spray.set(ip, window);
    }
    const from = record.t - this.sprayMs;
    while ((window.entries[0]?.t ?? Number.POSITIVE_INFINITY) < from) dropOldest(window);
    window.entries.push({ t: record.t, user: record.userId, id: record.id });
    window.users.set(record.userId, (window.users.get(record.userId) ?? 0) + 1);
    if (window.entries.length > SPRAY_WINDOW_CAP) dropOldest(window);
    if (window.users.size < this.thresholds.sprayMinDistinctUsers) return;
    const first = window.entries[0]?.t ?? record.t;
    const aggregation = this.book.hit("password-spray", { kind: "ip", id: ip }, record.t, first, record.t);
    aggregation.addIp(ip);
    for (const entry of window.entries) {
      aggregation.addRecord(entry.id);
      aggregation.tag("users", entry.user, Number.MAX_SAFE_INTEGER);
    }
    aggregation.tag("codes", String(record.errorCode), MAX_CODES);
    aggregation.tag("countries", record.countryOrRegion);
    this.spray.delete(ip);
  }

  private streakFailure(record: SignInRecord, user: UserState, kind: "bf" | "mfa", min: number, windowMs: number): void {
    if (!user.trackers) {
      user.trackers = new Map();
      this.usersWithTrackers.add(record.userId);
    }
    let trackers = user.trackers.get(record.ipAddress);
    if (!trackers) {
      trackers = { bf: null, mfa: null };
      user.trackers.set(record.ipAddress, trackers);
    }
    let streak = trackers[kind];
    if (!streak || record.t - streak.lastT > windowMs) {
      streak = { times: [], firstT: record.t, lastT: record.t, count: 0, ids: [], codes: [] };
      trackers[kind] = streak;
    }
    streak.times.push(record.t);
    if (streak.times.length > min) streak.times.shift();
    streak.lastT = record.t;
    streak.count++;
    if (streak.ids.length < MAX_SAMPLE_IDS) streak.ids.push(record.id);
    if (streak.codes.length < MAX_CODES && !streak.codes.includes(record.errorCode)) streak.codes.push(record.errorCode);
  }

  private streakHit(rule: "brute-force-success" | "mfa-fatigue", record: SignInRecord, user: UserState, streak: Streak): void {
    const aggregation = this.userHit(rule, record, user, streak.firstT);
    aggregation.addRecords(streak.ids, streak.count);
    aggregation.addRecord(record.id);
    aggregation.add("failures", streak.count);
    aggregation.add("hits", 1);
    for (const code of streak.codes) aggregation.tag("codes", String(code), MAX_CODES);
    aggregation.tag("countries", record.countryOrRegion);
    aggregation.tag("apps", record.appDisplayName);
  }

  private success(record: SignInRecord, user: UserState): void {
    const trackers = user.trackers?.get(record.ipAddress);
    if (trackers && user.trackers) {
      if (trackers.bf) {
        if (qualifies(trackers.bf, record.t, this.thresholds.bruteForceMinFailures, this.bruteForceMs)) this.streakHit("brute-force-success", record, user, trackers.bf);
        trackers.bf = null;
      }
      if (trackers.mfa && record.eventType === "interactiveUser") {
        if (qualifies(trackers.mfa, record.t, this.thresholds.mfaFatigueMinFailures, this.mfaMs)) this.streakHit("mfa-fatigue", record, user, trackers.mfa);
        trackers.mfa = null;
      }
      // bf is null here whatever it was; the IP's trackers go once no MFA streak is left either.
      if (trackers.mfa === null) {
        user.trackers.delete(record.ipAddress);
        if (user.trackers.size === 0) {
          user.trackers = null;
          this.usersWithTrackers.delete(record.userId);
        }
      }
    }
    const spray = this.book.find("password-spray", "ip", record.ipAddress);
    if (spray?.has("users", record.userId) === true) {
      this.book.hit("password-spray", spray.subject, record.t, record.t, record.t);
      spray.addRecord(record.id);
      spray.tag("compromised", record.userId, Number.MAX_SAFE_INTEGER);
    }
    this.place(record, user, true);
    if (record.clientAppUsed !== "" && this.legacyApps.has(record.clientAppUsed)) {
      const aggregation = this.userHit("legacy-auth-success", record, user);
      aggregation.addRecord(record.id);
      aggregation.tag("protocols", record.clientAppUsed);
      aggregation.tag("apps", record.appDisplayName);
      aggregation.tag("countries", record.countryOrRegion);
    }
    this.anonymizer(record, user);
  }

  /** Travel, countries and networks: learned from every successful sign-in, reported only when observing. */
  private place(record: SignInRecord, user: UserState, report: boolean): void {
    const { latitude, longitude } = record;
    if (latitude !== null && longitude !== null) {
      // Most sign-ins come from where the previous one did: no distance to compute, no place to rewrite.
      if (Number.isNaN(user.lastT) || user.lastLat !== latitude || user.lastLon !== longitude) {
        if (report && !Number.isNaN(user.lastT)) this.travel(record, user, latitude, longitude);
        user.lastLat = latitude;
        user.lastLon = longitude;
        user.lastCity = record.city;
        user.lastCountry = record.countryOrRegion;
      }
      user.lastT = record.t;
      user.lastId = record.id;
      // Usually the same address: keep the string already held (less for the collector to move).
      if (user.lastIp !== record.ipAddress) user.lastIp = record.ipAddress;
    }
    const history = user.successes;
    user.successes = history + 1;
    const country = record.countryOrRegion;
    const known = country === null || country === user.recentCountry;
    if (known && !user.privileged) return;
    const enough = history >= this.thresholds.minHistorySignIns;
    const max = this.thresholds.maxKnownPerUser;
    let newCountry = false;
    if (!known) {
      const index = user.countries.indexOf(country);
      if (index < 0 && enough && report) {
        newCountry = true;
        const aggregation = this.userHit("new-country", record, user);
        aggregation.addRecord(record.id);
        aggregation.tag("countries", country);
        aggregation.tag("places", place(record.city, country));
        for (const seen of user.countries.slice(-5)) aggregation.tag("known", seen, 5);
        aggregation.max("history", history);
      }
      remember(user.countries, country, index, max);
      user.recentCountry = country;
    }
    if (user.privileged) {
      const network = this.networkOf(user, record.ipAddress);
      if (network === user.recentNetwork && !newCountry) return;
      const networks = (user.networks ??= []);
      const index = networks.indexOf(network);
      if (report && (newCountry || (index < 0 && enough))) {
        const aggregation = this.userHit("privileged-new-ip", record, user);
        aggregation.addRecord(record.id);
        if (index < 0) aggregation.tag("networks", network);
        if (newCountry) aggregation.tag("newCountries", country);
        aggregation.tag("countries", country);
        aggregation.max("history", history);
      }
      remember(networks, network, index, max);
      user.recentNetwork = network;
    }
  }

  private networkOf(user: UserState, ip: string): string {
    if (user.networkIp === ip) return user.network;
    const network = networkOf(ip, this.thresholds.privilegedIpv4PrefixBits, this.thresholds.privilegedIpv6PrefixBits) ?? ip;
    user.networkIp = ip;
    user.network = network;
    return network;
  }

  private travel(record: SignInRecord, user: UserState, latitude: number, longitude: number): void {
    const km = haversineKm(user.lastLat, user.lastLon, latitude, longitude);
    if (km < this.thresholds.travelMinDistanceKm) return;
    const minutes = (record.t - user.lastT) / MINUTE_MS;
    if (minutes > 0 && (km / minutes) * 60 <= this.thresholds.travelMaxSpeedKmh) return;
    const aggregation = this.book.hit("impossible-travel", userSubject(record.userId, user.upn), record.t, user.lastT, record.t);
    aggregation.addIp(user.lastIp);
    aggregation.addRecord(user.lastId);
    aggregation.addIp(record.ipAddress);
    aggregation.addRecord(record.id);
    aggregation.add("hops", 1);
    aggregation.tag(
      "hop",
      `from ${place(user.lastCity, user.lastCountry)} at ${new Date(user.lastT).toISOString().slice(11, 16)} to ${place(record.city, record.countryOrRegion)} at ${new Date(record.t).toISOString().slice(11, 16)} UTC: ${Math.round(km)} km in ${Math.round(minutes)} min`,
      1,
    );
    aggregation.tag("countries", user.lastCountry);
    aggregation.tag("countries", record.countryOrRegion);
  }

  private anonymizer(record: SignInRecord, user: UserState): void {
    let types: string[] | undefined;
    for (const type of record.riskEventTypes) {
      if (this.anonymizerTypes.has(type)) (types ??= []).push(type);
    }
    let prefix: string | undefined;
    if (this.anonymizerPrefixes.length > 0) {
      const bytes = parseIp(record.ipAddress);
      if (bytes) prefix = this.anonymizerPrefixes.find((cidr) => cidrContains(cidr, bytes))?.text;
    }
    if (!types && prefix === undefined) return;
    const aggregation = this.userHit("anonymizer-ip", record, user);
    aggregation.addRecord(record.id);
    for (const type of types ?? []) aggregation.tag("types", type);
    aggregation.tag("prefixes", prefix);
    aggregation.tag("countries", record.countryOrRegion);
  }

  private risky(record: SignInRecord, user: UserState): void {
    const level = record.riskLevelDuringSignIn;
    const state = record.riskState;
    if (level === "none" && state === "none" && !this.noneIsRisky) return;
    const byLevel = level !== "" && this.riskyLevels.has(level);
    const byState = state !== "" && this.riskyStates.has(state);
    if (!byLevel && !byState) return;
    const aggregation = this.userHit("risky-signin", record, user);
    aggregation.addRecord(record.id);
    if (byLevel) aggregation.tag("levels", level);
    if (byState) aggregation.tag("states", state);
    for (const type of record.riskEventTypes) aggregation.tag("types", type);
    if (record.errorCode === 0) {
      aggregation.add("successes", 1);
      const severe = level.toLowerCase() === "high" || state.toLowerCase() === "confirmedcompromised";
      if (severe) aggregation.add("severeSuccesses", 1);
    }
  }

  private sweep(t: number): void {
    this.nextSweepT = t + SWEEP_INTERVAL_MS;
    for (const userId of this.usersWithTrackers) {
      const user = this.users.get(userId);
      const trackers = user?.trackers;
      if (!user || !trackers) {
        this.usersWithTrackers.delete(userId);
        continue;
      }
      for (const [ip, tr] of trackers) {
        if (tr.bf && t - tr.bf.lastT > this.bruteForceMs) tr.bf = null;
        if (tr.mfa && t - tr.mfa.lastT > this.mfaMs) tr.mfa = null;
        if (!tr.bf && !tr.mfa) trackers.delete(ip);
      }
      if (trackers.size === 0) {
        user.trackers = null;
        this.usersWithTrackers.delete(userId);
      }
    }
    for (const [ip, window] of this.spray) {
      const newest = window.entries[window.entries.length - 1];
      if (!newest || newest.t < t - this.sprayMs) this.spray.delete(ip);
    }
  }

  private render(a: Aggregation): { severity: Severity; explanation: string } {
    const who = a.subject.name ?? a.subject.id;
    const when = utcRange(a.firstT, a.lastT);
    const ips = listOf(a.ips, 3);
    const countries = listOf(a.values("countries"));
    const from = countries ? `${ips} (${countries})` : ips;
    switch (a.rule) {
      case "password-spray": {
        const users = a.size("users");
        const compromised = a.size("compromised");
        const codes = a.values("codes").join(", ");
        const then = compromised > 0 ? `, then signed in successfully as ${times(compromised, "of them", "of them")}` : "";
        return {
          severity: compromised > 0 ? "high" : "medium",
          explanation: `IP ${from} failed password sign-ins (${codes}) for ${times(users, "distinct user")} ${when}${then}.`,
        };
      }
      case "brute-force-success":
        return {
          severity: "high",
          explanation: `${who} signed in successfully from ${from} after ${times(a.num("failures"), "failed password")} (${a.values("codes").join(", ")}) from that address ${when}${a.num("hits") > 1 ? ` (${a.num("hits")} times)` : ""}.`,
        };
      case "mfa-fatigue":
        return {
          severity: "high",
          explanation: `${who} completed an interactive sign-in from ${from} after ${times(a.num("failures"), "denied or unanswered MFA prompt")} (${a.values("codes").join(", ")}) from that address ${when}${a.num("hits") > 1 ? ` (${a.num("hits")} times)` : ""}.`,
        };
      case "impossible-travel": {
        const hops = a.num("hops");
        return {
          severity: "medium",
          explanation: `${who} signed in successfully ${a.values("hop")[0] ?? ""}, faster than ${this.thresholds.travelMaxSpeedKmh} km/h${hops > 1 ? ` (${hops} impossible hops in all)` : ""}, ${when}.`,
        };
      }
      case "new-country": {
        const known = a.values("known");
        return {
          severity: "low",
          explanation: `${who} signed in successfully from ${listOf(a.values("places"))}, a country new for them after ${times(a.num("history"), "earlier sign-in")}${known.length > 0 ? ` from ${listOf(known)}` : ""}, from ${ips} ${when}.`,
        };
      }
      case "legacy-auth-success":
        return {
          severity: "medium",
          explanation: `${who} signed in successfully with legacy authentication (${listOf(a.values("protocols"))}, which cannot do MFA) to ${listOf(a.values("apps"))} from ${from}, ${times(a.count, "time")} ${when}.`,
        };
      case "risky-signin": {
        const successes = a.num("successes");
        const facts = [
          a.size("levels") > 0 ? `risk level ${listOf(a.values("levels"))}` : "",
          a.size("states") > 0 ? `risk state ${listOf(a.values("states"))}` : "",
          a.size("types") > 0 ? listOf(a.values("types")) : "",
        ].filter((f) => f !== "");
        return {
          severity: a.num("severeSuccesses") > 0 ? "high" : successes > 0 ? "medium" : "low",
          explanation: `${who} had ${times(a.count, "risky sign-in")} (${facts.join("; ")}) from ${from}, ${successes} of them successful, ${when}.`,
        };
      }
      case "anonymizer-ip": {
        const how = [...a.values("types"), ...a.values("prefixes").map((p) => `in ${p}`)];
        return {
          severity: "medium",
          explanation: `${who} signed in successfully through an anonymizer (${listOf(how)}) from ${from}, ${times(a.count, "time")} ${when}.`,
        };
      }
      case "privileged-new-ip": {
        const newCountries = a.values("newCountries");
        const networks = a.values("networks");
        const what = [networks.length > 0 ? `network ${listOf(networks)}` : "", newCountries.length > 0 ? `country ${listOf(newCountries)}` : ""].filter((f) => f !== "");
        return {
          severity: newCountries.length > 0 ? "high" : "medium",
          explanation: `Privileged user ${who} signed in successfully from ${from}: ${what.join(" and ")} new for them after ${times(a.num("history"), "earlier sign-in")}, ${times(a.count, "sign-in")} ${when}.`,
        };
      }
      default:
        return { severity: "medium", explanation: `${a.rule} for ${who} ${when}.` };
    }
  }

  /** JSON-safe state (plain data) to persist in a checkpoint. */
  snapshot(): unknown {
    const snapshot: SignInSnapshot = {
      kind: "signin-detectors",
      version: 1,
      config: this.config,
      observed: this.observedCount,
      learned: this.learnedCount,
      cursor: this.cursor.snapshot(),
      finished: this.finished,
      users: [...this.users].map(([id, u]) => ({
        id,
        upn: u.upn,
        successes: u.successes,
        countries: [...u.countries],
        networks: u.networks ? [...u.networks] : null,
        last: Number.isNaN(u.lastT) ? null : { t: u.lastT, id: u.lastId, lat: u.lastLat, lon: u.lastLon, city: u.lastCity, country: u.lastCountry, ip: u.lastIp },
        trackers: u.trackers
          ? [...u.trackers].map(([ip, tr]) => ({ ip, bf: tr.bf ? structuredClone(tr.bf) : null, mfa: tr.mfa ? structuredClone(tr.mfa) : null }))
          : [],
      })),
      spray: [...this.spray].map(([ip, w]) => ({ ip, entries: w.entries.map((e): [number, string, string] => [e.t, e.user, e.id]) })).filter((s) => s.entries.length > 0),
      book: this.book.snapshot(),
    };
    return snapshot;
  }

  /**
   * Detectors that carry on from `snapshot` (zod-validated; throws on a bad snapshot, or one taken under other
   * thresholds or privileged users).
   */
  static restore(snapshot: unknown, thresholds: DetectionThresholds, privilegedUserIds: readonly string[]): SignInDetectors {
    const s = SignInSnapshotSchema.parse(snapshot);
    const detectors = new SignInDetectors(thresholds, privilegedUserIds);
    if (s.config !== detectors.config) throw new Error("the snapshot was taken under other thresholds or privileged users");
    detectors.observedCount = s.observed;
    detectors.learnedCount = s.learned;
    detectors.cursor.restore(s.cursor);
    detectors.finished = s.finished;
    for (const u of s.users) {
      if (detectors.users.has(u.id)) throw new Error(`the snapshot holds user ${u.id} twice`);
      const trackers = new Map<string, IpTrackers>();
      for (const tr of u.trackers) trackers.set(tr.ip, { bf: tr.bf, mfa: tr.mfa });
      const user = new UserState(u.upn, detectors.isPrivileged(u.id));
      user.successes = u.successes;
      user.countries = u.countries;
      user.recentCountry = u.countries[u.countries.length - 1] ?? null;
      user.networks = u.networks;
      user.recentNetwork = u.networks?.[u.networks.length - 1] ?? null;
      if (u.last) {
        user.lastT = u.last.t;
        user.lastId = u.last.id;
        user.lastLat = u.last.lat;
        user.lastLon = u.last.lon;
        user.lastCity = u.last.city;
        user.lastCountry = u.last.country;
        user.lastIp = u.last.ip;
      }
      user.trackers = trackers.size > 0 ? trackers : null;
      detectors.users.set(u.id, user);
      if (trackers.size > 0) detectors.usersWithTrackers.add(u.id);
    }
    for (const w of s.spray) {
      const users = new Map<string, number>();
      for (const [, user] of w.entries) users.set(user, (users.get(user) ?? 0) + 1);
      detectors.spray.set(w.ip, { entries: w.entries.map(([t, user, id]) => ({ t, user, id })), users });
    }
    detectors.book.restore(s.book);
    return detectors;
  }
}
