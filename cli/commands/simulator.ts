/**
 * `blindwindow simulator`: serves the local Graph simulator (local/graphSimulator) until interrupted and prints the
 * seeded tenants with a bearer token for each; `--ground-truth FILE` writes the planted attacks as JSON.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError, type CliIo, type CommandRegistrar } from "../program.js";
import { startGraphSimulator, DEFAULT_SIMULATOR_NOW, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { simulatorToken } from "../../local/graphSimulator/simulatorToken.js";

interface SimulatorFlags {
  port: string;
  seed: string;
  users?: string;
  days?: string;
  now: string;
  timeScale?: string;
  throttling: boolean;
  latency?: string;
  groundTruth?: string;
  json?: boolean;
}

function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new CliError(`--${name} must be an integer from ${min} to ${max}`);
  return value;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** The command, with how it waits before shutting down injectable (tests stop it themselves). */
export function createSimulatorRegistrar(waitForStop: (sim: GraphSimulator) => Promise<void> = waitForSignal): CommandRegistrar {
  return (program: Command, io: CliIo) => {
    program
      .command("simulator")
      .description("serve the local Microsoft Graph simulator with seeded tenants and planted attacks")
      .option("--port <n>", "port on 127.0.0.1 (0 = any free port)", "0")
      .option("--seed <s>", "seed of the generated data", "1")
      .option("--users <n>", "users per tenant (default 25)")
      .option("--days <n>", "days of history before --now (default 30)")
      .option("--now <iso>", "simulator clock", DEFAULT_SIMULATOR_NOW)
      .option("--time-scale <x>", "divide Graph's throttling windows by x")
      .option("--no-throttling", "turn Graph's throttling limits off")
      .option("--latency <ms>", "latency added to every list page")
      .option("--ground-truth <file>", "write the planted attacks as JSON to this file")
      .option("--json", "print the tenants as JSON only")
      .action(async (flags: SimulatorFlags) => {
        const timeScale = flags.timeScale === undefined ? undefined : Number(flags.timeScale);
        if (timeScale !== undefined && !(timeScale > 0)) throw new CliError("--time-scale must be a positive number");
        if (Number.isNaN(Date.parse(flags.now))) throw new CliError("--now must be an ISO date-time");
        const sim = await startGraphSimulator({
          port: integer("port", flags.port, 0, 65535),
          seed: flags.seed,
          users: integer("users", flags.users, 2, 1_000_000),
          days: integer("days", flags.days, 1, 365),
          now: flags.now,
          timeScale,
          throttling: flags.throttling,
          latencyMs: integer("latency", flags.latency, 0, 60_000),
        });
        try {
          if (flags.groundTruth) await writeFile(flags.groundTruth, `${JSON.stringify(sim.groundTruth, null, 2)}\n`);
          const tenants = sim.tenants.map((t) => ({ ...t, token: simulatorToken(t.id), workflowUrl: sim.workflowUrl(t.id) }));
          if (flags.json) {
            io.out(JSON.stringify({ url: sim.url, now: sim.now(), tenants }, null, 2));
          } else {
            io.out(`Graph simulator on ${sim.url} (clock ${sim.now()}, seed ${flags.seed}); Ctrl+C stops it.`);
            for (const t of tenants) {
              io.out(`  ${t.id}  ${t.displayName} (${t.domain}), ${t.licence.toUpperCase()}, ${t.userCount} users, ${t.retentionDays} days retention`);
              io.out(`    Authorization: Bearer ${t.token}`);
            }
            io.out(`${sim.groundTruth.length} planted attacks${flags.groundTruth ? ` written to ${flags.groundTruth}` : ""}.`);
          }
          await waitForStop(sim);
        } finally {
          await sim.close();
        }
      });
  };
}

/** `blindwindow simulator --port N --seed S [--users U] [--days D] [--ground-truth FILE]` */
export const registerSimulator: CommandRegistrar = createSimulatorRegistrar();
