export { parseGrid, formatIssue, GridError, MAX_ALIAS_VALUES, type GridIssue } from './parse.js';
export { gridSchema, countTrials, trialsByLoss, packBytes, MAX_TRIALS, type GridSpec, type ExecutionSpec, type ThresholdCriterionSpec } from './schema.js';
export { expandGrid, trialsOf, planPacks, packsOf, countPacks, trialId, datasetOf, codeVersions, type CodeVersions } from './expand.js';
export { levelAboveCeiling, checkLevelAgainstData } from './achievable.js';
export { resolveGrid, absoluteLocation, type ResolvedGrid } from './resolve.js';
