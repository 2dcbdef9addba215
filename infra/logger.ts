// One pino logger for the process. Secrets never reach it: the redact list names the
// fields that may carry them, and callers log ids, not payloads. Every line written inside an
// activity carries its task, workflow, run, activity, attempt and tenant (infra/log-context.ts).
import { pino, type DestinationStream, type Logger } from 'pino';
import { logContextFields, type LogContext } from './log-context.js';

export type { Logger };

// Fields a logger carries for every line, merged by the mixin instead of bound with child():
// pino writes a child's bindings and a call's fields side by side, so a route that logs the
// tenantId its request logger already names would write the key twice.
const FIELDS = Symbol('gatehouse.logFields');
type WithFields = Logger & { [FIELDS]?: LogContext };

/** `destination`: where lines go (default stdout); tests hand in an in-memory stream. */
export function createLogger(level = 'info', name = 'gatehouse', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'password', '*.password'],
      censor: '[redacted]',
    },
    mixin: (_line: object, _level: number, logger: Logger) => ({ ...(logger as WithFields)[FIELDS], ...logContextFields() }),
    // The context's ids win over a call's own fields of the same name: a line's taskId is always
    // its root task and its tenantId the activity's, whatever id the caller had at hand.
    mixinMergeStrategy: (line: object, context: object) => ({ ...line, ...context }),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A child of `log` whose every line carries `fields` (a request's tenant and task, say). Any pino logger, Fastify's request logger too. */
export function withLogFields<L extends { child(bindings: Record<string, never>): L }>(log: L, fields: LogContext): L {
  const child = log.child({}) as L & { [FIELDS]?: LogContext };
  child[FIELDS] = { ...(log as { [FIELDS]?: LogContext })[FIELDS], ...fields };
  return child;
}
