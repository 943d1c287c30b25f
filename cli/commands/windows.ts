import { listWindows } from "../../shared/app/queryLedger.js";
import { AppError } from "../../shared/errors.js";
import { CliError, type CommandRegistrar } from "../program.js";
import { withStorage } from "../storage.js";
import { textTable } from "../textTable.js";

/** `windows list [--tenant ID] [--status S] [--json]`: the blind-window ledger. */
export const registerWindows: CommandRegistrar = (program, io) => {
  const windows = program.command("windows").description("the blind-window ledger");
  windows
    .command("list")
    .description("list blind windows, soonest review deadline first")
    .option("--tenant <id>", "only this tenant")
    .option("--status <status>", "suspected, confirmed or resolved")
    .option("--json", "print JSON only")
    .action(async (options: { tenant?: string; status?: string; json?: boolean }) => {
      await withStorage(io, async (services) => {
        const query: Record<string, string> = {};
        if (options.tenant !== undefined) query.tenant = options.tenant;
        if (options.status !== undefined) query.status = options.status;
        let list;
        try {
          list = await listWindows(services, query);
        } catch (error) {
          if (error instanceof AppError) throw new CliError(`${error.message}: ${error.problems.join("; ")}`);
          throw error;
        }
        if (options.json) {
          io.out(JSON.stringify(list));
          return;
        }
        if (list.length === 0) {
          io.out("no blind windows");
          return;
        }
        const rows = list.map((w) => [w.tenantId, w.source, w.status, w.effect, w.start, w.end ?? "open", w.reviewDeadline, String(w.notices.length)]);
        const header = ["tenant", "source", "status", "effect", "start", "end", "review deadline", "notices"];
        io.out(textTable(header, rows));
      });
    });
};
