// Every test process registers functions through the same shim the local host uses, so `app.*` calls record
// their metadata (and the route list can be walked) instead of falling back to test mode.
import { installFunctionsCore } from "../../local/functionRegistry.js";

installFunctionsCore();
