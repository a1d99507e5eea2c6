export { sweepWorkflow } from './sweep.js';
export { searchWorkflow } from './search.js';
