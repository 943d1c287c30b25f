/**
 * The local host's stand-in for `@azure/functions-core`, the module the Azure Functions worker supplies at run time.
 * `@azure/functions` requires it lazily on the first `app.*` call and hands it `registerFunction(metadata, handler)`
 * — exactly what Azure receives. Installing this shim before the function files load lets the local host (and the
 * tests) discover the same definitions: one source of truth for the function list, no second list to keep in sync.
 */
import Module from "node:module";

export interface BindingMetadata {
  type: string;
  direction: string;
  name?: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  schedule?: string;
  runOnStartup?: boolean;
  queueName?: string;
  connection?: string;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
}

export type RegisteredHandler = (...args: unknown[]) => unknown;

export interface RegisteredFunction {
  name: string;
  trigger: BindingMetadata;
  metadata: FunctionMetadata;
  handler: RegisteredHandler;
}

const registry = new Map<string, RegisteredFunction>();
let installed = false;

const coreApi = {
  version: "local",
  hostVersion: "4.0.0-local",
  setProgrammingModel(_model: unknown): void {
    // The local host invokes handlers directly; the programming model's RPC converters are not needed.
  },
  getProgrammingModel(): undefined {
    return undefined;
  },
  registerHook(): { dispose(): void } {
    return { dispose: () => undefined };
  },
  registerFunction(metadata: FunctionMetadata, handler: RegisteredHandler): { dispose(): void } {
    const trigger = Object.values(metadata.bindings).find((b) => /trigger$/i.test(b.type));
    if (!trigger) throw new Error(`Function ${metadata.name} has no trigger binding`);
    if (registry.has(metadata.name)) throw new Error(`Function ${metadata.name} is registered twice`);
    registry.set(metadata.name, { name: metadata.name, trigger, metadata, handler });
    return { dispose: () => registry.delete(metadata.name) };
  },
  log(): void {
    // Worker system logs are not interesting locally.
  },
};

/** Installs the shim. Must run before `@azure/functions` makes its first `app.*` call; idempotent. */
export function installFunctionsCore(): void {
  if (installed) return;
  installed = true;
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load.bind(Module);
  loader._load = (request, parent, isMain) => (request === "@azure/functions-core" ? coreApi : original(request, parent, isMain));
}

/** Every function registered so far, by name. */
export function registeredFunctions(): RegisteredFunction[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}
