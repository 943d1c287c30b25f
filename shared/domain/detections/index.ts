/**
 * Deterministic, streaming detectors over Graph sign-ins, directory audits and risk detections (pure: no I/O, no
 * clock). Normalise each raw record at the boundary (`toSignInRecord`, `toAuditRecord`, `toRiskRecord`), feed the
 * records in ascending (t, id) order, drain detections as the stream advances, snapshot the state into checkpoints.
 */
export { SIGN_IN_EVENT_TYPES, SIGN_IN_SELECT, toSignInRecord, type SignInEventType, type SignInRecord } from "./signInRecord.js";
export { toAuditRecord, type AuditActor, type AuditModifiedProperty, type AuditRecord, type AuditTarget } from "./auditRecord.js";
export { toRiskRecord, type RiskRecord } from "./riskRecord.js";
export {
  AuditActivitySchema,
  DEFAULT_THRESHOLDS,
  DetectionThresholdsSchema,
  type AuditActivity,
  type DetectionThresholds,
  type DetectionThresholdsInput,
} from "./thresholds.js";
export { SignInDetectors } from "./signInDetectors.js";
export { AuditDetectors, normaliseActivity } from "./auditDetectors.js";
export { RiskDetectors, type RiskWindow } from "./riskDetectors.js";
export { haversineKm } from "./geoDistance.js";
export { byTimeThenId, inTimeOrder, type Timed } from "./timeOrder.js";
export { cidrContains, networkOf, parseCidr, parseIp, type Cidr } from "./ipAddress.js";
