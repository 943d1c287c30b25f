/**
 * The Graph simulator in a process of its own, for benchmarks: the simulator's CPU (generating and serialising
 * pages) must not share an event loop with the client being measured. Options come as JSON in argv[2]; prints
 * `READY {"url":…,"tenants":[…]}` and serves until stdin closes or SIGTERM.
 */
import { startGraphSimulator, type GraphSimulatorOptions } from "../../local/graphSimulator/startGraphSimulator.js";

const options = JSON.parse(process.argv[2] ?? "{}") as GraphSimulatorOptions;
const sim = await startGraphSimulator(options);
process.stdout.write(`READY ${JSON.stringify({ url: sim.url, tenants: sim.tenants.map((t) => t.id) })}\n`);
const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
