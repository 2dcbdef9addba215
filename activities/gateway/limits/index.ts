// The gateway's access control, budgets and rate limits.
//   admission.ts    GatewayLimits.admit: the caller, its allow-lists, the reservation; the gateway calls it
//                   (admitUsage: the same budgets and rate limits for a call that is not a chat: embeddings)
//   rules.ts        the tenant's rules and which apply to a caller
//   ledger.ts       reserve and settle: atomic in Postgres, idempotent per attempt key
//   attempt-key.ts  the key of one call: run / activity / attempt / index, or a request id
//   admin.ts        setting and listing rules, the usage report: what the API calls
export { GatewayLimits, rootTaskId, type Admission } from './admission.js';
export { budgetName, periodRetryAfter, periodStart, rateName, reserve, settle, type Estimate, type ReserveOutcome } from './ledger.js';
export { attemptKey, type AttemptKey } from './attempt-key.js';
export * from './rules.js';
export * from './admin.js';
