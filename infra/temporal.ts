// Connections to Temporal: the client (API, tests) and the worker's native connection.
// The payload codec that encrypts history joins here (issue 4).
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';

/** Search attributes Gatehouse sets on its workflows, so tasks can be filtered by tenant. */
export const TENANT_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseTenant', SearchAttributeType.KEYWORD);
export const TASK_TYPE_SEARCH_ATTRIBUTE = defineSearchAttributeKey('GatehouseTaskType', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [TENANT_SEARCH_ATTRIBUTE, TASK_TYPE_SEARCH_ATTRIBUTE];

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

/**
 * Register Gatehouse's search attributes on an existing cluster. The embedded dev server
 * gets them at start; a production cluster may already have them (then this is a no-op).
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(customAttributes && k.name in customAttributes));
  if (missing.length === 0) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
  });
}
