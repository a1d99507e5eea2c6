export { sweepWorkflow } from './sweep.js';
