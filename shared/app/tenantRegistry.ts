import { parseTenantImport, parseTenantProfile, type TenantProfile } from "../domain/tenant.js";
import { AppError, NotFoundError, ValidationError } from "../errors.js";
import type { Clock, Logger, TenantStore } from "./ports.js";

export interface TenantRegistryDeps {
  tenants: TenantStore;
  clock: Clock;
  logger?: Logger;
}

export interface ImportTenantsResult {
  tenants: number;
  subscriptions: number;
  tenantIds: string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A subscription the registry already gives to another tenant: 409, naming that tenant. */
class SubscriptionConflictError extends AppError {
  override readonly name = "SubscriptionConflictError";
  constructor(problems: string[]) {
    super("conflict", 409, "Subscriptions belong to other tenants", { retryable: false, problems });
  }
}

function tenantIdFromPath(id: string): string {
  if (!GUID.test(id.trim())) throw new ValidationError("The tenant id is not valid", [`id: must be a tenant id (GUID), got "${id.slice(0, 64)}"`]);
  return id.trim().toLowerCase();
}

/**
 * Subscriptions the registry gives to a tenant outside this write. A subscription may move between two tenants
 * written together (the old owner no longer lists it), and an index row left stale by an interrupted write (its
 * owner's profile no longer lists it) is no conflict. Anything else is refused, naming the owner: moving a
 * subscription is done by writing both tenants.
 */
async function subscriptionConflicts(deps: TenantRegistryDeps, profiles: TenantProfile[], where: (index: number) => string): Promise<string[]> {
  const writing = new Set(profiles.map((p) => p.tenantId));
  const owners = await deps.tenants.tenantsForSubscriptions(profiles.flatMap((p) => p.subscriptions));
  const problems: string[] = [];
  const ownerProfiles = new Map<string, TenantProfile | undefined>();
  for (const [i, profile] of profiles.entries()) {
    for (const [j, subscription] of profile.subscriptions.entries()) {
      const owner = owners.get(subscription);
      if (owner === undefined || owner === profile.tenantId || writing.has(owner)) continue;
      if (!ownerProfiles.has(owner)) ownerProfiles.set(owner, await deps.tenants.get(owner));
      const current = ownerProfiles.get(owner);
      if (!current?.subscriptions.includes(subscription)) continue;
      problems.push(`${where(i)}subscriptions.${j}: subscription ${subscription} belongs to tenant ${owner} (${current.name}); remove it there first`);
    }
  }
  return problems;
}

/**
 * Imports tenant profiles (an array, or `{ "tenants": [...] }`): all are validated first and the whole import is
 * refused, writing nothing, when any problem is found (ValidationError listing each as `tenants.3.contacts.emails.0:
 * …`); subscriptions owned by a tenant outside the import are refused too (409). Upserts: re-importing a file is
 * harmless, and a tenant's subscription index follows its new profile.
 */
export async function importTenants(deps: TenantRegistryDeps, json: unknown): Promise<ImportTenantsResult> {
  const parsed = parseTenantImport(json);
  if (!parsed.ok) throw new ValidationError("The tenant import is not valid", parsed.errors);
  const profiles = parsed.value;
  const conflicts = await subscriptionConflicts(deps, profiles, (i) => `tenants.${i}.`);
  if (conflicts.length > 0) throw new SubscriptionConflictError(conflicts);
  await deps.tenants.putMany(profiles, deps.clock.now());
  const result = {
    tenants: profiles.length,
    subscriptions: profiles.reduce((n, p) => n + p.subscriptions.length, 0),
    tenantIds: profiles.map((p) => p.tenantId),
  };
  deps.logger?.info("tenants imported", { tenants: result.tenants, subscriptions: result.subscriptions });
  return result;
}

/**
 * Creates or replaces one tenant. The body's `tenantId` must equal the id in the path, or be omitted.
 * Returns the stored profile and whether the tenant is new.
 */
export async function putTenant(deps: TenantRegistryDeps, tenantId: string, json: unknown): Promise<{ profile: TenantProfile; created: boolean }> {
  const id = tenantIdFromPath(tenantId);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ValidationError("The tenant profile is not valid", ["(root): expected a tenant profile object"]);
  }
  const body = json as Record<string, unknown>;
  if (body.tenantId !== undefined && (typeof body.tenantId !== "string" || body.tenantId.trim().toLowerCase() !== id)) {
    throw new ValidationError("The tenant profile is not valid", [`tenantId: must equal the tenant id in the path (${id}) or be omitted`]);
  }
  const parsed = parseTenantProfile({ ...body, tenantId: id });
  if (!parsed.ok) throw new ValidationError("The tenant profile is not valid", parsed.errors);
  const profile = parsed.value;
  const conflicts = await subscriptionConflicts(deps, [profile], () => "");
  if (conflicts.length > 0) throw new SubscriptionConflictError(conflicts);
  const created = (await deps.tenants.get(id)) === undefined;
  await deps.tenants.putMany([profile], deps.clock.now());
  deps.logger?.info(created ? "tenant created" : "tenant updated", { tenant: id });
  return { profile, created };
}

/** One tenant's profile; NotFoundError (404) for an unknown tenant. */
export async function getTenant(deps: TenantRegistryDeps, tenantId: string): Promise<TenantProfile> {
  const id = tenantIdFromPath(tenantId);
  const profile = await deps.tenants.get(id);
  if (!profile) throw new NotFoundError(`No tenant ${id} is registered`);
  return profile;
}

/** Every registered tenant, by name then id. The registry holds hundreds of tenants, not millions. */
export async function listTenants(deps: TenantRegistryDeps): Promise<TenantProfile[]> {
  const all: TenantProfile[] = [];
  for await (const profile of deps.tenants.list()) all.push(profile);
  return all.sort((a, b) => a.name.localeCompare(b.name) || a.tenantId.localeCompare(b.tenantId));
}
