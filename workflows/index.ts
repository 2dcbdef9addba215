// Every workflow the worker runs (its workflowsPath).
export { answerQuestion } from './answer.js';
export { ingestDocuments } from './ingest.js';
export { runAgent } from './agent/index.js';
export { compensateExecutedAction } from './compensate.js';
