export { addUsage, NO_USAGE } from '../../contracts/task.js';
