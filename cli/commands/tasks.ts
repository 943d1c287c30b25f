import { createLogger } from "../../shared/adapters/logger.js";
import { acknowledgeTask, completeTask, listTasks, type TaskView } from "../../shared/app/taskStatus.js";
import { AppError } from "../../shared/errors.js";
import { taskDeps } from "../../shared/taskRuntime.js";
import { CliError, type CliIo, type CommandRegistrar } from "../program.js";
import { withStorage } from "../storage.js";

/** A refused request as the CLI's one error line (`--json`: the problem list on stdout as well). */
function failed(error: unknown, io: CliIo, json: boolean | undefined): never {
  if (!(error instanceof AppError)) throw error;
  if (json) io.out(JSON.stringify({ error: error.code, message: error.message, problems: error.problems }));
  throw new CliError(error.problems.length > 0 ? `${error.message}: ${error.problems.join("; ")}` : error.message);
}

function deliveryText(t: TaskView): string {
  return t.deliveries.length === 0 ? "-" : t.deliveries.map((d) => `${d.channel}:${d.state}`).join(",");
}

function table(tasks: TaskView[]): string {
  const rows = [
    ["ID", "STATUS", "DUE", "TENANT", "TITLE", "DELIVERIES"],
    ...tasks.map((t) => [t.id, t.status, t.dueDate.slice(0, 16).replace("T", " "), t.tenantName, t.title.length > 70 ? `${t.title.slice(0, 69)}…` : t.title, deliveryText(t)]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join("  ")).join("\n");
}

/** `tasks list [--tenant ID] [--status S] [--json]`, `tasks ack ID --by WHO`, `tasks done ID --by WHO [--note TEXT]`. */
export const registerTasks: CommandRegistrar = (program, io) => {
  const tasks = program.command("tasks").description("tasks for the security team: list, acknowledge, finish");

  tasks
    .command("list")
    .description("list tasks, soonest due first, with their delivery states")
    .option("--tenant <id>", "only this tenant")
    .option("--status <status>", "open, acknowledged or done")
    .option("--json", "print JSON only")
    .action(async (options: { tenant?: string; status?: string; json?: boolean }) => {
      await withStorage(io, async (services) => {
        const query: Record<string, string> = {};
        if (options.tenant !== undefined) query.tenant = options.tenant;
        if (options.status !== undefined) query.status = options.status;
        let list: TaskView[];
        try {
          list = await listTasks(services, query);
        } catch (error) {
          failed(error, io, options.json);
        }
        if (options.json) io.out(JSON.stringify(list));
        else io.out(list.length === 0 ? "no tasks" : table(list));
      });
    });

  for (const [name, verb, run] of [
    ["ack", "acknowledge a task (records who and when)", acknowledgeTask],
    ["done", "mark a task done (records who and when)", completeTask],
  ] as const) {
    tasks
      .command(name)
      .description(verb)
      .argument("<id>", "task id ({tenant id}.{window id}, as `tasks list` prints it)")
      .requiredOption("--by <who>", "who (a name or e-mail address)")
      .option("--note <text>", "a note kept with the task (e.g. why it is dismissed)")
      .option("--json", "print JSON only")
      .action(async (id: string, options: { by: string; note?: string; json?: boolean }) => {
        await withStorage(io, async (services) => {
          const logger = createLogger((_level, line) => { io.err(line); }, "warn");
          try {
            const result = await run(taskDeps(services, logger), id, { by: options.by, ...(options.note === undefined ? {} : { note: options.note }) });
            if (options.json) io.out(JSON.stringify(result.task));
            else io.out(`${result.task.id} ${result.changed ? "is now" : "was already"} ${result.task.status}${result.task.status === "done" ? ` (by ${result.task.doneBy ?? "?"})` : ` (by ${result.task.acknowledgedBy ?? "?"})`}`);
          } catch (error) {
            failed(error, io, options.json);
          }
        });
      });
  }
};
