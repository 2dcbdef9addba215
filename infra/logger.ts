// One pino logger for the process. Secrets never reach it: the redact list names the
// fields that may carry them, and callers log ids, not payloads. Every line written inside an
// activity carries its task, workflow, run, activity, attempt and tenant (infra/log-context.ts).
import { pino, type DestinationStream, type Logger } from 'pino';
import { logContextFields } from './log-context.js';

export type { Logger };

/** `destination`: where lines go (default stdout); tests hand in an in-memory stream. */
export function createLogger(level = 'info', name = 'gatehouse', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'password', '*.password'],
      censor: '[redacted]',
    },
    mixin: logContextFields,
    // The context's ids win over a call's own fields of the same name: a line's taskId is always
    // its root task and its tenantId the activity's, whatever id the caller had at hand.
    mixinMergeStrategy: (line: object, context: object) => ({ ...line, ...context }),
  };
  return destination ? pino(options, destination) : pino(options);
}
