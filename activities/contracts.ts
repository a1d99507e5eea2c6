/**
 * The activity interface the workflows see: small inputs and outputs only (keys and counts),
 * never records or trial lists. Type-only module, safe to import from workflows.
 */
import type { ThresholdBrief } from '../results/summary.js';
import type { MonitorAggregate } from '../workflows/monitor.js';
import type { RoundRequest, SearchCell, SearchRoundLog } from '../core/types.js';

export type { ThresholdBrief };

export interface PlanInput {
  /** Root of this sweep's results (path or s3://bucket/prefix). */
  resultsUri: string;
  sweepId: string;
  /** The grid file's text, stored as grid.yaml before planning. */
  gridYaml: string;
  /** Where the grid came from, for messages. */
  gridFile: string;
}

/** How a plan's packs are trained (grid.yaml `execution`): what the workflow needs to schedule them. */
export interface PackExecution {
  taskQueue: string;
  maxConcurrentPacks: number;
  maxAttempts: number;
  heartbeatTimeoutS: number;
  packTimeoutS: number;
}

/** The plan in brief: constant size whatever the sweep's (the packs are in the store, results/manifest.ts). */
export interface PlanOutput extends PackExecution {
  name: string;
  gridHash: string;
  totalTrials: number;
  /** Packs 0 .. packCount - 1. */
  packCount: number;
}

export interface TrainPackInput {
  resultsUri: string;
  sweepId: string;
  packIndex: number;
  /** Hash of the planned grid: a worker refuses a pack file of another plan (a re-planned sweep id). */
  gridHash: string;
  /** Least seconds between the pack's instability monitor signals (workflows/monitor.ts monitorEveryS); absent: no signals. */
  monitorEveryS?: number;
}

export interface PackResult {
  packIndex: number;
  /** Trials with a record in the store after this pack (trained now or before). */
  completed: number;
  /** Of those, trials whose loss became non-finite (a result, not a failure). */
  diverged: number;
  /** Trials whose records already existed (a retry, or a rerun of the same sweep). */
  reused: number;
  /** Best final validation accuracy among the pack's trials that did not diverge (null: none). */
  bestValAcc?: { value: number; label: string } | null;
  /** The instability monitor's aggregate of the pack's trials (constant size). */
  monitor?: MonitorAggregate;
}

/** A pack whose retries are exhausted (its trials have no records). */
export interface PackFailure {
  packIndex: number;
  message: string;
}

export interface FinalizeInput {
  resultsUri: string;
  sweepId: string;
  /** The first failed packs with their errors (at most MAX_CARRIED_FAILURES; finalize counts every missing record). */
  failures: PackFailure[];
  /** As in TrainPackInput. */
  gridHash: string;
  /** The sweep was cancelled: missing records are 'cancelled', not failures of the code. */
  cancelled: boolean;
}

/** Failed packs whose errors a workflow carries to finalize: the rest are counted, so the carry stays small. */
export const MAX_CARRIED_FAILURES = 20;

export interface FinalizeOutput {
  completed: number;
  failed: number;
  diverged: number;
  thresholds: Record<string, ThresholdBrief>;
  /** One sentence per dynamical loss (a handful of lines, whatever the sweep's size). */
  findings: string[];
}

export interface SweepActivities {
  planSweep(input: PlanInput): Promise<PlanOutput>;
  trainPack(input: TrainPackInput): Promise<PackResult>;
  finalizeSweep(input: FinalizeInput): Promise<FinalizeOutput>;
}

/** A scheduled sweep: where the schedule's runs keep their results and verdicts. */
export interface ScheduleRef {
  /** Schedule id (= schedule name). */
  name: string;
  /** Store root of the schedule: each run's results go to <storeRoot>/<sweepId>/. */
  storeRoot: string;
}

export interface JudgeInput {
  sweepId: string;
  resultsUri: string;
  schedule: ScheduleRef;
}

/** The verdict in brief; regression.json in the run's results has the details. */
export interface JudgeOutput {
  verdict: 'baseline' | 'pass' | 'regressed';
  baselineSweepId: string | null;
  /** One line, e.g. "REGRESSED vs nightly-...: 3 cell(s)". */
  headline: string;
  /** The first few regression lines (the full list is in regression.json). */
  regressions: string[];
  regressionCount: number;
}

/** Activities of scheduled sweeps (control queue). */
export interface JudgeActivities {
  judgeSweep(input: JudgeInput): Promise<JudgeOutput>;
}

/** A threshold search (workflows/search.ts, activities/search.ts): what planSearch gives the workflow. */
export interface SearchPlanOutput extends PackExecution {
  name: string;
  gridHash: string;
  cells: SearchCell[];
  /** The search's settings the workflow reports. */
  precision: number;
  maxRounds: number;
}

export interface SearchRoundInput {
  resultsUri: string;
  sweepId: string;
  gridHash: string;
  /** 1-based; round r judges round r - 1's records, then plans round r. */
  round: number;
  cells: SearchCell[];
  /** Global index of this round's first pack (the packs of all rounds are numbered on, plan/packs/). */
  packOffset: number;
  /** The previous round: what it asked for and its packs [fromPack, toPack); null in round 1. */
  previous: { requests: RoundRequest[]; fromPack: number; toPack: number } | null;
}

export interface SearchRoundOutput {
  /** The cells after judging the previous round (closed ones carry their outcome). */
  cells: SearchCell[];
  /** The previous round's trials with a record, and their steps (the cost of that round). */
  judgedTrials: number;
  judgedTrialSteps: number;
  /** This round: cells searched, widths and trials planned (0: the search is over), its packs. */
  cellsSearched: number;
  widths: number;
  trials: number;
  requests: RoundRequest[];
  /** This round's packs: packOffset .. packOffset + packCount - 1. */
  packCount: number;
}

export interface SearchFinishInput {
  resultsUri: string;
  sweepId: string;
  name: string;
  gridHash: string;
  /** Rounds trained (their plans are search/round-<r>.json in the store). */
  rounds: SearchRoundLog[];
  cells: SearchCell[];
  trialSteps: number;
  /** Packs of all rounds. */
  packCount: number;
}

/** The search in brief: for the progress query, the web UI details, `sweep status` and the sweep's result. */
export interface SearchProgress {
  round: number;
  maxRounds: number;
  precision: number;
  rounds: SearchRoundLog[];
  trialSteps: number;
  /** Cells still searched, of all. */
  open: number;
  cells: SearchCell[];
}

export interface SearchActivities {
  planSearch(input: PlanInput): Promise<SearchPlanOutput>;
  searchRound(input: SearchRoundInput): Promise<SearchRoundOutput>;
  /** Before finalizeSweep: manifest.json with every trial of every round, and search.json. */
  finishSearch(input: SearchFinishInput): Promise<void>;
  /** After finalizeSweep: the search's rounds and brackets into thresholds.json. */
  annotateSearch(input: SearchFinishInput): Promise<void>;
}
