import { z } from "zod";
import { LogSourceIdSchema, LOG_SOURCE_IDS } from "./logSource.js";
import type { LogSourceId } from "./logSource.js";
import { findLogSources, matchPhraseRules } from "./logSourceRules.js";
import type { LogSourceRule, PhraseMatch, PhraseRule } from "./logSourceRules.js";
import type { Notice } from "./notice.js";
import { noticeWindow } from "./noticeWindow.js";

/** What a notice means for telemetry (../shared/DESIGN.md, "assessment"). */
export const AssessmentSchema = z.object({
  relevant: z.boolean(),
  synthetic: z.boolean(),
  effect: z.enum(["loss", "delay", "none"]),
  sources: z.array(LogSourceIdSchema),
  window: z.object({ start: z.string().nullable(), end: z.string().nullable() }),
  /** The rules that fired and the words they matched, in the order they were applied. */
  evidence: z.array(z.string()),
});
export type Assessment = z.infer<typeof AssessmentSchema>;
export type TelemetryEffect = Assessment["effect"];

/** A phrase rule about what happened to the data. */
export interface EffectRule extends PhraseRule {
  /**
   * `loss`: the data will never arrive. `delay`: it arrives late. `no-loss`: an explicit statement that nothing was
   * lost ("no data was lost"), which turns loss words into a delay. `neutral`: words that look like an effect but are
   * not one for telemetry ("no impact to data ingestion", "query latency", "mail delivery delays"); they only claim
   * their characters so the generic rules below cannot fire on them.
   */
  readonly kind: "loss" | "delay" | "no-loss" | "neutral";
}

/**
 * Telemetry-effect phrases, tried top to bottom; a match claims its characters (see matchPhraseRules). So the
 * specific and negated forms come first: "no data was lost" before "lost", "will not be backfilled" before
 * "backfilled", "query latency" before "latency".
 */
export const EFFECT_RULES: readonly EffectRule[] = [
  // --- neutral: negations and availability/performance wording that is not about telemetry ---
  { id: "no-impact-to-data", kind: "neutral", pattern: /\bno (?:\w+ )?(?:impact|effect|disruption) (?:to|on) (?:\w+ ){0,3}(?:data|logs?|logging|ingestion|telemetry|events|records)\b/gi },
  {
    id: "data-not-affected",
    kind: "neutral",
    pattern: /\b(?:data|logs?|logging|ingestion|telemetry|events|records)(?: \w+){0,3} (?:is|are|was|were|will|has|have)(?: not| n't|n't)(?: be| been)? (?:affected|impacted|delayed|lost|missing|at risk)\b/gi,
  },
  { id: "nothing-missing", kind: "neutral", pattern: /\bno (?:\w+ ){0,3}(?:is|are|was|were) (?:missing|delayed|incomplete)\b|\bnot (?:expected to be )?(?:missing|incomplete)\b/gi },
  {
    id: "query-or-portal-slowness",
    kind: "neutral",
    pattern: /\b(?:quer(?:y|ies)|portal|page|blade|dashboard|ui|console|search results? (?:page|load))s?\b[^.\n]{0,40}?\b(?:latency|delays?|delayed|slow\w*)\b|\b(?:latency|delays?) (?:when|while) (?:loading|querying|running|opening|accessing)\b/gi,
  },
  {
    id: "mail-delivery",
    kind: "neutral",
    pattern: /\b(?:e-?mail|mail|messages?|mailflow|mail flow)\b[^.\n]{0,40}?\b(?:delay\w*|latency|missing)\b|\b(?:delay\w*|latency) (?:in |of |with )?(?:(?:e-?mail|mail|message) )?(?:delivery|delivering|sending|receiving)\b/gi,
  },
  { id: "usage-reports", kind: "neutral", pattern: /\busage (?:reports?|data|analytics)\b[^.\n]{0,60}?\b(?:delay\w*|latency|incomplete|missing|don't contain|do not contain)\b/gi },
  // --- an explicit "nothing was lost" ---
  {
    id: "no-data-lost",
    kind: "no-loss",
    pattern: /\bno (?:\w+ ){0,2}(?:data|logs?|events|telemetry|records) (?:was|were|has been|have been|is|will be) (?:permanently )?lost\b|\bno (?:customer )?(?:data|log|telemetry) loss\b|\bwithout (?:any )?(?:data|log) loss\b|\bnone of the (?:data|logs|events) (?:was|were) lost\b/gi,
  },
  // --- loss: the data will never arrive ---
  {
    id: "unrecoverable",
    kind: "loss",
    pattern: /\b(?:cannot|can ?not|could not|can't|will not|won't) be (?:recovered|restored|backfilled|re-?ingested|replayed|retrieved)\b|\b(?:not|un)(?: )?recoverable\b|\bpermanently (?:lost|missing|unavailable)\b/gi,
  },
  { id: "incomplete", kind: "loss", pattern: /\b(?:partially )?incomplete\b/gi },
  { id: "missing", kind: "loss", pattern: /\bmissing\b/gi },
  { id: "not-ingested", kind: "loss", pattern: /\b(?:not|never)(?: been| be)? ingested\b|\bfailed to (?:be )?ingest\w*\b|\bingestion failures?\b/gi },
  {
    id: "not-generated",
    kind: "loss",
    pattern: /\b(?:not|never)(?: been| be)? (?:generated|collected|captured|recorded|logged|uploaded|emitted|exported|written)\b|\bfail(?:ed|ing|ure)? to (?:generate|collect|capture|record|log|upload|emit|export|write)\b/gi,
  },
  {
    id: "lost",
    kind: "loss",
    pattern: /\b(?:data|logs?|events|telemetry|records|entries)(?: \w+){0,3} (?:lost|dropped)\b|\b(?:lost|dropped) (?:\w+ ){0,2}(?:data|logs?|events|telemetry|records)\b|\b(?:data|log|telemetry) loss\b|\bloss of (?:\w+ ){0,3}(?:data|logs?|events|telemetry|records)\b/gi,
  },
  { id: "gaps", kind: "loss", pattern: /\bgaps? in (?:\w+ ){0,3}(?:data|logs?|logging|telemetry|events|records|ingestion)\b/gi },
  // --- delay: the data arrives late ---
  { id: "backfilled", kind: "delay", pattern: /\bback-?fill(?:ed|ing|s)?\b/gi },
  { id: "latency", kind: "delay", pattern: /\blatency\b/gi },
  { id: "delayed", kind: "delay", pattern: /\bdelay(?:ed|s)?\b/gi },
  { id: "arrives-late", kind: "delay", pattern: /\b(?:arriv|appear|show up|available|ingested|processed)\w* (?:up to |about |around )?(?:\w+ ){0,3}(?:late|later|with a lag)\b|\blagging\b|\bbehind schedule\b/gi },
];

/**
 * The effect words count only in a sentence about telemetry: one that names logs, data, events, telemetry, records,
 * ingestion, detections or alerts. This is what keeps "users may experience delays when signing in" (availability)
 * from counting as a sign-in-log delay.
 */
const TELEMETRY_NOUN = /\b(?:logs?|logging|log data|data|events?|telemetry|records?|entries|ingest\w*|detections?|alerts?|signals?|audit)\b/i;

/** Splits at sentence ends and line breaks, keeping offsets. */
function sentences(text: string): Array<{ start: number; text: string }> {
  const out: Array<{ start: number; text: string }> = [];
  let from = 0;
  for (const m of text.matchAll(/[.!?;](?=\s|$)|\n/g)) {
    const end = m.index + m[0].length;
    out.push({ start: from, text: text.slice(from, end) });
    from = end;
  }
  if (from < text.length) out.push({ start: from, text: text.slice(from) });
  return out;
}

/**
 * Assesses a notice: does it announce missing or delayed security telemetry, for which log sources, over which window.
 * Deterministic and explainable: no clock, no network, every decision is an evidence line naming the rule and the
 * matched words. `relevant` = not synthetic, at least one log source, and a loss/delay phrase in a sentence about
 * telemetry.
 */
export function assessNotice(notice: Notice): Assessment {
  const evidence: string[] = [];
  const text = `${notice.title}\n${notice.text}`;

  // 1. Sources: from the title and text, and from the vendor's service names.
  const sourceSet = new Set<LogSourceId>();
  const seen = new Set<string>();
  const noteSource = (match: PhraseMatch<LogSourceRule>, where: "phrase" | "service"): void => {
    for (const source of match.rule.sources) {
      sourceSet.add(source);
      const line = `source ${source}: ${where} '${match.phrase.toLowerCase()}' (rule ${match.rule.id})`;
      if (!seen.has(line)) {
        seen.add(line);
        evidence.push(line);
      }
    }
  };
  for (const match of findLogSources(text)) noteSource(match, "phrase");
  for (const service of notice.services) for (const match of findLogSources(service)) noteSource(match, "service");
  const sources = LOG_SOURCE_IDS.filter((id) => sourceSet.has(id));

  // 2. Effect: phrases in sentences about telemetry.
  const hits: Record<EffectRule["kind"], PhraseMatch<EffectRule>[]> = { loss: [], delay: [], "no-loss": [], neutral: [] };
  for (const sentence of sentences(text)) {
    const matches = matchPhraseRules(sentence.text, EFFECT_RULES);
    const aboutTelemetry = TELEMETRY_NOUN.test(sentence.text);
    for (const match of matches) {
      if (match.rule.kind !== "neutral" && !aboutTelemetry) continue;
      hits[match.rule.kind].push(match);
    }
  }
  const effectSeen = new Set<string>();
  const noteEffect = (label: string, match: PhraseMatch<EffectRule>): void => {
    const line = `${label}: phrase '${match.phrase.toLowerCase()}' (rule ${match.rule.id})`;
    if (!effectSeen.has(line)) {
      effectSeen.add(line);
      evidence.push(line);
    }
  };
  for (const m of hits.neutral) noteEffect("not an effect", m);
  let effect: TelemetryEffect = "none";
  if (hits["no-loss"].length > 0) {
    // "Some events may appear missing … no data was lost": the vendor says it all arrives, so it is a delay.
    for (const m of hits["no-loss"]) noteEffect("no loss", m);
    for (const m of hits.delay) noteEffect("effect delay", m);
    for (const m of hits.loss) noteEffect("effect delay (loss words overridden by 'no data lost')", m);
    if (hits.delay.length > 0 || hits.loss.length > 0) effect = "delay";
  } else if (hits.loss.length > 0) {
    // Loss outranks delay: "delayed, and some logs may be missing" leaves a gap that will never fill.
    for (const m of hits.loss) noteEffect("effect loss", m);
    for (const m of hits.delay) noteEffect("also delay", m);
    effect = "loss";
  } else if (hits.delay.length > 0) {
    for (const m of hits.delay) noteEffect("effect delay", m);
    effect = "delay";
  }

  // 3. Window.
  const window = noticeWindow({
    text,
    publishedAt: notice.publishedAt,
    impactStart: notice.impactStart,
    impactEnd: notice.impactEnd,
  });
  evidence.push(...window.evidence);

  // 4. Verdict.
  let relevant = false;
  if (notice.synthetic) {
    // Keep what was found (an operator testing the pipeline wants to see it work) but say it did not count.
    for (let i = 0; i < evidence.length; i++) {
      const line = evidence[i];
      const effectLine = line === undefined ? undefined : /^(effect \w+|also delay)(.*?):/.exec(line);
      if (line !== undefined && effectLine) evidence[i] = `${effectLine[1] ?? ""}${effectLine[2] ?? ""} (ignored: test action)${line.slice(effectLine[0].length - 1)}`;
    }
    evidence.push("synthetic: test action (IsSynthetic) — never relevant, effect none");
    effect = "none";
  } else if (sources.length === 0) {
    evidence.push("not relevant: no log source named");
  } else if (effect === "none") {
    evidence.push("not relevant: no loss or delay of logs, data, events or telemetry stated");
  } else {
    relevant = true;
    evidence.push(`relevant: ${effect} of ${sources.join(", ")}`);
  }
  return { relevant, synthetic: notice.synthetic, effect, sources, window: { start: window.start, end: window.end }, evidence };
}
