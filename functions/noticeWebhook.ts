import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { normaliseAzureMonitorAlert } from "../shared/domain/azureMonitorNotice.js";
import { handleNoticeIntake } from "../shared/http/intake.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `POST /api/notices/azure-monitor`: Service Health alerts from an action group (common or legacy schema). */
export async function noticeWebhook(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return handleNoticeIntake(request, context, services, (json) => normaliseAzureMonitorAlert(json));
}

app.http("noticeWebhook", {
  route: "notices/azure-monitor",
  methods: ["POST"],
  authLevel: "function",
  handler: (request, context) => noticeWebhook(request, context),
});
