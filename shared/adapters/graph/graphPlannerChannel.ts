import { z } from "zod";
import { ChannelError, type PlannerDetails, type PlannerPort, type PlannerTaskFields } from "../../app/taskPorts.js";
import type { GraphClientFactory } from "./graphClientFactory.js";
import { GraphRequestError } from "./graphErrors.js";

/**
 * Planner through Graph (https://learn.microsoft.com/graph/api/resources/planner-overview): tasks are created with
 * `POST /planner/tasks`; every PATCH needs `If-Match` with the resource's current `@odata.etag` and gets 412 when
 * someone changed it meanwhile, so updates read the resource, write, and on 412 read again (bounded).
 */

const EtagSchema = z.looseObject({ "@odata.etag": z.string() });
const DetailsSchema = z.looseObject({ "@odata.etag": z.string(), checklist: z.record(z.string(), z.unknown()).nullish() });
const CreatedSchema = z.looseObject({ id: z.string().min(1) });
const ListedSchema = z.looseObject({ id: z.string(), title: z.string().nullish() });

/** Planner keeps a task's notes (details `description`) reasonably short; the e-mail carries everything. */
const MAX_DESCRIPTION_CHARS = 30_000;

function pathId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new ChannelError("planner-invalid-id", "not a Planner id", false);
  return id;
}

/** Graph failures as channel errors: throttling and outages are retried later; anything else is a reason to poison. */
export function channelErrorFromGraph(error: unknown, what: string): unknown {
  if (error instanceof GraphRequestError) {
    return new ChannelError(error.code, `${what}: ${error.message}`, error.retryable);
  }
  return error;
}

export class GraphPlannerChannel implements PlannerPort {
  constructor(private readonly graph: GraphClientFactory, private readonly maxPreconditionRetries = 3) {}

  async findTaskByMarker(tenantId: string, planId: string, marker: string): Promise<string | undefined> {
    try {
      for await (const page of this.graph(tenantId).pages(`/planner/plans/${pathId(planId)}/tasks`, { item: ListedSchema })) {
        const hit = page.items.find((t) => (t.title ?? "").includes(marker));
        if (hit) return hit.id;
      }
      return undefined;
    } catch (error) {
      throw channelErrorFromGraph(error, "Planner task lookup");
    }
  }

  async createTask(tenantId: string, fields: PlannerTaskFields): Promise<string> {
    try {
      const result = await this.graph(tenantId).send("POST", "/planner/tasks", {
        planId: fields.planId,
        bucketId: fields.bucketId,
        title: fields.title,
        dueDateTime: fields.dueDateTime,
        ...(fields.percentComplete > 0 ? { percentComplete: fields.percentComplete } : {}),
      });
      const created = CreatedSchema.safeParse(result.body);
      if (!created.success) throw new ChannelError("planner-invalid-response", "Planner created a task but sent no id", true);
      return created.data.id;
    } catch (error) {
      throw channelErrorFromGraph(error, "Planner task create");
    }
  }

  async updateTask(tenantId: string, plannerTaskId: string, fields: Omit<PlannerTaskFields, "planId" | "bucketId"> | undefined, details: PlannerDetails): Promise<"updated" | "not-found"> {
    const id = pathId(plannerTaskId);
    try {
      if (fields) {
        const outcome = await this.patchWithEtag(tenantId, `/planner/tasks/${id}`, EtagSchema, () => ({
          title: fields.title,
          dueDateTime: fields.dueDateTime,
          percentComplete: fields.percentComplete,
        }));
        if (outcome === "not-found") return outcome;
      }
      return await this.patchWithEtag(tenantId, `/planner/tasks/${id}/details`, DetailsSchema, (current) => {
        const present = new Set(Object.keys(current.checklist ?? {}));
        const checklist: Record<string, unknown> = {};
        for (const item of details.checklist) {
          checklist[item.id] = {
            "@odata.type": "microsoft.graph.plannerChecklistItem",
            title: item.title,
            // A person's tick stays: isChecked is only written when the item is new to Planner.
            ...(item.isNew || !present.has(item.id) ? { isChecked: false } : {}),
          };
        }
        for (const gone of details.remove) if (present.has(gone)) checklist[gone] = null;
        return { description: details.description.slice(0, MAX_DESCRIPTION_CHARS), previewType: "checklist", checklist };
      });
    } catch (error) {
      throw channelErrorFromGraph(error, "Planner task update");
    }
  }

  /** GET for the ETag, PATCH with If-Match; on 412 read again, at most `maxPreconditionRetries` more times. */
  private async patchWithEtag<S extends z.ZodType<{ "@odata.etag": string }>>(tenantId: string, path: string, schema: S, body: (current: z.infer<S>) => Record<string, unknown>): Promise<"updated" | "not-found"> {
    const api = this.graph(tenantId);
    for (let attempt = 0; ; attempt++) {
      let current: z.infer<S>;
      try {
        current = schema.parse(await api.get(path));
      } catch (error) {
        if (error instanceof GraphRequestError && error.graphStatus === 404) return "not-found";
        if (error instanceof z.ZodError) throw new ChannelError("planner-invalid-response", `Planner sent ${path} without an ETag`, true);
        throw error;
      }
      try {
        await api.send("PATCH", path, body(current), { headers: { "If-Match": current["@odata.etag"] } });
        return "updated";
      } catch (error) {
        if (error instanceof GraphRequestError && error.graphStatus === 404) return "not-found";
        const stale = error instanceof GraphRequestError && error.graphStatus === 412;
        if (!stale) throw error;
        if (attempt >= this.maxPreconditionRetries) {
          throw new ChannelError("planner-conflict", `Planner kept changing ${path.endsWith("/details") ? "the task details" : "the task"} (412 after ${String(attempt + 1)} attempts)`, true);
        }
      }
    }
  }
}
