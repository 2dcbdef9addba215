// What the gateway's access control, budgets and rate limits are made of, and how it refuses
// a call: the API sets the rules, the gateway enforces them for every model call, the
// workflow recognises a refusal by its ApplicationFailure type and pauses instead of failing.
import { z } from 'zod';

/** Who a model allow-list applies to: every key of the tenant, one application's keys, one person's, one key. */
export const accessScope = z.enum(['tenant', 'application', 'user', 'key']);
export type AccessScope = z.infer<typeof accessScope>;

/** Who a budget counts: the tenant, each key, each person, each task (a plan's sub-tasks count toward their task). */
export const budgetScope = z.enum(['tenant', 'key', 'user', 'task']);
export type BudgetScope = z.infer<typeof budgetScope>;

/** A budget's window: a UTC day, a UTC month, or for ever. */
export const budgetPeriod = z.enum(['day', 'month', 'total']);
export type BudgetPeriod = z.infer<typeof budgetPeriod>;

/** Who a rate limit counts: the tenant, each key, each model (per tenant). */
export const rateLimitScope = z.enum(['tenant', 'key', 'model']);
export type RateLimitScope = z.infer<typeof rateLimitScope>;

/** A budget or rate limit's subject when it applies to each key, person, task or model of its scope. */
export const EVERY_SUBJECT = '*';

/** The ApplicationFailure types of the gateway's refusals: non-retryable, recognised by the workflows. */
export const MODEL_NOT_ALLOWED = 'ModelNotAllowed';
export const BUDGET_EXCEEDED = 'BudgetExceeded';
export const RATE_LIMITED = 'RateLimited';

/** What a budget or rate-limit refusal carries (the failure's details, the API's error details). */
export const limitRefusal = z.object({
  /** The limit's name: `budget:<scope>:<subject>:<period>:<usd|tokens>` or `rate:<scope>:<subject>:<rpm|tpm>`. */
  limit: z.string(),
  /** When to try again; null when the limit never resets by itself (a total budget). */
  retryAfterSeconds: z.number().int().nullable(),
});
export type LimitRefusal = z.infer<typeof limitRefusal>;

/** What a model allow-list refusal carries. */
export const modelRefusal = z.object({ model: z.string(), list: z.string() });
export type ModelRefusal = z.infer<typeof modelRefusal>;

/** What GET /v1/usage can group model spend by (always within one tenant). */
export const usageGroup = z.enum(['key', 'model', 'day', 'task']);
export type UsageGroup = z.infer<typeof usageGroup>;
