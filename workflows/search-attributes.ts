// The search attributes Gatehouse sets on its workflows. Here, not in infra/temporal.ts
// (which needs the client and worker packages), because workflow code sets them too.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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
