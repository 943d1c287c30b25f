import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { getTenant, importTenants, listTenants, putTenant, type TenantRegistryDeps } from "../shared/app/tenantRegistry.js";
import { answer as answerHttp } from "../shared/http/answer.js";
import { jsonResponse } from "../shared/http/problem.js";
import { readJsonBody } from "../shared/http/readJsonBody.js";
import { getServices, type Services } from "../shared/runtime.js";

/** A bulk import of a few thousand profiles; single profiles keep the default intake limit. */
const MAX_IMPORT_BYTES = 4 * 1024 * 1024;

/** Runs one registry call with the registry's dependencies; errors are answered by the shared HTTP edge. */
function answer(context: InvocationContext, services: Services, call: (deps: TenantRegistryDeps) => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  return answerHttp(context, services, (logger) => call({ tenants: services.tenants, clock: services.clock, logger }));
}

/** `GET /api/tenants`: every registered tenant, as `{ "tenants": [...] }` (the shape `PUT /api/tenants` takes back). */
export async function tenantsList(_request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (deps) => jsonResponse(200, { tenants: await listTenants(deps) }));
}

/** `GET /api/tenants/{id}`: one tenant's profile; 404 for an unknown tenant. */
export async function tenantGet(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (deps) => jsonResponse(200, await getTenant(deps, request.params.id ?? "")));
}

/** `PUT /api/tenants/{id}`: creates (201) or replaces (200) one tenant. */
export async function tenantPut(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (deps) => {
    const { json } = await readJsonBody(request);
    const { profile, created } = await putTenant(deps, request.params.id ?? "", json);
    return jsonResponse(created ? 201 : 200, profile);
  });
}

/** `PUT /api/tenants`: bulk import (an array of profiles or `{ "tenants": [...] }`), all or nothing. */
export async function tenantsImport(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (deps) => {
    const { json } = await readJsonBody(request, MAX_IMPORT_BYTES);
    return jsonResponse(200, await importTenants(deps, json));
  });
}

app.http("tenantsList", {
  route: "tenants",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => tenantsList(request, context),
});

app.http("tenantsImport", {
  route: "tenants",
  methods: ["PUT"],
  authLevel: "function",
  handler: (request, context) => tenantsImport(request, context),
});

app.http("tenantGet", {
  route: "tenants/{id}",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => tenantGet(request, context),
});

app.http("tenantPut", {
  route: "tenants/{id}",
  methods: ["PUT"],
  authLevel: "function",
  handler: (request, context) => tenantPut(request, context),
});
