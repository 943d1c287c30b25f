/**
 * Storage requests made by this process to a stack's Azurite, seen through node:http's diagnostics channels — the
 * code under test is not touched. Used by the intake and request-count benchmarks.
 */
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest, IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import type { AzuriteService } from "../../local/azurite.js";

export interface StorageCall {
  service: string;
  /** "table POST $batch", "table GET Notices(key)", "queue POST notices/messages", "queue DELETE notices/messages/(id)". */
  kind: string;
  status: number | undefined;
  ms: number;
}

/** A readable name for a storage request: service, method, resource with keys and message ids elided. */
export function describeCall(service: string, method: string, path: string): string {
  const [rawResource = "", query = ""] = path.split("?");
  let resource = rawResource.split("/").slice(2).join("/");
  const entity = /^([^(]+)\(.+\)$/.exec(resource);
  if (entity) resource = `${entity[1] ?? ""}(key)`;
  resource = resource.replace(/\/messages\/[^/]+$/, "/messages/(id)");
  const comp = /(?:^|&)comp=([^&]+)/.exec(query)?.[1];
  return `${service} ${method} ${resource}${comp ? `?comp=${comp}` : ""}`;
}

export class StorageCallCounter {
  private readonly started = new WeakMap<ClientRequest, { at: number; service: string; kind: string }>();
  private calls: StorageCall[] = [];
  private readonly services: Map<string, string>;
  private readonly onStart = (message: unknown): void => {
    const { request } = message as { request: ClientRequest };
    const service = this.services.get(String(request.getHeader("host")));
    if (service) this.started.set(request, { at: performance.now(), service, kind: describeCall(service, request.method, request.path) });
  };
  private readonly onFinish = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const start = this.started.get(request);
    if (!start) return;
    this.started.delete(request);
    this.calls.push({ service: start.service, kind: start.kind, status: response.statusCode, ms: performance.now() - start.at });
  };

  constructor(azurite: { port(service: AzuriteService): number }) {
    this.services = new Map((["table", "queue", "blob"] as const).map((s) => [`127.0.0.1:${azurite.port(s)}`, s]));
    diagnostics.subscribe("http.client.request.start", this.onStart);
    diagnostics.subscribe("http.client.response.finish", this.onFinish);
  }

  /** Calls completed since the last take (a call in flight at the boundary lands in the next window). */
  take(): StorageCall[] {
    const out = this.calls;
    this.calls = [];
    return out;
  }

  close(): void {
    diagnostics.unsubscribe("http.client.request.start", this.onStart);
    diagnostics.unsubscribe("http.client.response.finish", this.onFinish);
  }
}
