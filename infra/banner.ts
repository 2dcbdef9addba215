// The start-up banner of `npm start`: where everything is, for the person at the terminal.
// A generated dev key is shown only on a terminal; redirected output (`npm start > log`)
// names the file that keeps it instead, so the key never lands in a log.
import path from 'node:path';
import type { Config } from './config.js';

export interface BannerInfo {
  apiUrl: string;
  temporalUi: string;
  database: string;
  models: string;
  /** Which cache layers are on (GATEHOUSE_CACHE). */
  caches?: string;
  /** The dev admin key registered at start; `generated` when we made it (and keep it in the data dir). */
  key?: { value: string; generated: boolean };
}

export interface BannerOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function devApiKeyFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'dev-api-key');
}

export function writeBanner(out: BannerOutput, info: BannerInfo, config: Pick<Config, 'dataDir'>): void {
  const { apiUrl, key } = info;
  const file = devApiKeyFile(config);
  const showKey = key?.generated === true && out.isTTY === true;
  const keyLine = !key
    ? '  API key      none registered: set GATEHOUSE_API_KEY'
    : !key.generated
      ? '  API key      the one in GATEHOUSE_API_KEY'
      : showKey
        ? `  API key      ${key.value}   (kept in ${file})`
        : `  API key      kept in ${file} (shown only on a terminal)`;
  const bearer = showKey ? key!.value : `$(cat ${file})`;
  const lines = [
    '',
    'Gatehouse is running.',
    `  API          ${apiUrl}   (docs: ${apiUrl}/docs, OpenAPI: ${apiUrl}/openapi.json, Prometheus metrics: ${apiUrl}/metrics)`,
    `  Temporal UI  ${info.temporalUi}`,
    `  Database     ${info.database}`,
    `  Models       ${info.models}`,
    ...(info.caches ? [`  Caches       ${info.caches}`] : []),
    keyLine,
    '',
    key?.generated
      ? `  Try: curl -s -H "Authorization: Bearer ${bearer}" ${apiUrl}/v1/tasks -H 'content-type: application/json' -d '{"type":"answer","input":"Can I get next-day delivery to Hawaii?"}'`
      : '',
    '',
  ];
  out.write(`${lines.join('\n')}\n`);
}
