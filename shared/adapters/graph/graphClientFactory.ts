import { AuthenticationHandler, Client, GraphError, ResponseType, type Middleware } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import type { Logger } from "../../app/ports.js";
import type { Settings } from "../../config.js";
import { GRAPH_SCOPE, graphConfigurationFromSettings, type GraphCredentials } from "./graphCredentials.js";
import { GraphRequestError, graphErrorCodeForStatus } from "./graphErrors.js";
import { GRAPH_ORIGIN, graphPages, type GraphPage, type PageOptions } from "./graphPager.js";
import { ThrottleBudget, graphApiFamily, type GraphApiFamily } from "./throttleBudget.js";

/**
 * The one way blindwindow talks to Microsoft Graph (DESIGN.md "Microsoft Graph"): the real
 * `@microsoft/microsoft-graph-client` v3 with a middleware chain of
 *   1. AuthenticationHandler — an app-only token for the customer tenant from @azure/identity (graphCredentials.ts);
 *   2. ThrottleRetryMiddleware — spends the throttle budget before every attempt, honours Retry-After, backs off with
 *      jitter when there is none (Identity Protection sends none), retries a bounded number of times;
 *   3. GraphFetchMiddleware — rewrites https://graph.microsoft.com to BLINDWINDOW_GRAPH_BASE_URL when set (the local
 *      simulator; the client must keep the https origin, see ../shared/TOOLCHAIN.md) and fetches through an
 *      injectable transport, with a timeout per attempt.
 * Errors come out as GraphRequestError values with a code per cause (graphErrors.ts); tokens never reach a log.
 */

export type GraphTransport = (url: string, init: RequestInit) => Promise<Response>;

export interface GraphClientFactoryOptions {
  /** Shared budget (one per process). Default: a new one at `timeScale`. */
  budget?: ThrottleBudget;
  /** Divides throttle windows and back-off delays, mirroring the simulator's `timeScale` (demo, benchmarks). */
  timeScale?: number;
  /** Credentials instead of those the settings describe (tests). */
  credentials?: GraphCredentials;
  /** The wire. Default: global fetch. */
  transport?: GraphTransport;
  /** Attempts per request, first included. Default 5. */
  maxAttempts?: number;
  /** Timeout of one attempt. Default 30 s. */
  requestTimeoutMs?: number;
  /** First back-off delay when Graph gives no Retry-After (doubles per attempt, jittered). Default 1 s / timeScale. */
  backoffBaseMs?: number;
  /** Longest back-off delay. Default 30 s / timeScale. */
  backoffMaxMs?: number;
  /** A Retry-After longer than this is not waited for inside one call: the request fails `graph-throttled`. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Random numbers in [0, 1) for jitter. Default Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

/** Graph for one customer tenant. */
export interface GraphApi {
  readonly tenantId: string;
  /** GETs a Graph path (`/admin/…`, v1.0) or absolute https://graph.microsoft.com URL; the parsed JSON body. */
  get(url: string): Promise<unknown>;
  /** Pages of a collection (graphPager.ts). */
  pages<T = unknown>(path: string, options?: PageOptions<T>): AsyncGenerator<GraphPage<T>, void, undefined>;
  /**
   * A write (POST, PATCH, DELETE) to a Graph path: a JSON body (an object) or a text body (a string, with
   * `contentType`, e.g. base64 MIME for sendMail), with extra headers such as `If-Match`. Resolves with the status,
   * the ETag header and the parsed JSON body (undefined when empty); any other answer than 2xx is a GraphRequestError
   * whose `graphStatus` tells which (412: stale If-Match). Writes are retried on 429/503/504 only (ThrottleRetryMiddleware):
   * a request whose answer was lost is never sent again blindly.
   */
  send(method: GraphWriteMethod, url: string, body?: unknown, options?: GraphWriteOptions): Promise<GraphWriteResult>;
}

export type GraphWriteMethod = "POST" | "PATCH" | "DELETE";

export interface GraphWriteOptions {
  headers?: Readonly<Record<string, string>>;
  /** Content type of a string body (default application/json for objects). */
  contentType?: string;
}

export interface GraphWriteResult {
  status: number;
  etag: string | undefined;
  body: unknown;
}

export interface GraphRequestStats {
  /** Attempts sent to the wire. */
  attempts: number;
  /** Attempts that were retries. */
  retries: number;
  /** 429 answers received. */
  throttled: number;
}

export type GraphClientFactory = ((tenantId: string) => GraphApi) & {
  readonly budget: ThrottleBudget;
  readonly credentials: GraphCredentials;
  stats(): GraphRequestStats;
};

/** The part of the Graph client's middleware context used here (its typings name DOM globals a Node lib lacks). */
interface MiddlewareContext {
  request: string | Request;
  options?: RequestInit;
  response?: Response;
}

interface NextMiddleware {
  execute(context: MiddlewareContext): Promise<void>;
}

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function requestUrl(context: MiddlewareContext): string {
  return typeof context.request === "string" ? context.request : context.request.url;
}

/**
 * How long Graph asks us to wait: `x-ms-retry-after-ms` (Azure's millisecond header, which the simulator sends when
 * its windows are scaled) or `Retry-After` in seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers, nowMs = Date.now()): number | undefined {
  const ms = headers.get("x-ms-retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxRetryAfterMs: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Spends the budget before each attempt and retries what Graph says is transient, within bounds. */
class ThrottleRetryMiddleware {
  private next: NextMiddleware | undefined;
  constructor(
    private readonly tenantId: string,
    private readonly budget: ThrottleBudget,
    private readonly policy: RetryPolicy,
    private readonly stats: GraphRequestStats,
    private readonly logger: Logger | undefined,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  /** Jittered exponential back-off in [d/2, d], d = min(max, base·2^(attempt−1)) ("equal jitter"). */
  private backoff(attempt: number): number {
    const d = Math.min(this.policy.backoffMaxMs, this.policy.backoffBaseMs * 2 ** (attempt - 1));
    return d / 2 + this.policy.random() * (d / 2);
  }

  async execute(context: MiddlewareContext): Promise<void> {
    const next = this.next;
    if (!next) throw new Error("ThrottleRetryMiddleware has no next middleware");
    const url = requestUrl(context);
    const method = (context.options?.method ?? (typeof context.request === "string" ? "GET" : context.request.method)).toUpperCase();
    const idempotent = method === "GET" || method === "HEAD";
    const family: GraphApiFamily | undefined = graphApiFamily(url);
    for (let attempt = 1; ; attempt++) {
      const permit = family ? await this.budget.acquire(this.tenantId, family) : undefined;
      this.stats.attempts++;
      if (attempt > 1) this.stats.retries++;
      let reason: string;
      let delayMs: number | undefined;
      let thrown: unknown;
      try {
        try {
          await next.execute(context);
        } finally {
          permit?.settle(); // the answer (or failure) is here: Graph has counted the request by now
        }
        const response = context.response;
        if (!response) throw new Error("the transport produced no response");
        if (response.ok) {
          if (!idempotent || response.status === 204) return;
          // Read the page here, so a body cut short (a dropped stream) is retried like any transient failure.
          const text = await response.text();
          context.response = new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
          if (text === "" || isJson(text)) return;
          reason = "malformed JSON body";
        } else {
          const status = response.status;
          const transient = status === 429 || status === 503 || status === 504 || (idempotent && (status === 500 || status === 502));
          if (!transient) return;
          if (status === 429) this.stats.throttled++;
          delayMs = retryAfterMs(response.headers);
          reason = `HTTP ${String(status)}`;
          if (delayMs !== undefined && delayMs > this.policy.maxRetryAfterMs) {
            this.logger?.warn("Graph asked to wait longer than a call may: giving up", { tenant: this.tenantId, status, retryAfterMs: delayMs });
            return;
          }
          if (attempt >= this.policy.maxAttempts) return; // the last response becomes the caller's error
          delayMs ??= this.backoff(attempt);
          if (status === 429 && family) {
            this.budget.pause(this.tenantId, family, delayMs);
            permit?.refund(); // a refused request is not counted: only the pause holds the next one back
          }
        }
      } catch (error) {
        if (!idempotent) throw error;
        thrown = error;
        reason = error instanceof Error ? `${error.name}: ${error.message}` : "network failure";
      }
      if (attempt >= this.policy.maxAttempts) {
        if (thrown !== undefined) throw new GraphTransportError(`${reason} after ${String(attempt)} attempts`, { cause: thrown });
        return; // a malformed page: the caller's parse reports it
      }
      const wait = delayMs ?? this.backoff(attempt);
      this.logger?.debug("Graph request retried", { tenant: this.tenantId, family, attempt, reason, delayMs: Math.round(wait) });
      await this.policy.sleep(wait);
    }
  }
}

/** A network failure or timeout that outlived every retry. */
class GraphTransportError extends Error {
  override readonly name = "GraphTransportError";
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The last link: origin rewrite (simulator) and the fetch itself, with a timeout per attempt. */
class GraphFetchMiddleware {
  constructor(
    private readonly baseUrl: string | undefined,
    private readonly transport: GraphTransport,
    private readonly timeoutMs: number,
  ) {}

  async execute(context: MiddlewareContext): Promise<void> {
    const original = requestUrl(context);
    const url = this.baseUrl && original.startsWith(GRAPH_ORIGIN) ? this.baseUrl.replace(/\/+$/, "") + original.slice(GRAPH_ORIGIN.length) : original;
    const init: RequestInit = typeof context.request === "string" ? { ...context.options } : { method: context.request.method, headers: context.request.headers, ...context.options };
    const timeout = AbortSignal.timeout(this.timeoutMs);
    init.signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    context.response = await this.transport(url, init);
  }
}

async function graphErrorBody(response: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    return {
      ...(typeof body.error?.code === "string" ? { code: body.error.code } : {}),
      ...(typeof body.error?.message === "string" ? { message: body.error.message.slice(0, 300) } : {}),
    };
  } catch {
    return {};
  }
}

/** A GraphError from the client (thrown by a middleware or the credential) as our typed error. */
function fromClientError(error: unknown, tenantId: string): GraphRequestError {
  if (error instanceof GraphRequestError) return error;
  const name = error instanceof GraphError ? (error.code ?? "") : error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (/credential|authentication|AADSTS/i.test(`${name} ${message}`)) {
    return new GraphRequestError("graph-unauthorized", 0, `no Graph token for tenant ${tenantId}: ${name || "credential error"}`, { tenantId, cause: error });
  }
  return new GraphRequestError("graph-unavailable", 0, `Graph unreachable for tenant ${tenantId}: ${message.slice(0, 300)}`, { tenantId, cause: error });
}

/**
 * Builds the Graph client factory: `factory(tenantId)` is Graph for that customer tenant (clients and credentials
 * cached per tenant, one throttle budget for the process). Throws when the settings describe no Graph credentials.
 */
export function createGraphClientFactory(settings: Settings, options: GraphClientFactoryOptions = {}): GraphClientFactory {
  const configuration = graphConfigurationFromSettings(settings);
  const credentials = options.credentials ?? (configuration.configured ? configuration.credentials : undefined);
  if (!credentials) throw new Error(`Graph is not configured: ${configuration.configured ? "no credentials" : configuration.reason}`);
  const baseUrl = settings.BLINDWINDOW_GRAPH_BASE_URL;
  const timeScale = options.timeScale ?? options.budget?.timeScale ?? 1;
  const budget = options.budget ?? new ThrottleBudget({ timeScale });
  const policy: RetryPolicy = {
    maxAttempts: Math.max(1, options.maxAttempts ?? 5),
    backoffBaseMs: options.backoffBaseMs ?? 1000 / timeScale,
    backoffMaxMs: options.backoffMaxMs ?? 30_000 / timeScale,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? sleepFor,
  };
  const transport: GraphTransport = options.transport ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const stats: GraphRequestStats = { attempts: 0, retries: 0, throttled: 0 };
  const apis = new Map<string, GraphApi>();

  const build = (tenantId: string): GraphApi => {
    const authProvider = new TokenCredentialAuthenticationProvider(credentials.forTenant(tenantId), { scopes: [GRAPH_SCOPE] });
    const chain = [
      new AuthenticationHandler(authProvider),
      new ThrottleRetryMiddleware(tenantId, budget, policy, stats, options.logger),
      new GraphFetchMiddleware(baseUrl, transport, timeoutMs),
    ] as unknown as Middleware[];
    const client = Client.initWithMiddleware({ middleware: chain, defaultVersion: "v1.0" });
    const get = async (url: string): Promise<unknown> => {
      let response: Response;
      try {
        response = (await client.api(url).responseType(ResponseType.RAW).get()) as Response;
      } catch (error) {
        throw fromClientError(error, tenantId);
      }
      if (!response.ok) {
        const body = await graphErrorBody(response);
        const code = graphErrorCodeForStatus(response.status, body.code);
        throw new GraphRequestError(code, response.status, `Graph answered ${String(response.status)}${body.code ? ` ${body.code}` : ""} for tenant ${tenantId}`, {
          tenantId,
          ...(body.code ? { graphErrorCode: body.code } : {}),
        });
      }
      const text = await response.text();
      try {
        return text === "" ? undefined : (JSON.parse(text) as unknown);
      } catch (error) {
        throw new GraphRequestError("graph-unavailable", response.status, `Graph sent a body that is not JSON, after ${String(policy.maxAttempts)} attempts`, { tenantId, cause: error });
      }
    };
    const send = async (method: GraphWriteMethod, url: string, body?: unknown, writeOptions: GraphWriteOptions = {}): Promise<GraphWriteResult> => {
      let request = client.api(url).responseType(ResponseType.RAW);
      for (const [name, value] of Object.entries(writeOptions.headers ?? {})) request = request.header(name, value);
      if (writeOptions.contentType !== undefined) request = request.header("Content-Type", writeOptions.contentType);
      let response: Response;
      try {
        response = (await (method === "POST" ? request.post(body) : method === "PATCH" ? request.patch(body) : request.delete())) as Response;
      } catch (error) {
        throw fromClientError(error, tenantId);
      }
      if (!response.ok) {
        const failure = await graphErrorBody(response);
        throw new GraphRequestError(graphErrorCodeForStatus(response.status, failure.code), response.status, `Graph answered ${String(response.status)}${failure.code ? ` ${failure.code}` : ""} to ${method} for tenant ${tenantId}`, {
          tenantId,
          ...(failure.code ? { graphErrorCode: failure.code } : {}),
        });
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
      } catch {
        parsed = undefined; // a write's answer body is informative only
      }
      return { status: response.status, etag: response.headers.get("etag") ?? undefined, body: parsed };
    };
    return {
      tenantId,
      get,
      pages: <T>(path: string, pageOptions: PageOptions<T> = {}) => graphPages<T>(get, tenantId, path, pageOptions),
      send,
    };
  };

  const factory = (tenantId: string): GraphApi => {
    const key = tenantId.toLowerCase();
    let api = apis.get(key);
    if (!api) {
      api = build(key);
      apis.set(key, api);
    }
    return api;
  };
  return Object.assign(factory, { budget, credentials, stats: (): GraphRequestStats => ({ ...stats }) });
}
