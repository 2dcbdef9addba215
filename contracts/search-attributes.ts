// The search attributes Gatehouse indexes its workflows by: the workflows set them, the API
// lists and filters tasks by them, infra/temporal.ts registers them on the cluster.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/** Every task: its tenant and type, so tasks can be listed and filtered per tenant. */
export const TENANT_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseTenant', SearchAttributeType.KEYWORD);
export const TASK_TYPE_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseTaskType', SearchAttributeType.KEYWORD);
/** Agent tasks: where they are, whether a human is needed, and how much budget they used. */
export const TASK_STATUS_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseTaskStatus', SearchAttributeType.KEYWORD);
export const AWAITING_APPROVAL_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseAwaitingApproval', SearchAttributeType.BOOL);
export const STEPS_USED_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseStepsUsed', SearchAttributeType.INT);
export const COST_USED_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseCostUsd', SearchAttributeType.DOUBLE);

export const SEARCH_ATTRIBUTES = [
  TENANT_SEARCH_ATTRIBUTE,
  TASK_TYPE_SEARCH_ATTRIBUTE,
  TASK_STATUS_SEARCH_ATTRIBUTE,
  AWAITING_APPROVAL_SEARCH_ATTRIBUTE,
  STEPS_USED_SEARCH_ATTRIBUTE,
  COST_USED_SEARCH_ATTRIBUTE,
];

/**
 * The search attributes a task starts with: its tenant and type and, for an agent, the ones
 * runAgent keeps current (it updates only those it was started with).
 */
export function taskSearchAttributes(tenantId: string, type: string): SearchAttributePair[] {
  const base: SearchAttributePair[] = [
    { key: TENANT_SEARCH_ATTRIBUTE, value: tenantId },
    { key: TASK_TYPE_SEARCH_ATTRIBUTE, value: type },
  ];
  // Answers index their phase too: a task handed off to a reviewer is listed as needs_review.
  if (type === 'answer') return [...base, { key: TASK_STATUS_SEARCH_ATTRIBUTE, value: 'working' }];
  if (type !== 'agent') return base;
  return [
    ...base,
    { key: TASK_STATUS_SEARCH_ATTRIBUTE, value: 'working' },
    { key: AWAITING_APPROVAL_SEARCH_ATTRIBUTE, value: false },
    { key: STEPS_USED_SEARCH_ATTRIBUTE, value: 0 },
    { key: COST_USED_SEARCH_ATTRIBUTE, value: 0 },
  ];
}
