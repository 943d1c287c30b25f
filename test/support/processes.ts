import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs a TypeScript entry point of the project with tsx, as the npm scripts do. */
export function spawnTs(entry: string, args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  // The child gets only what it needs: no storage or key from the test process leaks in by accident.
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG", "NODE_OPTIONS"]) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, entry), ...args], { cwd: repoRoot, env: { ...base, ...env } });
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTs(entry: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Finished> {
  const child = spawnTs(entry, args, env);
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Waits until the child printed a line matching `pattern` on stdout; returns everything printed so far. */
export function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => { reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${out}\n${err}`)); }, timeoutMs);
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        // Give the rest of the banner a moment to arrive.
        setTimeout(() => { resolve(out); }, 200);
      }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`exited with ${String(code)} before ${String(pattern)}:\n${out}\n${err}`)); });
  });
}
