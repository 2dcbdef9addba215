// The failure converter of every Gatehouse client and worker: error messages and stack traces
// move into `encodedAttributes`, a payload, so the encrypting codec covers them too (they
// often quote user input). The SDK loads it by path (DataConverter.failureConverterPath):
// require()d by clients and workers, and bundled into the workflow sandbox, where workflow
// errors become failures. Plain CommonJS because require() cannot load TypeScript under every
// runner we use (tsx, vitest); infra/payload-codec.ts names this file.
/* global require, exports */
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: loaded by require()
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
