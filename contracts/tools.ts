// What kind of thing a tool does, which decides how the agent runs it: `read` tools run at
// once (in parallel), `write` tools wait for an approval and run once through the action
// ledger, `ask` tools put a question to the user and wait for the answer.
import { z } from 'zod';

export const toolKind = z.enum(['read', 'write', 'ask']);
export type ToolKind = z.infer<typeof toolKind>;
