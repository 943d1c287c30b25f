import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { listNotices } from "../shared/app/queryLedger.js";
import { answer } from "../shared/http/answer.js";
import { jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/notices?unmatched=true`: stored notices and what processing made of them. */
export async function noticesList(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async () => jsonResponse(200, { notices: await listNotices(services, Object.fromEntries(request.query)) }));
}

app.http("noticesList", {
  route: "notices",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => noticesList(request, context),
});
