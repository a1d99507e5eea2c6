export { parseGrid, formatIssue, GridError, type GridIssue } from './parse.js';
export { gridSchema, type GridSpec, type ExecutionSpec, type ThresholdCriterionSpec } from './schema.js';
export { expandGrid, planPacks, trialId, datasetOf, codeVersions, type CodeVersions } from './expand.js';
export { levelAboveCeiling, checkLevelAgainstData } from './achievable.js';
