import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { JudgeOutput, PackFailure, PlanOutput, ScheduleRef, SearchProgress } from '../activities/contracts.js';
import type { MonitorAggregate, MonitorUpdate, MonitorView } from './monitor.js';

/** Task queue of the sweep workflows and their light activities. */
export const CONTROL_QUEUE = 'dynsweep-control';
/** Default task queue of CPU training workers. */
export const TRAIN_QUEUE = 'dynsweep-train';

export type SweepStatus = 'planning' | 'running' | 'finalizing' | 'judging' | 'completed' | 'failed' | 'cancelled';

/**
 * Search attributes of sweeps (Keyword; the local stack registers them). The workflow upserts SweepStatus and
 * SweepVerdict only when its start request carried them, so a server without them never fails a sweep.
 */
export const SWEEP_NAME_KEY = defineSearchAttributeKey('SweepName', SearchAttributeType.KEYWORD);
export const GRID_HASH_KEY = defineSearchAttributeKey('GridHash', SearchAttributeType.KEYWORD);
export const SWEEP_STATUS_KEY = defineSearchAttributeKey('SweepStatus', SearchAttributeType.KEYWORD);
/** Scheduled sweeps only: 'pending' until judged, then 'baseline' | 'pass' | 'regressed'. */
export const SWEEP_VERDICT_KEY = defineSearchAttributeKey('SweepVerdict', SearchAttributeType.KEYWORD);

export interface SweepProgress {
  sweepId: string;
  name: string;
  status: SweepStatus;
  totalTrials: number;
  completedTrials: number;
  /** Packs whose retries are exhausted (their trials are counted in summary.json when the sweep ends). */
  failedPacks: number;
  divergedTrials: number;
  totalPacks: number;
  donePacks: number;
  runningPacks: number;
  /** Workflow time (ms since epoch) when the sweep started. */
  startedAt: number;
  resultsUri: string;
  /** Best final validation accuracy so far (trials that did not diverge), with its trial. */
  bestValAcc?: { value: number; label: string } | null;
  /** Scheduled sweeps, once judged. */
  regression?: JudgeOutput | null;
  /** The live instability monitor (workflows/monitor.ts): packs in flight, and all trials recorded or in flight. */
  monitor?: MonitorView;
  /** Threshold searches (workflows/search.ts): rounds, brackets and trial counts. */
  search?: SearchProgress;
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
  /**
   * Set by a schedule (`sweep schedule create`): the sweep id is the workflow id less "sweep-" (the schedule's
   * "sweep-<name>" plus Temporal's "-<scheduled time>"), results go to <storeRoot>/<sweepId>/ (sweepId and
   * resultsUri above are then ignored), and after finalize the run is judged against its baseline.
   */
  schedule?: ScheduleRef;
}

export interface SweepCarry {
  plan: PlanOutput;
  nextPack: number;
  completed: number;
  diverged: number;
  donePacks: number;
  failedPacks: number;
  /** The first MAX_CARRIED_FAILURES failed packs with their errors (constant size). */
  failures: PackFailure[];
  startedAt: number;
  best?: { value: number; label: string } | null;
  /** The instability monitor's total over finished packs (constant size). */
  monitor?: MonitorAggregate;
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
  /** What the sweep found, one sentence per dynamical loss (absent in results of older versions). */
  findings?: string[];
  /** Scheduled sweeps: the verdict against the baseline (regression.json has the details). */
  regression?: JudgeOutput | null;
  /** Threshold searches: the rounds and brackets (search.json has them all). */
  search?: SearchProgress;
}

export const progressQuery = defineQuery<SweepProgress>('progress');

/** A running pack's instability aggregate (activities/monitor.ts), at most every few seconds per pack. */
export const monitorSignal = defineSignal<[MonitorUpdate]>('monitor');
