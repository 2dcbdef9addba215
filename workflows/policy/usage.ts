import type { Usage } from '../../contracts/task.js';

export { addUsage } from '../../contracts/task.js';

export const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
