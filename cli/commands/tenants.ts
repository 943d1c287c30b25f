import { readJsonFile } from "../readJsonFile.js";
import { createLogger } from "../../shared/adapters/logger.js";
import { importTenants, listTenants } from "../../shared/app/tenantRegistry.js";
import { retentionDays, type TenantProfile } from "../../shared/domain/tenant.js";
import { AppError } from "../../shared/errors.js";
import { CliError, type CliIo, type CommandRegistrar } from "../program.js";
import { withStorage } from "../storage.js";

/** Problems named on the one error line; `--json` prints them all. */
const PROBLEMS_SHOWN = 3;

/** One line: `N problems: a; b; c … (and K more)`. */
function problemLine(error: AppError): string {
  const problems = error.problems;
  if (problems.length === 0) return error.message;
  const shown = problems.slice(0, PROBLEMS_SHOWN).join("; ");
  const more = problems.length > PROBLEMS_SHOWN ? ` … (and ${problems.length - PROBLEMS_SHOWN} more; --json lists all)` : "";
  return `${problems.length} ${problems.length === 1 ? "problem" : "problems"}: ${shown}${more}`;
}


/** Turns a refused request into the CLI's one error line; with `--json` the full problem list goes to stdout. */
function failed(error: unknown, io: CliIo, json: boolean | undefined): never {
  if (!(error instanceof AppError)) throw error;
  if (json) io.out(JSON.stringify({ error: error.code, message: error.message, problems: error.problems }));
  throw new CliError(problemLine(error));
}

function table(profiles: TenantProfile[]): string {
  const rows = [
    ["TENANT", "NAME", "LICENCE", "RETENTION", "SUBSCRIPTIONS", "LOG SOURCES"],
    ...profiles.map((p) => [p.tenantId, p.name, p.licence, `${retentionDays(p.licence)} days`, String(p.subscriptions.length), p.logSources.join(",")]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join("  ")).join("\n");
}

/** `tenants import FILE [--json]` and `tenants list [--json]`: the tenant registry from the command line. */
export const registerTenants: CommandRegistrar = (program, io) => {
  const tenants = program.command("tenants").description("the tenant registry: import profiles, list tenants");

  tenants
    .command("import")
    .description("import tenant profiles (an array or { \"tenants\": [...] }); all are validated first, nothing is written if any is invalid")
    .argument("<file>", "JSON file with the profiles")
    .option("--json", "print the result as JSON only")
    .action(async (file: string, options: { json?: boolean }) => {
      const json = (await readJsonFile(file)).json;
      await withStorage(io, async (services) => {
        const logger = createLogger((_level, line) => { io.err(line); }, "warn");
        try {
          const result = await importTenants({ tenants: services.tenants, clock: services.clock, logger }, json);
          if (options.json) io.out(JSON.stringify(result));
          else io.out(`imported ${result.tenants} ${result.tenants === 1 ? "tenant" : "tenants"} (${result.subscriptions} ${result.subscriptions === 1 ? "subscription" : "subscriptions"})`);
        } catch (error) {
          failed(error, io, options.json);
        }
      });
    });

  tenants
    .command("list")
    .description("list registered tenants: id, name, licence, retention, subscriptions, log sources")
    .option("--json", "print the profiles as JSON only ({ \"tenants\": [...] }, which `tenants import` takes back)")
    .action(async (options: { json?: boolean }) => {
      await withStorage(io, async (services) => {
        try {
          const profiles = await listTenants({ tenants: services.tenants, clock: services.clock });
          if (options.json) io.out(JSON.stringify({ tenants: profiles }));
          else if (profiles.length === 0) io.out("no tenants registered (tenants import FILE adds them)");
          else io.out(table(profiles));
        } catch (error) {
          failed(error, io, options.json);
        }
      });
    });
};
