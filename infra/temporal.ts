// Connections to Temporal: the client (API, tests) and the worker's native connection.
// Every client encrypts payloads (infra/payload-codec.ts): there is no unencrypted variant.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../contracts/search-attributes.js';

// Temporal's IndexedValueType numbers.
const INDEXED_VALUE_TYPE: Record<string, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };

/** `traced`: tracing is on (infra/tracing.ts), so starts, signals and updates carry the caller's span to the workflow. */
export async function connectClient(address: string, namespace: string, dataConverter: DataConverter, opts: { traced?: boolean } = {}): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, dataConverter, interceptors: clientInterceptors(opts.traced) });
}

/** The client's interceptors: with tracing on, the OpenTelemetry one (a `StartWorkflow:<type>` span, its context in the start's headers). */
export function clientInterceptors(traced: boolean | undefined): { workflow: OpenTelemetryWorkflowClientInterceptor[] } | undefined {
  return traced ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
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
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type] ?? 2])),
  });
}
