// Every workflow the worker runs (its workflowsPath).
export { answerQuestion } from './answer.js';
export { ingestDocuments } from './ingest.js';
export { runAgent } from './agent.js';
export { compensateExecutedAction } from './compensate.js';
