import { describe, expect, it } from "vitest";
import { TeamsWorkflowChannel } from "../../shared/adapters/teamsWorkflowChannel.js";
import { ChannelError } from "../../shared/app/taskPorts.js";

const URL_WITH_SIG = "https://prod-27.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SECRETSIGNATURE";
const CARD = { type: "AdaptiveCard", version: "1.4", body: [{ type: "TextBlock", text: "hello", wrap: true }] };

function fetchError(code: string): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });
}

function channel(answers: (Response | Error)[], waits: number[] = []): { teams: TeamsWorkflowChannel; calls: RequestInit[] } {
  const calls: RequestInit[] = [];
  const teams = new TeamsWorkflowChannel({
    maxAttempts: 3,
    backoffBaseMs: 100,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    transport: (_url, init) => {
      calls.push(init);
      const next = answers.shift() ?? new Response(null, { status: 202 });
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  });
  return { teams, calls };
}

async function failure(promise: Promise<unknown>): Promise<ChannelError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ChannelError);
  expect((error as ChannelError).message).not.toContain("SECRETSIGNATURE");
  return error as ChannelError;
}

describe("TeamsWorkflowChannel", () => {
  it("posts the card as a Workflows message; retries 429/5xx honouring Retry-After, then backs off", async () => {
    const waits: number[] = [];
    const { teams, calls } = channel([new Response(null, { status: 429, headers: { "retry-after": "2" } }), new Response(null, { status: 502 }), new Response(null, { status: 202 })], waits);
    await teams.post(URL_WITH_SIG, CARD);
    expect(calls).toHaveLength(3);
    expect(waits).toEqual([2000, 200]);
    expect(JSON.parse(calls[0]?.body as string)).toEqual({ type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: CARD }] });
  });

  it("an outage that outlasts the attempts is retryable for the outbox; a refusal or a host that does not exist is not", async () => {
    const down = await failure(channel([new Response(null, { status: 503 }), fetchError("ECONNRESET"), fetchError("EAI_AGAIN")]).teams.post(URL_WITH_SIG, CARD));
    expect([down.code, down.retryable, down.message]).toEqual(["teams-unavailable", true, "the Teams workflow could not be reached (EAI_AGAIN) after 3 attempts"]);
    const refused = await failure(channel([new Response(null, { status: 404 })]).teams.post(URL_WITH_SIG, CARD));
    expect([refused.code, refused.retryable]).toEqual(["teams-refused", false]);
    const nowhere = await failure(channel([fetchError("ENOTFOUND")]).teams.post(URL_WITH_SIG, CARD));
    expect([nowhere.code, nowhere.retryable]).toEqual(["teams-unreachable", false]);
    const slow = await failure(channel([new Response(null, { status: 429, headers: { "retry-after": "3600" } })]).teams.post(URL_WITH_SIG, CARD));
    expect([slow.code, slow.retryable, slow.retryAfterMs]).toEqual(["teams-throttled", true, 3_600_000]);
  });

  it("refuses what must not be sent: plain http off this machine, an invalid card, a card over 28 KB", async () => {
    const { teams, calls } = channel([]);
    expect((await failure(teams.post("http://prod-27.westeurope.logic.azure.com/workflows/x", CARD))).code).toBe("teams-invalid-url");
    expect((await failure(teams.post(URL_WITH_SIG, { type: "AdaptiveCard", version: "1.4", body: [{ type: "Bogus" }] }))).code).toBe("teams-invalid-card");
    const big = { ...CARD, body: [{ type: "TextBlock", text: "x".repeat(30_000), wrap: true }] };
    expect((await failure(teams.post(URL_WITH_SIG, big))).code).toBe("teams-card-too-large");
    expect(calls).toHaveLength(0);
    await teams.post("http://127.0.0.1:9/workflows/t/h", CARD); // the local simulator
    expect(calls).toHaveLength(1);
  });
});
