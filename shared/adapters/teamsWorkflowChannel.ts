import { ChannelError, type TeamsPort } from "../app/taskPorts.js";
import { workflowMessage } from "../domain/taskCard.js";
import { adaptiveCardProblems } from "./adaptiveCardValidator.js";
import { isLoopbackHttpUrl } from "./graph/graphCredentials.js";
import { retryAfterMs } from "./graph/graphClientFactory.js";

/**
 * Posts an Adaptive Card to a tenant's Teams Workflows webhook ("When a Teams webhook request is received"; app-only
 * Graph cannot post channel messages). The URL carries its own signature (`sig=`), so it is a secret: it is never
 * logged nor put in an error. https only, except a loopback http URL (the local Graph simulator serves the hooks).
 * Transient failures (network, 408, 429, 5xx) are retried a few times with back-off inside one call, honouring
 * Retry-After; what still fails is retryable for the outbox; any other 4xx, or a host that does not resolve, is not
 * (the URL or the card is wrong).
 */
export interface TeamsWorkflowOptions {
  transport?: (url: string, init: RequestInit) => Promise<Response>;
  maxAttempts?: number;
  backoffBaseMs?: number;
  /** A Retry-After longer than this is not waited for inside one call. */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The system error code under a fetch failure (`fetch failed` wraps it in `cause`), if any. */
function networkCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

/** Teams refuses cards over 28 KB posted through a webhook. */
const MAX_BODY_BYTES = 28 * 1024;

export class TeamsWorkflowChannel implements TeamsPort {
  private readonly transport: (url: string, init: RequestInit) => Promise<Response>;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: TeamsWorkflowOptions = {}) {
    this.transport = options.transport ?? ((url, init) => fetch(url, init));
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async post(url: string, card: Record<string, unknown>): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ChannelError("teams-invalid-url", "the Teams workflow URL is not a URL", false);
    }
    if (parsed.protocol !== "https:" && !isLoopbackHttpUrl(url)) throw new ChannelError("teams-invalid-url", "the Teams workflow URL must be https", false);
    const problems = adaptiveCardProblems(card);
    if (problems.length > 0) throw new ChannelError("teams-invalid-card", `the card is not valid: ${problems.slice(0, 3).join("; ")}`, false);
    const body = JSON.stringify(workflowMessage(card));
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new ChannelError("teams-card-too-large", `the card is ${String(Buffer.byteLength(body))} bytes, over Teams' 28 KB`, false);

    let reason = "";
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let wait: number | undefined;
      try {
        const response = await this.transport(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(this.timeoutMs) });
        await response.body?.cancel();
        if (response.ok) return;
        const status = response.status;
        reason = `the Teams workflow answered ${String(status)}`;
        if (status !== 408 && status !== 429 && status < 500) throw new ChannelError("teams-refused", reason, false);
        wait = retryAfterMs(response.headers);
        if (wait !== undefined && wait > this.maxRetryAfterMs) throw new ChannelError("teams-throttled", `${reason} with Retry-After ${String(Math.round(wait / 1000))} s`, true, wait);
      } catch (error) {
        if (error instanceof ChannelError) throw error;
        const code = networkCode(error);
        // A host that does not exist (NXDOMAIN) is a wrong URL in the profile, not an outage: say so at once.
        if (code === "ENOTFOUND") throw new ChannelError("teams-unreachable", "the Teams workflow host does not resolve (ENOTFOUND): check the tenant's teamsWorkflowUrl", false);
        reason = `the Teams workflow could not be reached (${code ?? (error instanceof Error ? error.name : "network error")})`;
      }
      if (attempt < this.maxAttempts) await this.sleep(wait ?? this.backoffBaseMs * 2 ** (attempt - 1));
    }
    throw new ChannelError("teams-unavailable", `${reason} after ${String(this.maxAttempts)} attempts`, true);
  }
}
