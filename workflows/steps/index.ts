// The guardrail steps answerQuestion and runAgent both run, each once.
export { answerWithoutModel, guardInputStep, guardrailOutcome, type AnswerWithoutModel, type GuardedInput, type Steps } from './input-guard.js';
export { handOffToReviewer, type HandOff } from './handoff.js';
export { guardOutputStep } from './output-guard.js';
export { openReviewDesk, type ReviewDesk } from './review-desk.js';
export { settleAnswer, type Candidate, type Checked, type Settled } from './settle-answer.js';
export { guardAndRoute, routeStep, routeSummary } from './route.js';
