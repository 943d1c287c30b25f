import fc from "fast-check";
import functions, { type HttpResponseInit } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { noticeWebhook } from "../../functions/noticeWebhook.js";
import { noticeSubmit } from "../../functions/noticeSubmit.js";
import { normaliseAzureMonitorAlert } from "../../shared/domain/azureMonitorNotice.js";
import { normaliseManualNotice } from "../../shared/domain/manualNotice.js";
import type { Notice } from "../../shared/domain/notice.js";
import type { ParseResult } from "../../shared/domain/parseResult.js";
import { compositeKey } from "../../shared/domain/tableKey.js";
import { TABLES } from "../../shared/adapters/tables.js";
import type { Services } from "../../shared/runtime.js";
import { fixtureJson, fixtureText } from "../support/fixtures.js";
import { context } from "../support/http.js";
import { countEntities, ManualClock, queue, table, testServices, type CapturedLog } from "../support/storage.js";
import {
  awkwardValue, caseCounts, counted, expectClientProblem, keyBreakingString, leakingLines, mutate, mutations, runs, SIGN_IN_RECORD, spiedServices,
} from "./fuzzSupport.js";

const { HttpRequest } = functions;
const NOW = new Date("2024-10-03T09:00:00Z");
const COMMON = fixtureJson("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json") as { data: Record<string, unknown> };
const AZURE_FIXTURES = [
  COMMON,
  fixtureJson("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json"),
  // The documented maintenance sample is an alertContext only: sent inside the common-schema envelope.
  { ...COMMON, data: { ...COMMON.data, alertContext: fixtureJson("microsoft-docs", "azure-monitor-common-schema-servicehealth-alertcontext-maintenance.json") } },
];
const MANUAL_FIXTURE = fixtureJson("notices", "manual-sept-2024-pir.json");

type Route = "webhook" | "submit";
const ROUTES: Record<Route, { url: string; handler: typeof noticeWebhook; normalise: (json: unknown) => ParseResult<Notice> }> = {
  webhook: { url: "http://localhost/api/notices/azure-monitor", handler: noticeWebhook, normalise: (json) => normaliseAzureMonitorAlert(json) },
  submit: { url: "http://localhost/api/notices", handler: noticeSubmit, normalise: (json) => normaliseManualNotice(json, NOW) },
};

let azurite: EmbeddedAzurite;
let services: Services;
let log: CapturedLog;
/** What the 202 answers promised, to compare with what the tables and the queue hold at the end. */
const accepted = { notices: new Set<string>(), revisions: new Set<string>(), answers: 0 };

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  ({ services, log } = testServices(azurite, {}, new ManualClock(NOW)));
});

afterAll(async () => {
  // Nothing but what the 202 answers promised was written (no partial write from any refused or failed case).
  expect(await countEntities(azurite, TABLES.notices)).toBe(accepted.notices.size + accepted.revisions.size);
  const props = await queue(azurite, "notices").getProperties().catch(() => ({ approximateMessagesCount: 0 }));
  expect(props.approximateMessagesCount ?? 0).toBe(accepted.answers);
  expect(leakingLines(log.lines)).toEqual([]);
  await azurite.stop();
  const total = [...caseCounts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`intake fuzz cases: ${JSON.stringify(Object.fromEntries(caseCounts))} total ${total}, stored (202) ${String(accepted.answers)}\n`);
});

/** Sends a body to a route and checks the contract: 202 with an exact round trip, or a 4xx problem with no write. */
async function exercise(route: Route, body: { text: string } | { bytes: Uint8Array }, headers: Record<string, string> = { "content-type": "application/json" }): Promise<HttpResponseInit> {
  const { url, handler, normalise } = ROUTES[route];
  const spied = spiedServices(services);
  const request = new HttpRequest({ method: "POST", url, headers, body: "text" in body ? { string: body.text } : { bytes: body.bytes } });
  const response = await handler(request, context(route), spied.services);
  if (response.status === 202) {
    // Decoded as readJsonBody does (TextDecoder drops one BOM, readJsonBody a second).
    const text = "text" in body ? body.text : new TextDecoder("utf-8", { fatal: true }).decode(body.bytes);
    await expectStored(normalise(JSON.parse(text.replace(/^\uFEFF/, "")) as unknown), response);
  } else {
    expect(response.status, log.lines.at(-1)).toBeLessThan(500);
    expectClientProblem(response);
    expect(spied.counter.writes).toBe(0);
  }
  return response;
}

/** A 202 means normalisation succeeded and the stored notice reads back exactly as normalised, under escaped keys. */
async function expectStored(expected: ParseResult<Notice>, response: HttpResponseInit): Promise<void> {
  expect(expected.ok).toBe(true);
  if (!expected.ok) return;
  const n = expected.value;
  const answer = JSON.parse(response.body as string) as { noticeKey: string; revision: string; duplicate: boolean };
  expect(answer.noticeKey).toBe(`${n.source}~${n.id}`);
  expect(answer.revision).toBe(n.revision);
  const stored = await services.notices.getRevision(n.source, n.id, n.revision);
  // A repeated revision key keeps the revision stored first (idempotent by key), whatever else the repeat changed.
  if (answer.duplicate) expect(stored?.notice).toMatchObject({ source: n.source, id: n.id, revision: n.revision });
  else expect(stored?.notice).toEqual(n);
  const record = await services.notices.getNotice(n.source, n.id);
  expect(record?.id).toBe(n.id);
  expect(record?.source).toBe(n.source);
  if (!answer.duplicate) expect(record?.lastRevision).toBe(n.revision);
  // The partition key holds no character Table Storage forbids.
  // eslint-disable-next-line no-control-regex -- control characters are what must not reach a key
  expect(compositeKey(n.source, n.id)).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/u);
  accepted.notices.add(compositeKey(n.source, n.id));
  accepted.revisions.add(`${compositeKey(n.source, n.id)}|${n.revision}`);
  accepted.answers++;
}

let fresh = 0;
/** A copy of a Service Health sample with a tracking id of its own, so that its revision is stored, not a duplicate. */
function withFreshId(base: unknown): unknown {
  const copy = structuredClone(base) as { data: { alertContext?: { properties: Record<string, unknown> }; context?: { activityLog: { properties: Record<string, unknown> } } } };
  const properties = copy.data.alertContext?.properties ?? copy.data.context?.activityLog.properties;
  if (properties) properties.trackingId = `FUZZ-${String(++fresh)}`;
  return copy;
}

const json = (value: unknown): { text: string } => ({ text: JSON.stringify(value) });

/** Objects that get past the first checks of each route (right schemaId, title and body present). */
const webhookShaped = fc.record({
  schemaId: fc.constantFrom("azureMonitorCommonAlertSchema", "Microsoft.Insights/activityLogs", "AzureMonitorMetricAlert"),
  data: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ essentials: fc.jsonValue({ maxDepth: 2 }), alertContext: fc.jsonValue({ maxDepth: 3 }) })),
}, { requiredKeys: ["schemaId"] });
const manualShaped = fc.record({
  title: awkwardValue(), body: awkwardValue(), id: awkwardValue(), publishedAt: awkwardValue(), impactStart: awkwardValue(),
  impactEnd: awkwardValue(), services: fc.oneof(fc.array(awkwardValue(), { maxLength: 3 }), awkwardValue()), tenants: fc.oneof(fc.array(fc.uuid()), awkwardValue()),
  extra: fc.jsonValue({ maxDepth: 2 }),
}, { requiredKeys: [] });

describe("intake routes never answer 5xx, never throw, and write nothing on refusal", () => {
  it("POST /api/notices/azure-monitor: arbitrary JSON", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 6 }), webhookShaped), counted("webhook arbitrary JSON", async (value) => {
      await exercise("webhook", json(value));
    })), runs(2000));
  });

  it("POST /api/notices: arbitrary JSON", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 6 }), manualShaped), counted("submit arbitrary JSON", async (value) => {
      await exercise("submit", json(value));
    })), runs(2000));
  });

  it("POST /api/notices/azure-monitor: mutated real Service Health payloads", async () => {
    const arb = fc.record({ base: fc.constantFrom(...AZURE_FIXTURES), list: mutations() });
    await fc.assert(fc.asyncProperty(arb, counted("webhook mutated samples", async ({ base, list }) => {
      await exercise("webhook", json(mutate(withFreshId(base), list)));
    })), runs(2000));
  });

  it("POST /api/notices: mutated real PIR", async () => {
    await fc.assert(fc.asyncProperty(mutations(), counted("submit mutated PIR", async (list) => {
      await exercise("submit", json(mutate({ ...(MANUAL_FIXTURE as object), id: `PIR-${String(++fresh)}` }, list)));
    })), runs(1500));
  });

  it("both routes: raw bytes (invalid UTF-8, BOMs, truncation, NUL)", async () => {
    const sample = fixtureText("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json");
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.record({ cut: fc.nat(), insert: fc.uint8Array({ minLength: 1, maxLength: 4 }) }).map(({ cut, insert }) => {
        const base = Buffer.from(sample, "utf8");
        const at = cut % base.length;
        return new Uint8Array(Buffer.concat([base.subarray(0, at), insert, base.subarray(at)]));
      }),
      fc.nat().map((cut) => new Uint8Array(Buffer.from(sample, "utf8").subarray(0, cut % sample.length))),
      fc.constantFrom(Buffer.from(`\uFEFF${sample}`), Buffer.from(`\uFEFF\uFEFF${sample}`), Buffer.from("\u0000"), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80])).map((b) => new Uint8Array(b)),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom<Route>("webhook", "submit"), bytes, counted("raw bytes", async (route, body) => {
      await exercise(route, { bytes: body });
    })), runs(600));
  });

  it("both routes: content types and declared lengths", async () => {
    const alert = fixtureText("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json");
    const headers = fc.record({
      "content-type": fc.constantFrom("application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/cloudevents+json", "text/plain",
        "application/x-www-form-urlencoded", "", "application/jsonp", "multipart/form-data; boundary=x", "application/vnd.api+json", "application/json+", "json", "*/*"),
      "content-length": fc.constantFrom("0", "12", "abc", "-1", "262145", "999999999999", "1e9"),
    }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(fc.constantFrom<Route>("webhook", "submit"), headers, counted("content types", async (route, h) => {
      const text = route === "webhook" ? alert : JSON.stringify(MANUAL_FIXTURE);
      const response = await exercise(route, { text }, h);
      const type = (h["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (type !== "application/json" && !type.endsWith("+json")) expect(response.status).toBe(415);
    })), runs(400));
  });

  it("both routes: nesting thousands of levels deep and bodies around the size limit", async () => {
    const arb = fc.oneof(
      fc.record({ depth: fc.integer({ min: 1000, max: 200_000 }), open: fc.constantFrom("[", "{\"a\":") }).map(({ depth, open }) =>
        `${open.repeat(depth)}1${(open === "[" ? "]" : "}").repeat(depth)}`),
      fc.record({ size: fc.integer({ min: 250 * 1024, max: 300 * 1024 }), char: fc.constantFrom("x", "é", "😀") }).map(({ size, char }) =>
        JSON.stringify({ title: "t", body: char.repeat(Math.ceil(size / Buffer.byteLength(char))) })),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom<Route>("webhook", "submit"), arb, counted("deep and huge", async (route, text) => {
      await exercise(route, { text });
    })), runs(100));
  });
});

describe("valid notices with key-breaking ids are stored under escaped keys and read back exactly", () => {
  const long = fc.integer({ min: 400, max: 530 }).map((n) => "L".repeat(n));
  it("POST /api/notices/azure-monitor", async () => {
    const alert = fixtureJson("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json") as { data: { alertContext: { eventTimestamp: string; properties: Record<string, unknown> } } };
    const arb = fc.record({
      trackingId: fc.oneof(keyBreakingString(), long),
      communicationId: fc.oneof(keyBreakingString(), long),
      stage: fc.oneof(keyBreakingString(12), fc.constant(undefined)),
      title: fc.oneof(keyBreakingString(40), fc.constant(`signed in: ${JSON.stringify(SIGN_IN_RECORD)}`)),
    });
    await fc.assert(fc.asyncProperty(arb, counted("webhook key-breaking ids (stored)", async (ids) => {
      const body = structuredClone(alert);
      Object.assign(body.data.alertContext.properties, ids);
      await exercise("webhook", json(body));
    })), runs(200));
  });

  it("POST /api/notices", async () => {
    const arb = fc.record({ id: fc.oneof(keyBreakingString(), long), title: keyBreakingString(40), body: keyBreakingString(80) });
    await fc.assert(fc.asyncProperty(arb, counted("submit key-breaking ids (stored)", async (fields) => {
      await exercise("submit", json({ ...(MANUAL_FIXTURE as object), ...fields }));
    })), runs(100));
  });

  it("never shows one notice's revisions under another id that only differs in escaping", async () => {
    for (const [a, b] of [["a~b", "a%7Eb"], ["x/y", "x%2Fy"], ["p'q", "p''q"]] as const) {
      await exercise("submit", json({ ...(MANUAL_FIXTURE as object), id: a }));
      await exercise("submit", json({ ...(MANUAL_FIXTURE as object), id: b, title: "other" }));
      const revisionsOf = async (id: string) => { const out: string[] = []; for await (const r of services.notices.listRevisions("manual", id)) out.push(r.notice.id); return out; };
      expect(await revisionsOf(a)).toEqual([a]);
      expect(await revisionsOf(b)).toEqual([b]);
    }
    expect(await table(azurite, TABLES.notices).getEntity(compositeKey("manual", "a~b"), "notice")).toMatchObject({ noticeId: "a~b" });
  });
});

describe("inputs fuzzing found (regressions)", () => {
  const alert = (properties: Record<string, unknown>, eventTimestamp?: string) => {
    const body = structuredClone(COMMON) as { data: { alertContext: { eventTimestamp: string; properties: Record<string, unknown> } } };
    Object.assign(body.data.alertContext.properties, properties);
    if (eventTimestamp) body.data.alertContext.eventTimestamp = eventTimestamp;
    return json(body);
  };

  it("a lone surrogate in an id is escaped in the key (was: 503, and the emulator refused every later transaction)", async () => {
    expect((await exercise("submit", json({ ...(MANUAL_FIXTURE as object), id: "\ud800/" }))).status).toBe(202);
    expect((await exercise("webhook", alert({ trackingId: "T\udfff", communicationId: "\ud800" }))).status).toBe(202);
  });

  it("a long id of emoji is shortened without cutting a surrogate pair", async () => {
    expect((await exercise("submit", json({ ...(MANUAL_FIXTURE as object), id: `a${"😀".repeat(127)}` }))).status).toBe(202);
  });

  it("a timestamp an offset pushes into year 10000 is refused (was: 202, then unreadable)", async () => {
    expect((await exercise("webhook", alert({ trackingId: "Y10K" }, "9999-12-31T23:59:59-12:00"))).status).toBe(400);
    expect((await exercise("submit", json({ ...(MANUAL_FIXTURE as object), publishedAt: "9999-12-31T23:59:59-12:00" }))).status).toBe(400);
  });

  it("a revision key over 512 characters is refused (was: 202, then unreadable)", async () => {
    expect((await exercise("webhook", alert({ trackingId: "LONGREV", communicationId: "c".repeat(512), stage: "Resolved" }))).status).toBe(400);
    expect((await exercise("webhook", alert({ trackingId: "LONGTITLE", title: "t".repeat(5000) }))).status).toBe(400);
  });
});
