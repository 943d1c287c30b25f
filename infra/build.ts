/**
 * `npm run infra:build`: compiles and lints the Bicep offline, then checks that the app settings in
 * infra/app/api.bicep are the names shared/config.ts reads.
 *
 * Bicep comes from, in order: $BICEP_PATH, `bicep` on PATH, `az bicep`, or the pinned NuGet package
 * Azure.Bicep.CommandLine.<rid> restored with the dotnet CLI into .bicep/ (git-ignored; later runs reuse it).
 * Lint warnings count as errors: infra/bicepconfig.json raises the rules to `error`, and any remaining compiler
 * warning (BCPxxx) fails the build too.
 *
 * Options:
 *   --if-available   when no compiler can be had (no bicep, no `az bicep`, no dotnet, or the NuGet restore cannot
 *                    reach a package source), print `infra: skipped: <reason>` and exit 0 (`npm test` uses this).
 *                    Anything else that fails (a Bicep error, a lint warning, a settings mismatch) still fails.
 *   --dotnet PATH    the dotnet CLI to restore with (default `dotnet` on PATH).
 *   --cache-dir DIR  where the restored package is kept (default .bicep/ in the repository).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SETTING_NAMES } from "../shared/config.js";
import { NOT_IN_AZURE, PLATFORM_SETTINGS, bicepAppSettingNames, checkAppSettings } from "./settingsCheck.js";

/** Pinned compiler: the same rules in CI and on every machine. Bump deliberately. */
const BICEP_VERSION = "0.49.2";

const infraDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(infraDir);
const mainBicep = join(infraDir, "main.bicep");
const apiBicep = join(infraDir, "app", "api.bicep");

class BuildError extends Error {
  override readonly name = "BuildError";
}

/** No compiler can be had on this machine: the one failure `--if-available` turns into a skip. */
class CompilerUnavailable extends BuildError {}

function parseOptions(): { "if-available": boolean; dotnet: string; "cache-dir"?: string } {
  try {
    return parseArgs({
      options: {
        "if-available": { type: "boolean", default: false },
        dotnet: { type: "string", default: "dotnet" },
        "cache-dir": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`infra:build: ${error instanceof Error ? error.message : String(error)} (options: --if-available, --dotnet PATH, --cache-dir DIR)\n`);
    process.exit(2);
  }
}

const options = parseOptions();
const dotnet = options.dotnet;
const cacheDir = options["cache-dir"] === undefined ? join(repoRoot, ".bicep") : resolve(options["cache-dir"]);

/** How to run one Bicep verb on a file; `bicep` and `az bicep` spell their arguments differently. */
interface BicepRunner {
  describe: string;
  build(file: string): string[];
  lint(file: string): string[];
  command: string;
}

function log(message: string): void {
  process.stdout.write(`infra: ${message}\n`);
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

function works(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: "ignore" });
  return result.error === undefined && result.status === 0;
}

function standaloneRunner(command: string, describe: string): BicepRunner {
  return {
    command,
    describe,
    build: (file) => [command, "build", file, "--stdout"],
    lint: (file) => [command, "lint", file],
  };
}

/** NuGet runtime id of this machine; the package exists per platform (only linux-x64 is verified by CI). */
function runtimeId(): string {
  const os = { linux: "linux", darwin: "osx", win32: "win" }[process.platform as string];
  const arch = { x64: "x64", arm64: "arm64" }[process.arch as string];
  if (!os || !arch) throw new CompilerUnavailable(`no Bicep package for ${process.platform}/${process.arch}; install bicep and put it on PATH`);
  return `${os}-${arch}`;
}

function sdkTargetFramework(): string {
  let version: string;
  try {
    version = execFileSync(dotnet, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new CompilerUnavailable(`no bicep, az or ${dotnet === "dotnet" ? "dotnet" : `dotnet (${dotnet})`} found; install one of them (dotnet restores the pinned Bicep)`);
  }
  const major = /^(\d+)\./.exec(version)?.[1];
  if (!major) throw new BuildError(`unexpected dotnet --version output: ${version}`);
  return `net${major}.0`;
}

/** Restores the pinned Bicep package with the dotnet CLI unless it is already in .bicep/packages. */
function restoredBicep(): string {
  const rid = runtimeId();
  const packageId = `Azure.Bicep.CommandLine.${rid}`;
  const exe = process.platform === "win32" ? "bicep.exe" : "bicep";
  const packagesDir = join(cacheDir, "packages");
  const binary = join(packagesDir, packageId.toLowerCase(), BICEP_VERSION, "tools", exe);
  if (existsSync(binary)) {
    log(`using cached ${packageId} ${BICEP_VERSION} (${relative(repoRoot, binary)})`);
    return binary;
  }

  const targetFramework = sdkTargetFramework(); // first: without dotnet there is nothing to restore with
  const started = Date.now();
  log(`restoring ${packageId} ${BICEP_VERSION} from NuGet with the dotnet CLI (first run only)...`);
  const projectDir = join(cacheDir, "restore");
  mkdirSync(projectDir, { recursive: true });
  const project = join(projectDir, "BicepRestore.csproj");
  // A throwaway SDK project whose only job is PackageDownload: no build, no assets, exact version.
  writeFileSync(
    project,
    [
      '<Project Sdk="Microsoft.NET.Sdk">',
      "  <PropertyGroup>",
      `    <TargetFramework>${targetFramework}</TargetFramework>`,
      "  </PropertyGroup>",
      "  <ItemGroup>",
      `    <PackageDownload Include="${packageId}" Version="[${BICEP_VERSION}]" />`,
      "  </ItemGroup>",
      "</Project>",
      "",
    ].join("\n"),
  );
  const restore = spawnSync(dotnet, ["restore", project, "--packages", packagesDir, "--verbosity", "quiet"], {
    encoding: "utf8",
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1", DOTNET_SKIP_FIRST_TIME_EXPERIENCE: "1" },
  });
  if (restore.error !== undefined || restore.status !== 0) {
    const output = `${restore.stdout}${restore.stderr}`;
    // NU1301: "Unable to load the service index for source": no package source is reachable (offline, proxy).
    // Any other failure (package or version not found, a broken SDK) is a real error, not a missing compiler.
    const unreachable = /\bNU1301\b|Unable to load the service index/i.exec(output);
    if (unreachable) {
      const source = /for source (\S+)/.exec(output)?.[1] ?? "the NuGet package source";
      throw new CompilerUnavailable(`no bicep or az, and dotnet restore cannot reach ${source.replace(/[.:]$/, "")} (NU1301)`);
    }
    const detail = output.split("\n").find((l) => /error/i.test(l))?.trim();
    throw new BuildError(`dotnet restore of ${packageId} ${BICEP_VERSION} failed: ${detail ?? restore.error?.message ?? "see dotnet output"}`);
  }
  if (!existsSync(binary)) throw new BuildError(`restored ${packageId} but ${relative(repoRoot, binary)} is missing`);
  // NuGet extracts without the executable bit.
  if (process.platform !== "win32") chmodSync(binary, 0o755);
  log(`restored in ${elapsed(started)}`);
  return binary;
}

function findBicep(): BicepRunner {
  const fromEnv = process.env.BICEP_PATH;
  if (fromEnv) return standaloneRunner(fromEnv, `$BICEP_PATH (${fromEnv})`);
  if (works("bicep", ["--version"])) return standaloneRunner("bicep", "bicep on PATH");
  if (works("az", ["bicep", "version"])) {
    return {
      command: "az",
      describe: "az bicep",
      build: (file) => ["az", "bicep", "build", "--file", file, "--stdout"],
      lint: (file) => ["az", "bicep", "lint", "--file", file],
    };
  }
  return standaloneRunner(restoredBicep(), `NuGet package ${BICEP_VERSION}`);
}

/** Runs one Bicep step; fails on a non-zero exit and on any diagnostic, warnings included. */
function runStep(label: string, argv: string[]): void {
  const started = Date.now();
  const [command, ...args] = argv;
  if (command === undefined) throw new BuildError(`${label}: empty command`);
  const result = spawnSync(command, args, { encoding: "utf8", cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw new BuildError(`${label}: ${result.error.message}`);
  // `build --stdout` prints the ARM JSON on stdout; diagnostics are on stderr for both verbs.
  const diagnostics = result.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => / : (Warning|Error|Info) /.test(l));
  for (const line of diagnostics) process.stderr.write(`  ${line}\n`);
  if (result.status !== 0 || diagnostics.length > 0) {
    // "BCP104: The referenced module has errors" only points at the module; name the real problem instead.
    const first = diagnostics.find((l) => !l.includes("BCP104")) ?? diagnostics[0] ?? result.stderr.trim().split("\n")[0] ?? `exit code ${String(result.status)}`;
    throw new BuildError(`${label} failed (${diagnostics.length} diagnostic(s), warnings count as errors): ${first}`);
  }
  log(`${label}: ok (${elapsed(started)})`);
}

function checkSettings(): void {
  const bicepNames = bicepAppSettingNames(readFileSync(apiBicep, "utf8"));
  const problems = checkAppSettings({ bicepNames, configNames: SETTING_NAMES });
  for (const p of problems) process.stderr.write(`  ${p}\n`);
  if (problems.length > 0) throw new BuildError(`app settings differ from shared/config.ts: ${problems[0] ?? ""}`);
  const config = new Set<string>(SETTING_NAMES);
  log(`app settings: ok (${String(bicepNames.filter((n) => config.has(n)).length)} config names set, ` +
    `${String(Object.keys(PLATFORM_SETTINGS).length)} platform names, ` +
    `${String(Object.keys(NOT_IN_AZURE).length)} config names not used in Azure: ${Object.keys(NOT_IN_AZURE).join(", ")})`);
}

function main(): void {
  const started = Date.now();
  checkSettings();
  const bicep = findBicep();
  const version = spawnSync(bicep.command, bicep.command === "az" ? ["bicep", "version"] : ["--version"], { encoding: "utf8" });
  if (version.error !== undefined || version.status !== 0) {
    throw new BuildError(`cannot run ${bicep.describe}: ${version.error?.message ?? `exit code ${String(version.status)}`}`);
  }
  log(`bicep: ${bicep.describe}: ${version.stdout.trim().split("\n")[0] ?? "unknown version"}`);
  if (bicep.command !== "az" && !version.stdout.includes(BICEP_VERSION)) {
    log(`note: pinned version is ${BICEP_VERSION}; lint results may differ with another version`);
  }
  runStep("bicep build infra/main.bicep", bicep.build(mainBicep));
  runStep("bicep lint infra/main.bicep", bicep.lint(mainBicep));
  log(`done in ${elapsed(started)}`);
}

try {
  main();
} catch (error) {
  if (options["if-available"] && error instanceof CompilerUnavailable) {
    log(`skipped: ${error.message}`);
    process.exit(0);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`infra:build failed: ${message}\n`);
  process.exit(1);
}
