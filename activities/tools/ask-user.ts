// ask_user: the agent asks the person who started the task a question. It is the `ask` kind
// and has no executor: the workflow itself pauses until a message arrives
// (POST /v1/tasks/:id/messages) and hands the reply back as the tool's result.
import { z } from 'zod';
import type { ToolDefinition } from './types.js';

export const askUserParameters = z.object({
  question: z.string().min(3).max(1000).describe('The question for the user, answerable in a sentence'),
});

export const askUserTool: ToolDefinition<typeof askUserParameters> = {
  name: 'ask_user',
  description: 'Ask the user a clarifying question when the task cannot be done without their answer. The task pauses until they reply.',
  parameters: askUserParameters,
  kind: 'ask',
};
