import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { acknowledgeTask, completeTask, listTasks } from "../shared/app/taskStatus.js";
import { answer } from "../shared/http/answer.js";
import { jsonResponse } from "../shared/http/problem.js";
import { readJsonBody } from "../shared/http/readJsonBody.js";
import { getServices, type Services } from "../shared/runtime.js";
import { taskDeps } from "../shared/taskRuntime.js";

/** Acknowledgements are a name and a short note: a small body limit. */
const MAX_ACTION_BYTES = 16 * 1024;

/** `GET /api/tasks?tenant=&status=`: tasks, soonest due first, with their delivery states. */
export async function tasksList(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async () => jsonResponse(200, { tasks: await listTasks(services, Object.fromEntries(request.query)) }));
}

/** `POST /api/tasks/{id}/ack` with `{ "by": "who" }`: records who acknowledged and when (200; again: unchanged). */
export async function taskAck(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (logger) => {
    const { json } = await readJsonBody(request, MAX_ACTION_BYTES);
    return jsonResponse(200, await acknowledgeTask(taskDeps(services, logger), request.params.id ?? "", json));
  });
}

/** `POST /api/tasks/{id}/done` with `{ "by": "who", "note"?: "why" }`: records who finished it and when. */
export async function taskDone(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return answer(context, services, async (logger) => {
    const { json } = await readJsonBody(request, MAX_ACTION_BYTES);
    return jsonResponse(200, await completeTask(taskDeps(services, logger), request.params.id ?? "", json));
  });
}

app.http("tasksList", {
  route: "tasks",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => tasksList(request, context),
});

app.http("taskAck", {
  route: "tasks/{id}/ack",
  methods: ["POST"],
  authLevel: "function",
  handler: (request, context) => taskAck(request, context),
});

app.http("taskDone", {
  route: "tasks/{id}/done",
  methods: ["POST"],
  authLevel: "function",
  handler: (request, context) => taskDone(request, context),
});
