import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { listWindows } from "../shared/app/queryLedger.js";
import { answer } from "../shared/http/answer.js";
import { jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/windows?tenant=&status=`: the blind-window ledger, soonest review deadline first. */
export async function windowsList(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async () => jsonResponse(200, { windows: await listWindows(services, Object.fromEntries(request.query)) }));
}

app.http("windowsList", {
  route: "windows",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => windowsList(request, context),
});
