import { z } from "zod";
import { SEVERITIES, type Severity } from "../finding.js";
import { parseCidr } from "./ipAddress.js";

/**
 * What the detectors consider an attack. Every field has a default; an operator passes a JSON object overriding some
 * (`DetectionThresholdsSchema.parse({ sprayMinDistinctUsers: 10 })`), unknown keys are refused so a typo fails
 * loudly instead of silently keeping the default.
 *
 * The defaults were set on the Graph simulator's background traffic (random wrong passwords, MFA interrupts, low
 * "unfamiliarFeatures" risk detections, self-service password resets: none of them may fire) and on the published
 * guidance for each attack (Microsoft incident response playbooks for password spray, MFA fatigue and app consent,
 * https://learn.microsoft.com/security/operations/incident-response-playbooks).
 */

/** One directory-audit activity a rule matches, and the severity a match carries. */
export const AuditActivitySchema = z.strictObject({
  /** `activityDisplayName`, compared case-insensitively, with runs of whitespace collapsed and dashes unified. */
  activity: z.string().min(1),
  /** `category` ("RoleManagement", "ApplicationManagement", …), compared case-insensitively; absent matches any. */
  category: z.string().min(1).optional(),
  severity: z.enum(SEVERITIES),
});
export type AuditActivity = z.infer<typeof AuditActivitySchema>;

function act(activity: string, category: string, severity: Severity): AuditActivity {
  return { activity, category, severity };
}

const minutes = (max: number) => z.number().int().min(1).max(max);
const codes = z.array(z.number().int()).min(1);
const names = z.array(z.string().min(1));
const activities = z.array(AuditActivitySchema);

const cidrList = z.array(z.string().refine((text) => parseCidr(text) !== undefined, { error: "must be an IPv4 or IPv6 CIDR prefix such as 185.220.0.0/16" }));

export const DetectionThresholdsSchema = z.strictObject({
  /**
   * Default 1440 (24 h). Hits of one rule on one subject less than this apart form one detection (one finding); a
   * detection is final once the stream has moved this far past its last hit. A day keeps a campaign that pauses
   * overnight in one finding while a review over weeks still reports findings as it goes.
   */
  mergeGapMinutes: minutes(7 * 24 * 60).default(24 * 60),

  /**
   * Default 5. Distinct users with a failed password (see `sprayErrorCodes`) from one IP within `sprayWindowMinutes`
   * that make a password spray. People mistype their own password; five different accounts failing from one address
   * in an hour is someone trying one password on many accounts. Raise it for busy shared egress IPs.
   */
  sprayMinDistinctUsers: z.number().int().min(2).default(5),
  /** Default 60. Sliding window of the spray rule. */
  sprayWindowMinutes: minutes(24 * 60).default(60),
  /** Default [50126] (invalid username or password): the error a wrong password gives. */
  sprayErrorCodes: codes.default(() => [50126]),

  /**
   * Default 10. Failed passwords (see `bruteForceErrorCodes`) for one user from one IP within
   * `bruteForceWindowMinutes` before a successful sign-in of that user from that IP. Ten is Entra smart lockout's
   * default threshold (ten failures lock the account for a minute): a person mistyping rarely gets there, someone
   * guessing does, and goes on through the lockouts (50053).
   */
  bruteForceMinFailures: z.number().int().min(1).default(10),
  /** Default 60. Window of the brute-force rule, counted back from the success. */
  bruteForceWindowMinutes: minutes(24 * 60).default(60),
  /** Default [50126, 50053]: invalid password, and account locked by smart lockout (the guessing goes on). */
  bruteForceErrorCodes: codes.default(() => [50126, 50053]),

  /**
   * Default 5. Denied or unanswered MFA prompts (see `mfaFailureErrorCodes`) for one user from one IP within
   * `mfaFatigueWindowMinutes` before an interactive success of that user from that IP: the attacker has the
   * password and keeps prompting until the user approves. A legitimate MFA sign-in logs one interrupt (50074) and
   * then succeeds, which resets the count.
   */
  mfaFatigueMinFailures: z.number().int().min(1).default(5),
  /** Default 60. Window of the MFA fatigue rule, counted back from the success. */
  mfaFatigueWindowMinutes: minutes(24 * 60).default(60),
  /**
   * Default [500121, 50074, 50076, 50158, 50088]: strong authentication failed (denied, timed out), strong
   * authentication required, MFA required by policy, external security challenge not satisfied, telecom MFA call
   * limit reached (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
   */
  mfaFailureErrorCodes: codes.default(() => [500121, 50074, 50076, 50158, 50088]),

  /**
   * Default 900 km/h (a jet airliner's cruising speed). Two successive successful sign-ins of one user whose
   * great-circle distance over elapsed time is faster than this are impossible travel.
   */
  travelMaxSpeedKmh: z.number().positive().default(900),
  /**
   * Default 100 km. Pairs closer than this are ignored: IP geolocation of mobile and ISP addresses is often off by
   * tens of kilometres, and a neighbouring city is not travel.
   */
  travelMinDistanceKm: z.number().min(0).default(100),

  /**
   * Default 5. Successful sign-ins a user must already have (baseline and window so far) before a new country or
   * (privileged users) a new network is news. Below it everything is new, and reporting it would be noise.
   */
  minHistorySignIns: z.number().int().min(0).default(5),
  /**
   * Default 50. Countries and networks remembered per user (least recently seen forgotten first), which bounds the
   * state per user whatever the traffic.
   */
  maxKnownPerUser: z.number().int().min(1).max(1000).default(50),
  /**
   * Default 16 (IPv4) and 48 (IPv6). Privileged users' addresses are compared by network, not by address: home and
   * mobile addresses are reassigned within the provider's block (DHCP, carrier-grade NAT), so a new /32 is
   * everyday noise, while a network the user has never used is worth a look. 32 / 128 compares exact addresses.
   */
  privilegedIpv4PrefixBits: z.number().int().min(8).max(32).default(16),
  privilegedIpv6PrefixBits: z.number().int().min(16).max(128).default(48),

  /**
   * Default: the clients Entra lists as legacy authentication (no MFA possible), compared case-insensitively with
   * `clientAppUsed` (https://learn.microsoft.com/entra/identity/conditional-access/howto-conditional-access-policy-block-legacy).
   */
  legacyClientApps: names.default(() => [
    "Authenticated SMTP",
    "AutoDiscover",
    "Exchange ActiveSync",
    "Exchange Online PowerShell",
    "Exchange Web Services",
    "IMAP4",
    "MAPI Over HTTP",
    "Offline Address Book",
    "Other clients",
    "Outlook Anywhere (RPC over HTTP)",
    "POP3",
    "Reporting Web Services",
    "Universal Outlook",
  ]),

  /** Default ["medium", "high"]: `riskLevelDuringSignIn` values that make a risky sign-in (low is everyday noise). */
  riskySignInLevels: names.default(() => ["medium", "high"]),
  /** Default ["atRisk", "confirmedCompromised"]: `riskState` values that make a risky sign-in whatever its level. */
  riskySignInStates: names.default(() => ["atRisk", "confirmedCompromised"]),

  /**
   * Default ["anonymizedIPAddress", "anonymousIPAddress", "torIP"]: risk event types (compared case-insensitively)
   * that mark a successful sign-in as coming through Tor, a VPN or another anonymizer. `anonymizedIPAddress` is
   * Identity Protection's documented name; the other spellings are tolerated (matching a name Graph never sends
   * costs nothing).
   */
  anonymizerRiskEventTypes: names.default(() => ["anonymizedIPAddress", "anonymousIPAddress", "torIP"]),
  /**
   * Default []: CIDR prefixes of known anonymizers (Tor exit nodes, commercial VPNs) from the operator's threat
   * intelligence; a successful sign-in from one is reported even when Identity Protection did not flag it.
   */
  anonymizerIpPrefixes: cidrList.default(() => []),

  /**
   * Default: role assignments, permanent or eligible, direct or through PIM. Severity high: a new role member is
   * the classic privilege escalation and persistence step.
   */
  roleAssignmentActivities: activities.default(() => [
    ...[
      "Add member to role",
      "Add eligible member to role",
      "Add scoped member to role",
      "Add member to role in PIM completed (permanent)",
      "Add member to role in PIM completed (timebound)",
      "Add eligible member to role in PIM completed (permanent)",
      "Add eligible member to role in PIM completed (timebound)",
      "Add member to role outside of PIM (permanent)",
    ].map((activity) => act(activity, "RoleManagement", "high")),
  ]),
  /**
   * Default: consent and the grants it creates. Severity medium, raised to high for admin consent (the whole tenant)
   * or a permission in `consentHighRiskScopes` (illicit consent grant, the consent-phishing playbook).
   */
  consentActivities: activities.default(() => [
    act("Consent to application", "ApplicationManagement", "medium"),
    act("Add delegated permission grant", "ApplicationManagement", "medium"),
    act("Add app role assignment to service principal", "ApplicationManagement", "medium"),
  ]),
  /**
   * Default: Mail, Files, Sites, Directory and role-management scopes that let an app read every mailbox or file or
   * take over the directory, compared case-insensitively with the scopes in the audit's permissions.
   */
  consentHighRiskScopes: names.default(() => [
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.ReadWrite",
    "full_access_as_user",
    "EWS.AccessAsUser.All",
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "User.ReadWrite.All",
  ]),
  /**
   * Default: credentials added to a service principal (high: the portal offers no way to do it, so it is scripted —
   * the Midnight Blizzard / Solorigate persistence technique) or to an application (medium: owners rotate app secrets
   * routinely). An application update that only removed keys is not reported.
   */
  appCredentialActivities: activities.default(() => [
    act("Add service principal credentials", "ApplicationManagement", "high"),
    act("Update application – Certificates and secrets management", "ApplicationManagement", "medium"),
    act("Add key credential to application", "ApplicationManagement", "medium"),
    act("Add password credential to application", "ApplicationManagement", "medium"),
  ]),
  /**
   * Default: registration or deletion of MFA / password-reset methods, and password resets by an admin. A user
   * registering their own method is low (onboarding does it every day); an admin registering or anyone deleting a
   * method, or an admin resetting a password, is medium — the moves of an attacker who wants to keep or take an
   * account. Self-service resets ("Reset password (self-service)") are not listed: they need a method the user
   * already registered, which this rule watches.
   */
  authMethodActivities: activities.default(() => [
    act("User registered security info", "UserManagement", "low"),
    act("User changed default security info", "UserManagement", "low"),
    act("User deleted security info", "UserManagement", "medium"),
    act("Admin registered security info", "UserManagement", "medium"),
    act("Admin deleted security info", "UserManagement", "medium"),
    act("Admin updated security info", "UserManagement", "medium"),
    act("Reset user password", "UserManagement", "medium"),
  ]),
  /** Default: conditional-access policies and named locations added or updated (medium) or deleted (high). */
  conditionalAccessActivities: activities.default(() => [
    act("Add conditional access policy", "Policy", "medium"),
    act("Update conditional access policy", "Policy", "medium"),
    act("Delete conditional access policy", "Policy", "high"),
    act("Add named location", "Policy", "medium"),
    act("Update named location", "Policy", "medium"),
    act("Delete named location", "Policy", "high"),
  ]),
  /**
   * Default: federation changes (high: a federated domain lets its token issuer sign in as any user, the
   * Golden SAML / Nobelium backdoor) and domains added or verified (medium: the step before federating one).
   */
  domainFederationActivities: activities.default(() => [
    act("Set domain authentication", "DirectoryManagement", "high"),
    act("Set federation settings on domain", "DirectoryManagement", "high"),
    act("Add unverified domain", "DirectoryManagement", "medium"),
    act("Verify domain", "DirectoryManagement", "medium"),
  ]),
  /** Default ["success"]: audit `result` values the audit rules consider (a failed attempt changed nothing). */
  auditResults: names.default(() => ["success"]),

  /** Default ["medium", "high"]: risk detection levels reported (low "unfamiliarFeatures" is everyday noise). */
  riskDetectionLevels: names.default(() => ["medium", "high"]),
  /**
   * Default ["dismissed", "confirmedSafe"]: risk states not reported (an admin judged them). "remediated" stays: a
   * user who reset a password during a blind window may still have been compromised before it.
   */
  riskDetectionIgnoredStates: names.default(() => ["dismissed", "confirmedSafe"]),
});

/** Thresholds after defaults (what the detectors take). */
export type DetectionThresholds = z.infer<typeof DetectionThresholdsSchema>;
/** What an operator writes: any subset of the fields. */
export type DetectionThresholdsInput = z.input<typeof DetectionThresholdsSchema>;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Every default (frozen: parse `{}` for a copy to change). */
export const DEFAULT_THRESHOLDS: DetectionThresholds = deepFreeze(DetectionThresholdsSchema.parse({}));
