// One pino logger for the process. Secrets never reach it: the redact list names the
// fields that may carry them, and callers log ids, not payloads.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info', name = 'gatehouse'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'password', '*.password'],
      censor: '[redacted]',
    },
  });
}
