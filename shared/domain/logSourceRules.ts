import type { LogSourceId } from "./logSource.js";

/**
 * A phrase rule: a named pattern. Rules are data so that evidence can name the rule that fired and the exact words
 * it matched ("source entra-signin: phrase 'sign-in logs' (rule signin-logs)").
 */
export interface PhraseRule {
  /** Stable rule id, quoted in evidence. */
  readonly id: string;
  /** Must carry the `g` flag; case-insensitive unless the rule depends on capitalisation (say why). */
  readonly pattern: RegExp;
}

/** A phrase rule that names log sources. */
export interface LogSourceRule extends PhraseRule {
  readonly sources: readonly LogSourceId[];
}

/** One accepted match of a rule. */
export interface PhraseMatch<R extends PhraseRule> {
  readonly rule: R;
  /** The matched words, whitespace collapsed. */
  readonly phrase: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Vendor names and phrasings → log-source ids (../shared/DESIGN.md "Vocabulary"; issue 3).
 *
 * Order matters: rules are tried top to bottom and a match claims its characters, so a later, more general rule
 * cannot fire on the same words. That is how "unified audit log" (Purview) keeps "audit log" (Entra) from firing,
 * and "Defender for Cloud Apps" (XDR) keeps "Defender for Cloud" from firing.
 *
 * Deliberately absent: a bare "Microsoft Entra ID" / "Azure AD" / "sign in". Those name the identity *service*, and
 * the notices that name only the service are sign-in outages ("users may be unable to sign in"), which are not
 * sign-in-*log* gaps. A log source needs the word for its logs (sign-in logs, audit logs, risk detections).
 */
export const LOG_SOURCE_RULES: readonly LogSourceRule[] = [
  // --- several sources in one phrase (the September 2024 PIR wording: "sign-in logs and activity logs") ---
  {
    // Sentinel data connectors are named after the product they read from; a connector delay is a gap in Sentinel's
    // copy, not in that product, so the phrase names Sentinel only.
    id: "sentinel-connector",
    sources: ["sentinel"],
    pattern:
      /\b(?:data )?connectors? (?:for|from) (?:the )?(?:microsoft 365 defender|(?:microsoft )?defender xdr|(?:microsoft )?defender for (?:endpoint|office 365|identity|cloud apps|cloud)|microsoft entra(?: id)?|azure (?:ad|active directory)|office 365|microsoft 365|azure activity)\b/gi,
  },
  {
    id: "signin-and-audit-logs",
    sources: ["entra-signin", "entra-audit"],
    pattern: /\bsign[- ]?in (?:logs? )?(?:and|&|,) (?:audit|activity|directory audit) logs?\b/gi,
  },
  {
    id: "entra-logs",
    sources: ["entra-signin", "entra-audit"],
    pattern: /\b(?:microsoft entra(?: id)?|entra id|azure (?:ad|active directory)|aad) (?:logs?|logging|log data)\b/gi,
  },
  // --- Purview before Entra audit: "unified audit log" and "audit log search" are Purview ---
  { id: "unified-audit-log", sources: ["purview-audit"], pattern: /\bunified audit log(?:s|ging)?\b|\bsearch-unifiedauditlog\b/gi },
  { id: "purview", sources: ["purview-audit"], pattern: /\b(?:microsoft )?purview(?: (?:audit|compliance portal))?\b/gi },
  {
    id: "m365-audit",
    sources: ["purview-audit"],
    pattern: /\b(?:microsoft|office) 365 audit(?: logs?| records?)?\b|\baudit log search\b|\baudit \((?:standard|premium)\)/gi,
  },
  // Entra audit logs named with their product ("Entra audit log") stay Entra, whatever the number.
  {
    id: "entra-audit-logs",
    sources: ["entra-audit"],
    pattern: /\b(?:directory|microsoft entra(?: id)?|entra(?: id)?|azure (?:ad|active directory)|aad) audit (?:logs?|events|data)\b|\bdirectory audits?\b/gi,
  },
  {
    // Purview's documentation says "search the audit log" and "audit records" (singular log, records); Entra's says
    // "audit logs". Unqualified, the singular and "records" are Purview; the plural (below) is Entra.
    id: "purview-audit-wording",
    sources: ["purview-audit"],
    pattern: /\baudit log\b(?!s)(?! (?:events|data|entries)\b)|\baudit records?\b/gi,
  },
  // --- Defender: "Defender for Cloud Apps" and "Microsoft 365 security center" are XDR, so they come first ---
  {
    id: "defender-xdr",
    sources: ["defender-xdr"],
    pattern:
      /\b(?:microsoft )?defender xdr\b|\bmicrosoft 365 defender\b|\b(?:microsoft )?defender for (?:endpoint|office 365|identity|cloud apps)\b|\badvanced hunting\b|\bmicrosoft 365 security center\b/gi,
  },
  {
    id: "defender-cloud",
    sources: ["defender-cloud"],
    pattern:
      /\b(?:microsoft )?defender for cloud\b(?! apps)|\b(?:azure )?security center\b|\b(?:microsoft )?defender for (?:servers|storage|sql|containers|key vault|resource manager|dns|app service)\b/gi,
  },
  { id: "sentinel", sources: ["sentinel"], pattern: /\b(?:microsoft |azure )?sentinel\b/gi },
  // --- Entra ---
  {
    id: "risk-detections",
    sources: ["entra-risk"],
    pattern: /\brisk (?:detections?|events)\b|\b(?:microsoft entra |azure ad )?identity protection\b|\brisky (?:users|sign-?ins)\b/gi,
  },
  {
    id: "signin-logs",
    sources: ["entra-signin"],
    pattern: /\b(?:non-interactive |interactive |service principal |managed identity )?sign[- ]?ins? (?:logs?|log data|data|events|records|activity logs?|telemetry)\b/gi,
  },
  {
    // "Entra activity logs" are Entra's audit/provisioning logs, not the Azure Activity Log.
    id: "entra-activity-logs",
    sources: ["entra-audit"],
    pattern: /\b(?:microsoft entra(?: id)?|entra id|azure (?:ad|active directory)|aad) activity logs?\b/gi,
  },
  {
    id: "azure-activity-log",
    sources: ["azure-activity"],
    pattern: /\bazure activity logs?\b|\bsubscription activity logs?\b|\bactivity log (?:events|entries|data|records)\b/gi,
  },
  {
    // Case-sensitive on purpose: Azure writes its subscription log as the proper noun "Activity Log"; Entra docs say
    // "activity logs" in lower case for sign-in + audit logs.
    id: "activity-log-proper-noun",
    sources: ["azure-activity"],
    pattern: /\bActivity Logs?\b/g,
  },
  { id: "activity-log-singular", sources: ["azure-activity"], pattern: /\bactivity log\b(?!s)/gi },
  {
    id: "audit-logs",
    sources: ["entra-audit"],
    pattern: /\baudit (?:logs|events|data|entries)\b|\bprovisioning logs?\b|\bactivity logs\b/gi,
  },
  // --- Azure Monitor platform telemetry ---
  {
    id: "azure-monitor",
    sources: ["azure-monitor"],
    pattern:
      /\b(?:azure )?log analytics\b|\bdiagnostic (?:settings?|logs?)\b|\b(?:azure )?application insights\b|\bazure monitor(?: agent)?\b|\bresource logs?\b|\bdata collection rules?\b|\bcontainer insights\b/gi,
  },
];

/**
 * Finds every match of `rules` in `text`, tried in table order; a match is dropped when it overlaps characters an
 * earlier match already claimed. Deterministic: the result is ordered by position.
 */
export function matchPhraseRules<R extends PhraseRule>(text: string, rules: readonly R[], claimed: Array<[number, number]> = []): PhraseMatch<R>[] {
  const matches: PhraseMatch<R>[] = [];
  for (const rule of rules) {
    for (const m of text.matchAll(rule.pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (m[0].length === 0 || claimed.some(([s, e]) => start < e && end > s)) continue;
      claimed.push([start, end]);
      matches.push({ rule, phrase: m[0].replace(/\s+/g, " ").trim(), start, end });
    }
  }
  return matches.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Log-source rule matches in `text` (title, body or a service name). */
export function findLogSources(text: string): PhraseMatch<LogSourceRule>[] {
  return matchPhraseRules(text, LOG_SOURCE_RULES);
}
