/**
 * The local host: the same function modules Azure runs, without Core Tools. HTTP on 127.0.0.1 under `/api`, queue
 * triggers polling Azure Storage queues with the Functions semantics (base64 messages, dequeue count, poison queue
 * after `maxDequeueCount`), timers on the same NCRONTAB schedules, function keys on every non-anonymous route.
 * Functions are discovered through the `@azure/functions-core` shim: one source of truth for the function list.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID, timingSafeEqual, createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import functions, { type HttpResponseInit, type InvocationContext as InvocationContextType } from "@azure/functions";
import { QueueServiceClient, type QueueClient } from "@azure/storage-queue";
import { CronExpressionParser } from "cron-parser";
import { installFunctionsCore, registeredFunctions, type RegisteredFunction } from "./functionRegistry.js";
import { compileRoute, type CompiledRoute } from "./routes.js";
import { projectRoot, readHostJson, type HostJson } from "./hostSettings.js";

// Under Node ESM only `app` is a detectable named export of @azure/functions; classes come from the default export.
const { HttpRequest, HttpResponse, InvocationContext } = functions;

export type HostLog = (level: "info" | "warn" | "error" | "debug", message: string) => void;

export interface LocalHostOptions {
  /** Storage connection string the queue triggers poll (the functions read it from AzureWebJobsStorage). */
  storageConnectionString: string;
  /** Function key required on non-anonymous routes. */
  functionKey: string;
  port?: number;
  /** Directory with the function modules; defaults to ../functions next to this file. */
  functionsDir?: string;
  hostJsonPath?: string;
  /** Overrides host.json's queue timing (tests and the demo want faster retries). */
  queue?: { minPollMs?: number; maxPollMs?: number; retryDelayMs?: number; visibilitySeconds?: number };
  /** Start timers (default true). */
  timers?: boolean;
  log?: HostLog;
}

export interface LocalHost {
  url: string;
  port: number;
  functions: RegisteredFunction[];
  /** Runs a timer function now (as if its schedule fired). */
  runTimer(name: string): Promise<void>;
  /** Resolves when every queue was seen empty and no invocation is running. */
  idle(timeoutMs?: number): Promise<void>;
  stats(): { invocations: number; failures: number; poisoned: number };
  close(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const moduleExt = path.extname(fileURLToPath(import.meta.url)); // .ts under tsx, .js when compiled

/** Imports every function module once; registrations land in the shim's registry. */
export async function loadFunctions(functionsDir = path.join(here, "..", "functions")): Promise<RegisteredFunction[]> {
  installFunctionsCore();
  const files = (await readdir(functionsDir)).filter((f) => f.endsWith(moduleExt) && !f.endsWith(`.d${moduleExt}`)).sort();
  for (const file of files) await import(pathToFileURL(path.join(functionsDir, file)).href);
  return registeredFunctions();
}

function keyMatches(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function problem(res: ServerResponse, status: number, title: string, detail?: string): void {
  res.writeHead(status, { "content-type": "application/problem+json" });
  res.end(JSON.stringify({ type: "about:blank", title, status, ...(detail ? { detail } : {}) }));
}

interface HttpRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: string[];
  anonymous: boolean;
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log: HostLog = options.log ?? ((level, message) => { process.stderr.write(`[${level}] ${message}\n`); });
  const hostJson: HostJson = readHostJson(options.hostJsonPath ?? path.join(projectRoot(here), "host.json"));
  const registered = await loadFunctions(options.functionsDir);
  const routePrefix = `/${hostJson.extensions.http.routePrefix}`;
  const counters = { invocations: 0, failures: 0, poisoned: 0 };
  let running = 0;

  const makeContext = (fn: RegisteredFunction, triggerMetadata: Record<string, unknown> = {}): InvocationContextType =>
    new InvocationContext({
      invocationId: randomUUID(),
      functionName: fn.name,
      triggerMetadata,
      logHandler: (level, ...args) => {
        const text = args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ");
        log(level === "error" || level === "critical" ? "error" : level === "warning" ? "warn" : level === "debug" || level === "trace" ? "debug" : "info", `${fn.name}: ${text}`);
      },
    });

  const invoke = async (fn: RegisteredFunction, input: unknown, context: InvocationContextType): Promise<unknown> => {
    running += 1;
    counters.invocations += 1;
    try {
      const timeout = hostJson.functionTimeout;
      const work = Promise.resolve(fn.handler(input, context));
      if (!timeout) return await work;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_r, reject) => {
        timer = setTimeout(() => { reject(new Error(`${fn.name} exceeded functionTimeout`)); }, timeout);
      });
      try {
        return await Promise.race([work, expired]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      running -= 1;
    }
  };

  // ---- HTTP ----
  const httpRoutes: HttpRoute[] = registered
    .filter((fn) => fn.trigger.type.toLowerCase() === "httptrigger")
    .map((fn) => ({
      fn,
      route: compileRoute(fn.trigger.route ?? fn.name),
      methods: (fn.trigger.methods ?? ["GET", "POST"]).map((m) => m.toUpperCase()),
      anonymous: (fn.trigger.authLevel ?? "anonymous").toLowerCase() === "anonymous",
    }));

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    // The Functions admin API for running a non-HTTP function now (as Core Tools and Azure offer with the master
    // key): `POST /admin/functions/{name}` runs a timer function, e.g. the sweeper, and answers 202 when it is done.
    const admin = /^\/admin\/functions\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (admin && (req.method ?? "").toUpperCase() === "POST") {
      const header = req.headers["x-functions-key"];
      if (!keyMatches(Array.isArray(header) ? (header[0] ?? null) : (header ?? null), options.functionKey)) { problem(res, 401, "Unauthorized", "A valid key is required (x-functions-key header)"); return; }
      const timer = timerFns.find((f) => f.name === admin[1]);
      if (!timer) { problem(res, 404, "Not found", `no timer function named ${admin[1] ?? ""}`); return; }
      await fireTimer(timer, false);
      res.writeHead(202).end();
      return;
    }
    if (!url.pathname.toLowerCase().startsWith(`${routePrefix}/`)) { problem(res, 404, "Not found"); return; }
    const routePath = url.pathname.slice(routePrefix.length);
    const candidates = httpRoutes.flatMap((r) => {
      const params = r.route.match(routePath);
      return params ? [{ r, params }] : [];
    });
    if (candidates.length === 0) { problem(res, 404, "Not found"); return; }
    const method = (req.method ?? "GET").toUpperCase();
    const hit = candidates.find((c) => c.r.methods.includes(method));
    if (!hit) { problem(res, 405, "Method not allowed"); return; }
    if (!hit.r.anonymous) {
      const header = req.headers["x-functions-key"];
      const given = url.searchParams.get("code") ?? (Array.isArray(header) ? header[0] : header) ?? null;
      if (!keyMatches(given, options.functionKey)) { problem(res, 401, "Unauthorized", "A valid function key is required (code query parameter or x-functions-key header)"); return; }
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const body = Buffer.concat(chunks);
    const request = new HttpRequest({
      method,
      url: url.href,
      headers,
      query,
      params: hit.params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    });
    let result: unknown;
    try {
      result = await invoke(hit.r.fn, request, makeContext(hit.r.fn));
    } catch (error) {
      counters.failures += 1;
      log("error", `${hit.r.fn.name}: unhandled ${error instanceof Error ? error.message : String(error)}`);
      problem(res, 500, "Internal error"); return;
    }
    await writeResponse(res, result);
  };

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      log("error", `http: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) problem(res, 500, "Internal error");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 7071, "127.0.0.1", () => { resolve(); });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  // ---- Queues ----
  const queueService = QueueServiceClient.fromConnectionString(options.storageConnectionString);
  const queueOpts = hostJson.extensions.queues;
  const minPoll = options.queue?.minPollMs ?? 100;
  const maxPoll = options.queue?.maxPollMs ?? queueOpts.maxPollingInterval;
  const retryDelaySeconds = Math.round((options.queue?.retryDelayMs ?? queueOpts.visibilityTimeout) / 1000);
  let stopping = false;
  const emptySeen = new Map<string, boolean>();
  const pollers: Promise<void>[] = [];
  const wakeups = new Set<() => void>();

  // Resolves at once when the host is stopping, so close() never waits for a poll interval.
  const sleep = (ms: number): Promise<void> =>
    stopping ? Promise.resolve() : new Promise((resolve) => {
      const done = (): void => { clearTimeout(t); wakeups.delete(done); resolve(); };
      const t = setTimeout(done, ms);
      wakeups.add(done);
    });

  const processMessage = async (fn: RegisteredFunction, queue: QueueClient, poison: QueueClient, m: { messageId: string; popReceipt: string; messageText: string; dequeueCount: number; insertedOn: Date; expiresOn: Date; nextVisibleOn: Date }): Promise<void> => {
    let input: unknown;
    let failed = false;
    try {
      const text = queueOpts.messageEncoding === "base64" ? decodeBase64Strict(m.messageText) : m.messageText;
      try {
        input = JSON.parse(text);
      } catch {
        input = text; // The worker hands non-JSON messages over as strings.
      }
      await invoke(fn, input, makeContext(fn, {
        id: m.messageId, dequeueCount: m.dequeueCount, insertionTime: m.insertedOn.toISOString(),
        expirationTime: m.expiresOn.toISOString(), nextVisibleTime: m.nextVisibleOn.toISOString(), popReceipt: m.popReceipt,
      }));
    } catch (error) {
      failed = true;
      counters.failures += 1;
      log("warn", `${fn.name}: attempt ${m.dequeueCount} of ${queueOpts.maxDequeueCount} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!failed) {
      await queue.deleteMessage(m.messageId, m.popReceipt);
      return;
    }
    if (m.dequeueCount >= queueOpts.maxDequeueCount) {
      await poison.createIfNotExists();
      await poison.sendMessage(m.messageText);
      await queue.deleteMessage(m.messageId, m.popReceipt);
      counters.poisoned += 1;
      log("warn", `${fn.name}: message ${m.messageId} moved to ${queue.name}-poison after ${m.dequeueCount} attempts`);
    } else {
      await queue.updateMessage(m.messageId, m.popReceipt, undefined, retryDelaySeconds);
    }
  };

  const poll = async (fn: RegisteredFunction): Promise<void> => {
    const name = fn.trigger.queueName;
    if (!name) return;
    const queue = queueService.getQueueClient(name);
    const poison = queueService.getQueueClient(`${name}-poison`);
    let delay = minPoll;
    let exists = false;
    while (!stopping) {
      try {
        // Once, and again after an error (a queue deleted or an emulator restarted): not before every receive.
        if (!exists) {
          await queue.createIfNotExists();
          exists = true;
        }
        // A received message stays invisible for the function timeout (as in Azure): if this process dies, it comes
        // back after that. Fault tests shorten it.
        const visibility = options.queue?.visibilitySeconds ?? Math.max(30, Math.ceil((hostJson.functionTimeout ?? 600_000) / 1000));
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: queueOpts.batchSize, visibilityTimeout: visibility });
        if (receivedMessageItems.length === 0) {
          emptySeen.set(name, true);
          await sleep(delay);
          delay = Math.min(maxPoll, delay * 2);
          continue;
        }
        emptySeen.set(name, false);
        delay = minPoll;
        await Promise.all(receivedMessageItems.map((m) => processMessage(fn, queue, poison, m)));
      } catch (error) {
        exists = false;
        log("warn", `${fn.name}: queue ${name} unavailable: ${error instanceof Error ? error.message : String(error)}`);
        emptySeen.set(name, false);
        await sleep(Math.min(maxPoll, 1000));
      }
    }
  };
  const queueFns = registered.filter((fn) => fn.trigger.type.toLowerCase() === "queuetrigger");
  for (const fn of queueFns) pollers.push(poll(fn));

  // ---- Timers ----
  const timerFns = registered.filter((fn) => fn.trigger.type.toLowerCase() === "timertrigger");
  const timerHandles = new Set<NodeJS.Timeout>();
  const fireTimer = async (fn: RegisteredFunction, isPastDue: boolean): Promise<void> => {
    try {
      await invoke(fn, { isPastDue, schedule: { adjustForDST: false }, scheduleStatus: {} }, makeContext(fn));
    } catch (error) {
      counters.failures += 1;
      log("warn", `${fn.name}: timer run failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const schedule = (fn: RegisteredFunction): void => {
    if (stopping || !fn.trigger.schedule) return;
    const next = CronExpressionParser.parse(fn.trigger.schedule, { tz: "UTC" }).next().getTime();
    const handle = setTimeout(() => {
      timerHandles.delete(handle);
      void fireTimer(fn, false).finally(() => { schedule(fn); });
    }, Math.max(0, next - Date.now()));
    timerHandles.add(handle);
  };
  if (options.timers !== false) {
    for (const fn of timerFns) {
      if (fn.trigger.runOnStartup) void fireTimer(fn, false);
      schedule(fn);
    }
  }

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    functions: registered,
    async runTimer(name) {
      const fn = timerFns.find((f) => f.name === name);
      if (!fn) throw new Error(`no timer function named ${name}`);
      await fireTimer(fn, false);
    },
    async idle(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const queueNames = queueFns.flatMap((f) => (f.trigger.queueName ? [f.trigger.queueName] : []));
      for (;;) {
        for (const wake of [...wakeups]) wake();
        let quiet = running === 0;
        for (const q of queueNames) {
          const props = await queueService.getQueueClient(q).getProperties().catch(() => undefined);
          if ((props?.approximateMessagesCount ?? 0) > 0 || emptySeen.get(q) !== true) quiet = false;
        }
        if (quiet && running === 0) return;
        if (Date.now() > deadline) throw new Error("local host did not become idle in time");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stats: () => ({ ...counters }),
    async close() {
      stopping = true;
      for (const h of timerHandles) clearTimeout(h);
      for (const wake of [...wakeups]) wake();
      await new Promise<void>((resolve) => { server.close(() => { resolve(); }); server.closeAllConnections(); });
      await Promise.all(pollers);
    },
  };
}

/** Functions fails a message that is not valid base64 (and poisons it after maxDequeueCount); so do we. */
function decodeBase64Strict(text: string): string {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw new Error("message is not valid base64");
  return Buffer.from(trimmed, "base64").toString("utf8");
}

async function writeResponse(res: ServerResponse, result: unknown): Promise<void> {
  const init: HttpResponseInit = result instanceof HttpResponse
    ? { status: result.status, headers: Object.fromEntries(result.headers), body: Buffer.from(await result.arrayBuffer()) }
    : ((result ?? {}));
  const headers: Record<string, string> = {};
  const given = init.headers;
  if (given) {
    const entries = given instanceof Headers ? [...given.entries()] : Array.isArray(given) ? given : Object.entries(given);
    for (const [k, v] of entries) headers[k.toLowerCase()] = v;
  }
  let body: Buffer | string = "";
  if (init.jsonBody !== undefined) {
    body = JSON.stringify(init.jsonBody);
    headers["content-type"] ??= "application/json";
  } else if (typeof init.body === "string") {
    body = init.body;
  } else if (init.body instanceof Uint8Array || Buffer.isBuffer(init.body)) {
    body = Buffer.from(init.body);
  } else if (init.body !== undefined && init.body !== null) {
    body = String(init.body as unknown);
  }
  res.writeHead(init.status ?? 200, headers);
  res.end(body);
}
