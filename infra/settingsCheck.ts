/**
 * Keeps infra/app/api.bicep and shared/config.ts in step (DESIGN.md: "shared/config.ts and the Bicep app settings
 * list the same names"). Pure: text in, names and problems out, so the unit test runs it without Bicep.
 */

/**
 * Settings the Bicep sets for the platform, not for our config: the Functions host and the Application Insights
 * agent read them. Every Bicep setting that is not a config name must be listed here, and every entry here must be
 * set by the Bicep, so the list cannot go stale.
 */
export const PLATFORM_SETTINGS: Readonly<Record<string, string>> = {
  AzureWebJobsStorage__credential: "identity-based host storage: 'managedidentity' (with __clientId)",
  APPLICATIONINSIGHTS_CONNECTION_STRING: "where the host and worker send telemetry",
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Entra auth for telemetry (the component has local auth disabled)",
};

/**
 * Config names the Bicep intentionally does not set in Azure, each with the reason. Every config name must be set
 * by the Bicep or be listed here; a listed name must not also be set, and must still exist in config.
 */
export const NOT_IN_AZURE: Readonly<Record<string, string>> = {
  AzureWebJobsStorage:
    "connection string; the account has shared keys disabled, Azure uses identity-based AzureWebJobsStorage__* instead",
  BLINDWINDOW_FUNCTION_KEY: "local host only; in Azure the Functions runtime manages its own keys",
  BLINDWINDOW_WEBHOOK_JWKS_URL: "override for tests and sovereign clouds; Azure uses the tenant's Entra discovery keys",
  BLINDWINDOW_GRAPH_CERTIFICATE_PATH:
    "a PEM file on disk for local runs; Azure uses the federated identity or the Key Vault secret",
  BLINDWINDOW_GRAPH_BASE_URL: "local Graph simulator only; Azure talks to https://graph.microsoft.com",
};

export class SettingsParseError extends Error {
  override readonly name = "SettingsParseError";
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * Returns the app-setting names declared in `var appSettings = ...` of a Bicep file: every property key of the
 * object literals in that expression (plain objects, `union(...)` of objects, `cond ? {...} : {...}`). Values must
 * be scalars: a nested object literal is an error, because its keys would not be settings.
 */
export function bicepAppSettingNames(bicepText: string): string[] {
  const start = /^var\s+appSettings\s*=/m.exec(bicepText);
  if (!start) throw new SettingsParseError("no `var appSettings = ...` declaration found");
  if (!/name:\s*'appsettings'\s*\n\s*properties:\s*appSettings\b/.test(bicepText)) {
    throw new SettingsParseError("the 'appsettings' config resource must use `properties: appSettings`");
  }

  const text = bicepText;
  const names: string[] = [];
  const stack: string[] = [];
  let expectKey = false;
  let seenToken = false;
  let i = start.index + start[0].length;

  const skipString = (from: number): number => {
    // Bicep strings: '...' with backslash escapes and ${...} interpolation, or '''...''' verbatim.
    if (text.startsWith("'''", from)) {
      const end = text.indexOf("'''", from + 3);
      if (end < 0) throw new SettingsParseError("unterminated multi-line string");
      return end + 3;
    }
    let j = from + 1;
    while (j < text.length) {
      const c = text[j];
      if (c === "\\") j += 2;
      else if (c === "'") return j + 1;
      else if (c === "$" && text[j + 1] === "{") j = skipInterpolation(j + 2);
      else j += 1;
    }
    throw new SettingsParseError("unterminated string");
  };
  const skipInterpolation = (from: number): number => {
    let depth = 1;
    let j = from;
    while (j < text.length) {
      const c = text[j];
      if (c === "'") j = skipString(j);
      else {
        if (c === "{") depth += 1;
        if (c === "}" && --depth === 0) return j + 1;
        j += 1;
      }
    }
    throw new SettingsParseError("unterminated interpolation");
  };

  while (i < text.length) {
    const c = text.charAt(i);
    if (c === "/" && text[i + 1] === "/") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SettingsParseError("unterminated comment");
      i = end + 2;
      continue;
    }
    if (c === "\n") {
      if (stack.length === 0 && seenToken) break;
      if (stack.at(-1) === "{") expectKey = true;
      i += 1;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i += 1;
      continue;
    }
    seenToken = true;

    if (expectKey && (c === "'" || /[A-Za-z_]/.test(c))) {
      let key: string;
      if (c === "'") {
        const end = skipString(i);
        key = text.slice(i + 1, end - 1);
        if (key.includes("${")) throw new SettingsParseError(`computed setting name '${key}' cannot be checked`);
        i = end;
      } else {
        IDENT.lastIndex = i;
        const m = IDENT.exec(text);
        key = m?.[0] ?? "";
        i += key.length;
      }
      const colon = /\s*:/y;
      colon.lastIndex = i;
      if (!colon.test(text)) throw new SettingsParseError(`expected ':' after setting name ${key}`);
      i = colon.lastIndex;
      names.push(key);
      expectKey = false;
      continue;
    }
    expectKey = false;

    if (c === "'") {
      i = skipString(i);
      continue;
    }
    if (c === "{") {
      if (stack.includes("{")) throw new SettingsParseError("app setting values must be scalars, not objects");
      stack.push(c);
      expectKey = true;
    } else if (c === "(" || c === "[") {
      stack.push(c);
    } else if (c === "}" || c === ")" || c === "]") {
      const open = stack.pop();
      const pairs: Record<string, string> = { "}": "{", ")": "(", "]": "[" };
      if (open !== pairs[c]) throw new SettingsParseError(`unbalanced '${c}' in appSettings`);
    } else if (c === "," && stack.at(-1) === "{") {
      expectKey = true;
    }
    i += 1;
  }
  if (stack.length > 0) throw new SettingsParseError("appSettings expression is not closed");
  if (names.length === 0) throw new SettingsParseError("appSettings declares no settings");
  return names;
}

export interface SettingsCheckInput {
  /** Names the Bicep sets (from bicepAppSettingNames). */
  bicepNames: readonly string[];
  /** Names shared/config.ts reads (SETTING_NAMES). */
  configNames: readonly string[];
  platformSettings?: Readonly<Record<string, string>>;
  notInAzure?: Readonly<Record<string, string>>;
}

/** Every way the Bicep and config can disagree, one sentence each; empty means they agree. */
export function checkAppSettings(input: SettingsCheckInput): string[] {
  const platform = input.platformSettings ?? PLATFORM_SETTINGS;
  const notInAzure = input.notInAzure ?? NOT_IN_AZURE;
  const config = new Set(input.configNames);
  const bicep = new Set(input.bicepNames);
  const problems: string[] = [];

  const duplicates = input.bicepNames.filter((n, idx) => input.bicepNames.indexOf(n) !== idx);
  for (const name of new Set(duplicates)) problems.push(`${name} is set more than once in api.bicep`);

  for (const name of bicep) {
    if (!config.has(name) && !(name in platform)) {
      problems.push(`${name} is set in api.bicep but is neither read by shared/config.ts nor a listed platform setting`);
    }
  }
  for (const name of config) {
    if (!bicep.has(name) && !(name in notInAzure)) {
      problems.push(`${name} is read by shared/config.ts but api.bicep does not set it (set it, or list it in NOT_IN_AZURE with the reason)`);
    }
    if (bicep.has(name) && name in notInAzure) {
      problems.push(`${name} is listed in NOT_IN_AZURE but api.bicep sets it`);
    }
    if (name in platform) problems.push(`${name} is a config name and must not be listed as a platform setting`);
  }
  for (const name of Object.keys(notInAzure)) {
    if (!config.has(name)) problems.push(`${name} is listed in NOT_IN_AZURE but shared/config.ts no longer reads it`);
  }
  for (const name of Object.keys(platform)) {
    if (!bicep.has(name)) problems.push(`${name} is listed as a platform setting but api.bicep does not set it`);
  }
  return problems;
}

/**
 * Returns the setting names of the README's `## Settings` table: the backticked names in the first column of the
 * first table under that heading. A cell may list several names; one written as `__x` is shorthand for the previous
 * full name in the same cell with its last `__` part replaced (`AzureWebJobsStorage__tableServiceUri`,
 * `__queueServiceUri` → `AzureWebJobsStorage__queueServiceUri`). Pure: text in, names out.
 */
export function readmeSettingNames(markdown: string, heading = "## Settings"): string[] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new SettingsParseError(`no '${heading}' heading found`);
  const section: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,2} /.test(line)) break; // the next section of the same or a higher level
    section.push(line);
  }
  const tableStart = section.findIndex((l) => l.trimStart().startsWith("|"));
  if (tableStart < 0) throw new SettingsParseError(`no table under '${heading}'`);
  const rows: string[] = [];
  for (const line of section.slice(tableStart)) {
    if (!line.trimStart().startsWith("|")) break;
    rows.push(line.trim());
  }
  const [, separator, ...body] = rows;
  if (separator === undefined || !/^\|(\s*:?-+:?\s*\|)+$/.test(separator)) {
    throw new SettingsParseError(`the table under '${heading}' has no header separator row`);
  }

  const names: string[] = [];
  for (const row of body) {
    const firstCell = row.slice(1).split("|")[0] ?? "";
    const inCell = [...firstCell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? "").trim());
    if (inCell.length === 0) throw new SettingsParseError(`settings table row names no setting: ${row}`);
    let previous: string | undefined;
    for (const written of inCell) {
      let name = written;
      if (written.startsWith("__")) {
        const cut = previous?.lastIndexOf("__") ?? -1;
        if (previous === undefined || cut <= 0) {
          throw new SettingsParseError(`'${written}' abbreviates a name, but no full name precedes it in: ${firstCell.trim()}`);
        }
        name = previous.slice(0, cut) + written;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SettingsParseError(`'${written}' is not a setting name`);
      names.push(name);
      previous = name;
    }
  }
  if (names.length === 0) throw new SettingsParseError(`the table under '${heading}' lists no settings`);
  return names;
}

export interface ReadmeCheckInput {
  /** Names the README's settings table documents (from readmeSettingNames). */
  readmeNames: readonly string[];
  /** Names shared/config.ts reads (SETTING_NAMES). */
  configNames: readonly string[];
  /** Names the Bicep sets (from bicepAppSettingNames); each must be documented or a listed platform setting. */
  bicepNames?: readonly string[];
  platformSettings?: Readonly<Record<string, string>>;
}

/** Every way the README's settings table disagrees with config (and the Bicep), one sentence each; empty = agree. */
export function checkReadmeSettings(input: ReadmeCheckInput): string[] {
  const platform = input.platformSettings ?? PLATFORM_SETTINGS;
  const readme = new Set(input.readmeNames);
  const config = new Set(input.configNames);
  const problems: string[] = [];
  const duplicates = input.readmeNames.filter((n, idx) => input.readmeNames.indexOf(n) !== idx);
  for (const name of new Set(duplicates)) problems.push(`${name} is listed more than once in the README's settings table`);
  for (const name of config) {
    if (!readme.has(name)) problems.push(`${name} is read by shared/config.ts but missing from the README's settings table`);
  }
  for (const name of readme) {
    if (!config.has(name)) problems.push(`${name} is in the README's settings table but shared/config.ts does not read it`);
  }
  for (const name of new Set(input.bicepNames ?? [])) {
    if (!readme.has(name) && !(name in platform)) {
      problems.push(`${name} is set in api.bicep but is neither in the README's settings table nor a listed platform setting`);
    }
  }
  return problems;
}
