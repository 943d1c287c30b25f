import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/processes.js";

const outDir = path.join(repoRoot, "dist-test");

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe("the compiled app (what `func start` and a zip deploy run)", () => {
  it("compiles every function file to where package.json main points, and the compiled files register the same functions", () => {
    rmSync(outDir, { recursive: true, force: true });
    execFileSync(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", outDir], { cwd: repoRoot });
    const main = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { main: string }).main;
    expect(main).toBe("dist/functions/*.js");
    const sources = readdirSync(path.join(repoRoot, "functions")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ".js")).sort();
    const compiled = readdirSync(path.join(outDir, "functions")).filter((f) => f.endsWith(".js")).sort();
    expect(compiled).toEqual(sources);
    // Load the compiled modules under plain Node ESM (no tsx, no vitest) through the functions-core shim.
    const script = `
      const { installFunctionsCore, registeredFunctions } = await import(${JSON.stringify(path.join(outDir, "local", "functionRegistry.js"))});
      installFunctionsCore();
      for (const f of ${JSON.stringify(compiled)}) await import(${JSON.stringify(path.join(outDir, "functions"))} + "/" + f);
      process.stdout.write(JSON.stringify(registeredFunctions().map((f) => [f.name, f.trigger.type])));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" });
    const registered = JSON.parse(out) as [string, string][];
    expect(registered.map(([name]) => name)).toEqual(expect.arrayContaining(["noticeWebhook", "noticeSubmit", "noticeProcess", "health", "sweeper", "serviceHealthPoll"]));
    expect(registered.length).toBeGreaterThanOrEqual(compiled.length);
  });
});
