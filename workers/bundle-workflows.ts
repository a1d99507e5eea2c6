/**
 * Bundle the workflow code once, at build time (`npm run build`), into dist/workflow-bundle.js: a worker then loads
 * it instead of running webpack at start-up, which took seconds and about 130 MB of a control worker's memory.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE, WORKFLOWS_PATH } from './paths.js';

const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
writeFileSync(WORKFLOW_BUNDLE, code);
