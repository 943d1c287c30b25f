/**
 * The impact window of a notice: when the vendor says telemetry was affected.
 *
 * Conventions (also in the README, "Assessment"):
 * - Structured fields win (Azure impactStartTime / impactMitigationTime, Graph startDateTime / endDateTime, manual
 *   impactStart / impactEnd); each bound missing from them is read from the text.
 * - The end is **exclusive**. A date without a time starts at 00:00Z; as an end it means "through that day", so it
 *   becomes 00:00Z of the next day ("… fix beginning on 19 September" → end 2024-09-20T00:00:00Z).
 * - Times are UTC unless a zone abbreviation from {@link ZONE_OFFSETS} follows them.
 * - A year missing from the text comes from `publishedAt`; a month later than publishedAt's month belongs to the year
 *   before (a notice published in January 2025 that says "30 December" means 2024).
 * - `09/02/2024` is US month/day (Microsoft writes its English communications for en-US); only when the first number
 *   exceeds 12 is it read as day/month.
 * - An end that is not after the start is dropped, so the window stays open: a wrong open end costs a longer review,
 *   a wrong early end hides evidence.
 * - Output has whole seconds and `Z` (`2024-09-02T23:00:00Z`); starts round down, ends round up.
 */

/** A window bound in the text, before it is placed in time. */
interface Moment {
  readonly start: number;
  readonly end: number;
  date?: { y?: number; m: number; d: number };
  time?: { h: number; mi: number; s: number; offsetMinutes: number };
  /** Set on the first moment of a day range token ("2–19 September"), which is always a range. */
  linkNext?: boolean;
}

/** The window read from structured fields and text, with one evidence line per bound. */
export interface NoticeWindow {
  start: string | null;
  end: string | null;
  evidence: string[];
}

/** The fields of a notice the window depends on. */
export interface NoticeWindowInput {
  text: string;
  publishedAt: string;
  impactStart?: string | undefined;
  impactEnd?: string | undefined;
}

/** Zone abbreviations Microsoft communications use; anything else (or none) is UTC. */
export const ZONE_OFFSETS: Readonly<Record<string, number>> = {
  utc: 0, gmt: 0, z: 0, pst: -480, pdt: -420, pt: -420, est: -300, edt: -240, cet: 60, cest: 120,
};

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6, jul: 7,
  july: 7, aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11, november: 11, dec: 12,
  december: 12,
};
const MONTH = "(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)";
const ORD = "(?:st|nd|rd|th)?";
const ZONE = "(utc|gmt|pst|pdt|pt|est|edt|cet|cest)";
const DASH = "(?:-|–|—|to|through|and)";
/** The period of an abbreviated month ("Sept."), but not a sentence end after a full month name. */
const ABBR_DOT = "(?:(?<=(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec))\\.)?";

/** Token patterns, tried in order; a match claims its characters (so "2024-09-02T23:00Z" is not also a time). */
const TOKEN_PATTERNS: ReadonlyArray<{ kind: string; re: RegExp }> = [
  { kind: "iso", re: /\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(z|utc|gmt|[+-]\d{2}:?\d{2})?)?(?![\d:])/gi },
  { kind: "us", re: /\b(\d{1,2})\/(\d{1,2})\/(\d{4})\b/g },
  { kind: "monthDayRange", re: new RegExp(`\\b${MONTH}\\.? (\\d{1,2})${ORD}\\s*${DASH}\\s*(\\d{1,2})${ORD}\\b(?!:)(?:,? (\\d{4})\\b)?`, "gi") },
  { kind: "dayMonthRange", re: new RegExp(`\\b(\\d{1,2})${ORD}\\s*${DASH}\\s*(\\d{1,2})${ORD} (?:of )?${MONTH}\\b${ABBR_DOT}(?:,? (\\d{4})\\b)?`, "gi") },
  { kind: "dayMonth", re: new RegExp(`\\b(\\d{1,2})${ORD} (?:of )?${MONTH}\\b${ABBR_DOT}(?:,? (\\d{4})\\b)?`, "gi") },
  { kind: "monthDay", re: new RegExp(`\\b${MONTH}\\.? (\\d{1,2})${ORD}\\b(?!:)(?:,? (\\d{4})\\b)?`, "gi") },
  { kind: "time", re: new RegExp(`\\b(\\d{1,2}):(\\d{2})(?::(\\d{2}))?(?:\\s*(am|pm|a\\.m\\.|p\\.m\\.))?(?:\\s*\\(?${ZONE}\\)?(?![a-z]))?`, "gi") },
  { kind: "time", re: new RegExp(`\\b(\\d{1,2})()()\\s*(am|pm|a\\.m\\.|p\\.m\\.)(?:\\s*\\(?${ZONE}\\)?(?![a-z]))?`, "gi") },
];

/** Words before a moment that make it an end: the mitigation vocabulary of Service Health / M365 posts. */
const END_CUE = /\b(?:final status|mitigat\w*|resolv\w*|fix|fixes|fixed|workaround|restor\w*|recover\w*|rolled back|roll(?:ing)? back|rollback|reverted|ended|until|till|through|thru|no longer|stopped|ceased|completed?|up to)\b/i;
const START_CUE = /\b(?:start\w*|begin\w*|began|begun|since|from|as early as|commenc\w*|onwards?|first (?:detected|observed|occurred|noticed))\b/i;
const BETWEEN_CUE = /\bbetween\b/i;
/** Dates that are not about the impact: the next update, publication, retention, deadlines, data "prior to" X. */
const IGNORE_CUE = /\b(?:updates?|updated|published|posted|prior to|older than|before|retention|retained|expir\w*|deadline|announced|effective|released)\b/i;
/** What may stand between the two moments of a range. */
const CONNECTOR = /^\s*(?:\(?(?:utc|gmt)\)?\s*)?(?:and|to|until|till|through|thru|-|–|—)\s*(?:around |approximately |about |roughly )?$/i;
const SENTENCE_END = /[.!?](?=\s|$)|\n/g;

/**
 * The impact window of a notice: structured bounds first, then the text (see the module comment for conventions).
 * Pure and deterministic: `publishedAt` stands in for the clock when a year is missing.
 */
export function noticeWindow(input: NoticeWindowInput): NoticeWindow {
  const evidence: string[] = [];
  const structuredStart = parseInstant(input.impactStart);
  let structuredEnd = parseInstant(input.impactEnd);
  if (structuredStart !== undefined && structuredEnd !== undefined && structuredEnd < structuredStart) {
    evidence.push(`window end: impactEnd ${formatInstant(structuredEnd, "end")} is before impactStart; ignored (structured)`);
    structuredEnd = undefined;
  }
  const fromText = readWindowFromText(input.text, input.publishedAt);

  let start: number | undefined;
  if (structuredStart !== undefined) {
    start = structuredStart;
    evidence.push(`window start: impactStart ${formatInstant(start, "start")} (structured)`);
  } else if (fromText.start) {
    start = fromText.start.at;
    evidence.push(`window start: ${formatInstant(start, "start")} from text '${fromText.start.quote}' (rule ${fromText.start.rule})`);
  }

  if (start !== undefined && structuredStart === undefined && structuredEnd !== undefined && start >= structuredEnd) {
    // Structured fields outrank text: a text start after the vendor's own mitigation time is about something else.
    evidence.pop();
    evidence.push(`window start: text bound '${fromText.start?.quote ?? ""}' is not before impactEnd; ignored`);
    start = undefined;
  }

  let end: number | undefined;
  if (structuredEnd !== undefined) {
    end = structuredEnd;
    evidence.push(`window end: impactEnd ${formatInstant(end, "end")} (structured, exclusive)`);
  } else if (fromText.end && (start === undefined || fromText.end.at > start)) {
    end = fromText.end.at;
    evidence.push(`window end: ${formatInstant(end, "end")} from text '${fromText.end.quote}' (rule ${fromText.end.rule}, exclusive)`);
  } else if (fromText.end) {
    evidence.push(`window end: text bound '${fromText.end.quote}' is not after the start; ignored`);
  }
  if (start !== undefined && end === undefined) evidence.push("window end: none given, window stays open");
  if (start === undefined && end === undefined) evidence.push("window: no impact time found");
  return {
    start: start === undefined ? null : formatInstant(start, "start"),
    end: end === undefined ? null : formatInstant(end, "end"),
    evidence,
  };
}

/** A bound read from text: epoch milliseconds, the words that gave it and the rule that placed it. */
export interface TextBound {
  at: number;
  quote: string;
  rule: "range" | "start-cue" | "end-cue" | "first-date";
}

/**
 * Reads the window from free text. Ranges ("between A and B", "from A to B", "2–19 September") give both bounds;
 * otherwise a moment after a start cue ("starting", "beginning", "since") is a start and one after a mitigation cue
 * ("mitigated", "fix", "workaround", "until") is an end — the mitigation cue wins when both precede it, because
 * "a fix … beginning on 19 September" ends the impact. The earliest start and the latest end are kept (a union is
 * the safe side for a blind window). With no cue at all, the earliest plain date in the text is the start.
 */
export function readWindowFromText(text: string, publishedAt: string): { start?: TextBound; end?: TextBound } {
  const published = parseInstant(publishedAt);
  const moments = scanMoments(text);
  const boundaries = [...text.matchAll(SENTENCE_END)].map((m) => m.index);
  // Sentence index = number of boundaries before the position (binary search: bodies can be 200 000 characters).
  const sentenceOf = (pos: number): number => {
    let lo = 0;
    let hi = boundaries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((boundaries[mid] ?? Infinity) < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const sentence = moments.map((m) => sentenceOf(m.start));
  const gapOf = (i: number): string => {
    const moment = moments[i];
    if (!moment) return "";
    const prevEnd = i > 0 ? (moments[i - 1]?.end ?? 0) : 0;
    const lastBoundary = boundaries[sentenceOf(moment.start) - 1];
    return text.slice(lastBoundary !== undefined && lastBoundary >= prevEnd ? lastBoundary + 1 : prevEnd, moment.start);
  };
  const quoteOf = (from: number, to: number): string => {
    const gap = gapOf(from);
    const cue = [BETWEEN_CUE, START_CUE, END_CUE].map((re) => re.exec(gap)?.index).filter((x) => x !== undefined);
    const cueAt = cue.length > 0 ? Math.min(...cue) : gap.length;
    const first = moments[from];
    const last = moments[to];
    if (!first || !last) return "";
    const fromPos = first.start - (gap.length - cueAt);
    return text.slice(Math.max(fromPos, first.start - 60), last.end).replace(/\s+/g, " ").trim();
  };

  // Roles, left to right.
  const starts: TextBound[] = [];
  const ends: TextBound[] = [];
  const plain: Array<{ index: number }> = [];
  const rangePartner = new Map<number, number>();
  const roles: Array<"start" | "end" | "plain" | "ignore"> = [];
  for (let i = 0; i < moments.length; i++) {
    const gap = gapOf(i);
    const moment = moments[i];
    const next = moments[i + 1];
    if (!moment) continue;
    if (roles[i] !== undefined) continue; // second half of a range
    if (IGNORE_CUE.test(gap)) {
      roles[i] = "ignore";
      continue;
    }
    const nextGap = gapOf(i + 1);
    const isRange = next !== undefined && sentence[i] === sentence[i + 1] &&
      (moment.linkNext === true || ((BETWEEN_CUE.test(gap) || START_CUE.test(gap)) && CONNECTOR.test(nextGap)));
    if (isRange) {
      rangePartner.set(i, i + 1);
      rangePartner.set(i + 1, i);
      // "The fix rolled out between A and B": both are ends.
      roles[i] = END_CUE.test(gap) && !moment.linkNext ? "end" : "start";
      roles[i + 1] = "end";
      continue;
    }
    roles[i] = END_CUE.test(gap) ? "end" : START_CUE.test(gap) ? "start" : "plain";
  }

  // Place every moment in time (borrowing dates and years where the text leaves them out).
  const placed = moments.map((_, i) => placeMoment(moments, i, rangePartner.get(i), sentence, published));
  for (let i = 0; i < moments.length; i++) {
    const at = placed[i];
    const role = roles[i];
    if (!at || role === undefined || role === "ignore") continue;
    const partner = rangePartner.get(i);
    const rule = partner !== undefined ? "range" : role === "start" ? "start-cue" : role === "end" ? "end-cue" : "first-date";
    const quote = partner !== undefined ? quoteOf(Math.min(i, partner), Math.max(i, partner)) : quoteOf(i, i);
    if (role === "start") starts.push({ at: at.start, quote, rule });
    else if (role === "end") ends.push({ at: at.end, quote, rule });
    else plain.push({ index: i });
  }
  // A range whose year was borrowed from its end can come out inverted ("30 December and 2 January 2025").
  for (const [a, b] of rangePartner) {
    const first = placed[a];
    const second = placed[b];
    if (a < b && first && second && first.start >= second.end && moments[a]?.date?.y === undefined) {
      const fixed = starts.find((s) => s.at === first.start);
      if (fixed) fixed.at = shiftYear(first.start, -1);
    }
  }

  let start = starts.reduce<TextBound | undefined>((best, s) => (best === undefined || s.at < best.at ? s : best), undefined);
  if (start === undefined) {
    for (const { index } of plain) {
      const at = placed[index];
      if (at && (start === undefined || at.start < start.at)) start = { at: at.start, quote: quoteOf(index, index), rule: "first-date" };
    }
  }
  const end = ends.reduce<TextBound | undefined>((best, e) => (best === undefined || e.at > best.at ? e : best), undefined);
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/** Finds dates and times and joins a time with its date ("23:00 UTC on 2 September 2024", "10 Feb 2026, at 6 AM"). */
function scanMoments(text: string): Moment[] {
  const claimed: Array<[number, number]> = [];
  const tokens: Moment[] = [];
  for (const { kind, re } of TOKEN_PATTERNS) {
    for (const m of text.matchAll(re)) {
      const start = m.index;
      const end = start + m[0].length;
      if (claimed.some(([s, e]) => start < e && end > s)) continue;
      const made = tokenToMoments(kind, m, start, end);
      if (made.length === 0) continue;
      claimed.push([start, end]);
      tokens.push(...made);
    }
  }
  tokens.sort((a, b) => a.start - b.start);
  const moments: Moment[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const next = tokens[i + 1];
    if (!token) continue;
    if (next && !token.linkNext) {
      const between = text.slice(token.end, next.start);
      if (token.time && !token.date && next.date && !next.time && /^\s*(?:\(?(?:utc|gmt)\)?\s*)?,?\s*(?:on\s+)?(?:the\s+)?$/i.test(between)) {
        moments.push({ start: token.start, end: next.end, date: next.date, time: token.time });
        i++;
        continue;
      }
      if (token.date && !token.time && next.time && !next.date && /^\s*,?\s*(?:at|@)?\s*$/i.test(between)) {
        moments.push({ start: token.start, end: next.end, date: token.date, time: next.time });
        i++;
        continue;
      }
    }
    moments.push(token);
  }
  return moments;
}

function tokenToMoments(kind: string, m: RegExpMatchArray, start: number, end: number): Moment[] {
  const n = (i: number): number | undefined => (m[i] === undefined || m[i] === "" ? undefined : Number(m[i]));
  const month = (i: number): number | undefined => {
    const word = m[i];
    // "may" in lower case is the verb ("logs may 2…" never names a month in a notice); "May" is the month.
    if (word === undefined || word === "may") return undefined;
    return MONTHS[word.toLowerCase()];
  };
  const dated = (y: number | undefined, mo: number | undefined, d: number | undefined): Moment["date"] | undefined =>
    mo !== undefined && d !== undefined && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 ? { ...(y !== undefined ? { y } : {}), m: mo, d } : undefined;
  switch (kind) {
    case "iso": {
      const date = dated(n(1), n(2), n(3));
      if (!date) return [];
      const h = n(4);
      const time = h === undefined ? undefined : makeTime(h, n(5) ?? 0, n(6) ?? 0, undefined, m[7]);
      if (h !== undefined && !time) return [];
      return [{ start, end, date, ...(time ? { time } : {}) }];
    }
    case "us": {
      const a = n(1);
      const b = n(2);
      if (a === undefined || b === undefined) return [];
      const date = a > 12 ? dated(n(3), b, a) : dated(n(3), a, b);
      return date ? [{ start, end, date }] : [];
    }
    case "monthDayRange":
    case "dayMonthRange": {
      const [mo, d1, d2, y] = kind === "monthDayRange" ? [month(1), n(2), n(3), n(4)] : [month(3), n(1), n(2), n(4)];
      const first = dated(y, mo, d1);
      const second = dated(y, mo, d2);
      if (!first || !second || (d1 ?? 0) > (d2 ?? 0)) return [];
      // Two moments sharing the token's text span halves, so positions stay ordered.
      const mid = start + Math.floor((end - start) / 2);
      return [
        { start, end: mid, date: first, linkNext: true },
        { start: mid, end, date: second },
      ];
    }
    case "dayMonth": {
      const date = dated(n(3), month(2), n(1));
      return date ? [{ start, end, date }] : [];
    }
    case "monthDay": {
      const date = dated(n(3), month(1), n(2));
      return date ? [{ start, end, date }] : [];
    }
    case "time": {
      const h = n(1);
      if (h === undefined) return [];
      const time = makeTime(h, n(2) ?? 0, n(3) ?? 0, m[4], m[5]);
      return time ? [{ start, end, time }] : [];
    }
    default:
      return [];
  }
}

function makeTime(h: number, mi: number, s: number, meridiem: string | undefined, zone: string | undefined): Moment["time"] | undefined {
  let hour = h;
  if (meridiem) {
    if (h < 1 || h > 12) return undefined;
    const pm = meridiem.toLowerCase().startsWith("p");
    hour = pm ? (h % 12) + 12 : h % 12;
  }
  if (hour > 23 || mi > 59 || s > 59) return undefined;
  return { h: hour, mi, s, offsetMinutes: zoneOffset(zone) };
}

function zoneOffset(zone: string | undefined): number {
  if (!zone) return 0;
  const z = zone.toLowerCase();
  const fixed = /^([+-])(\d{2}):?(\d{2})$/.exec(z);
  if (fixed) return (fixed[1] === "-" ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  return ZONE_OFFSETS[z] ?? 0;
}

/** Puts moment `i` in time: `start` is its first instant, `end` its exclusive end (next day for a bare date). */
function placeMoment(
  moments: readonly Moment[],
  i: number,
  partner: number | undefined,
  sentence: readonly number[],
  published: number | undefined,
): { start: number; end: number } | undefined {
  const moment = moments[i];
  if (!moment) return undefined;
  let date = moment.date;
  let borrowedFromEarlier: Moment | undefined;
  if (!date) {
    // A lone time takes its date from its range partner, else the nearest dated moment of its sentence (before, then
    // after), else the latest dated moment before it ("Starting at 02:00 UTC on 1 June … mitigated at 09:30 UTC").
    date = partner !== undefined ? moments[partner]?.date : undefined;
    for (let j = i - 1; !date && j >= 0 && sentence[j] === sentence[i]; j--) date = moments[j]?.date;
    for (let j = i + 1; !date && j < moments.length && sentence[j] === sentence[i]; j++) date = moments[j]?.date;
    for (let j = i - 1; !date && j >= 0; j--) {
      if (moments[j]?.date) {
        borrowedFromEarlier = moments[j];
        date = borrowedFromEarlier?.date;
      }
    }
  }
  if (!date) return undefined;
  const partnerYear = partner !== undefined ? moments[partner]?.date?.y : undefined;
  const year = date.y ?? partnerYear ?? inferYear(date.m, published);
  if (year === undefined || year < 1990 || year > 2999) return undefined;
  const dayStart = Date.UTC(year, date.m - 1, date.d);
  const check = new Date(dayStart);
  if (check.getUTCMonth() !== date.m - 1 || check.getUTCDate() !== date.d) return undefined; // 31 September
  if (!moment.time) return { start: dayStart, end: dayStart + DAY };
  const t = moment.time;
  let at = dayStart + ((t.h * 60 + t.mi - t.offsetMinutes) * 60 + t.s) * 1000;
  if (borrowedFromEarlier?.time) {
    const earlier = placeMoment([borrowedFromEarlier], 0, undefined, [0], published);
    if (earlier && at < earlier.start) at += DAY; // "mitigated at 01:30 UTC" after a 23:00 start means the next day
  }
  return { start: at, end: at };
}

const DAY = 86_400_000;

function inferYear(month: number, published: number | undefined): number | undefined {
  if (published === undefined) return undefined;
  const p = new Date(published);
  return month > p.getUTCMonth() + 1 ? p.getUTCFullYear() - 1 : p.getUTCFullYear();
}

function shiftYear(at: number, years: number): number {
  const d = new Date(at);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}

function parseInstant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? undefined : ms;
}

/** `YYYY-MM-DDTHH:mm:ssZ`; starts round down to the second, exclusive ends round up. */
function formatInstant(at: number, bound: "start" | "end"): string {
  const seconds = bound === "start" ? Math.floor(at / 1000) : Math.ceil(at / 1000);
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
