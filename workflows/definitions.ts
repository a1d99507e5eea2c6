import { defineQuery } from '@temporalio/workflow';
import type { PackFailure, PlanOutput } from '../activities/contracts.js';

/** Task queue of the sweep workflows and their light activities. */
export const CONTROL_QUEUE = 'dynsweep-control';
/** Default task queue of CPU training workers. */
export const TRAIN_QUEUE = 'dynsweep-train';

export type SweepStatus = 'planning' | 'running' | 'finalizing' | 'completed' | 'failed' | 'cancelled';

export interface SweepProgress {
  sweepId: string;
  name: string;
  status: SweepStatus;
  totalTrials: number;
  completedTrials: number;
  failedTrials: number;
  divergedTrials: number;
  totalPacks: number;
  donePacks: number;
  runningPacks: number;
  /** Workflow time (ms since epoch) when the sweep started. */
  startedAt: number;
  resultsUri: string;
}

export interface SweepInput {
  sweepId: string;
  resultsUri: string;
  gridYaml: string;
  gridFile: string;
  /** Continue-as-new once history exceeds this many events (default 10,000). */
  historyBudget?: number;
  /** Carried over continue-as-new; absent on the first run. */
  carry?: SweepCarry;
}

export interface SweepCarry {
  plan: PlanOutput;
  nextPack: number;
  completed: number;
  diverged: number;
  donePacks: number;
  failures: PackFailure[];
  startedAt: number;
}

export interface SweepResult {
  sweepId: string;
  status: 'completed' | 'failed' | 'cancelled';
  trials: number;
  completed: number;
  failed: number;
  diverged: number;
  resultsUri: string;
  thresholds: Record<string, { params: number | null; width: number | null; reached: boolean }>;
}

export const progressQuery = defineQuery<SweepProgress>('progress');
