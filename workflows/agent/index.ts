// runAgent, in rooms: run-agent.ts is the main loop; compose.ts builds the rooms it walks
// through — state (carried across continue-as-new), the work clock and budgets, the approval
// desk, the conversation, one turn, plan mode, the answers, events and phase.
export { runAgent } from './run-agent.js';
