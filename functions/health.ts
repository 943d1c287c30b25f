import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { getHealth } from "../shared/app/getHealth.js";
import { answer } from "../shared/http/answer.js";
import { jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/health`: storage reachability and component heartbeats; 503 when storage is unreachable. */
export async function health(_request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async () => {
    const report = await getHealth(services);
    const unavailable = report.status === "unavailable";
    return jsonResponse(unavailable ? 503 : 200, report, unavailable ? { "retry-after": String(services.settings.BLINDWINDOW_RETRY_AFTER_SECONDS) } : {});
  });
}

app.http("health", {
  route: "health",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => health(request, context),
});
