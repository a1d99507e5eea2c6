/**
 * Benchmark workloads (issue "Throughput") and the analytic flop count used for GFLOP/s.
 * R1: width 100, 300 points; R2: width 1000, 300 points; R3: width 100, 3000 points (3 classes, d = 2).
 */
export interface Workload {
  id: 'R1' | 'R2' | 'R3';
  width: number;
  pointsPerClass: number;
  classes: number;
}

export const WORKLOADS: readonly Workload[] = [
  { id: 'R1', width: 100, pointsPerClass: 100, classes: 3 },
  { id: 'R2', width: 1000, pointsPerClass: 100, classes: 3 },
  { id: 'R3', width: 100, pointsPerClass: 1000, classes: 3 },
];

export const points = (w: Workload): number => w.pointsPerClass * w.classes;

/**
 * Flops of one gradient step of one trial: forward (X W1, H W2) and the two backward products
 * (H^T dZ and dZ W2^T, then X^T dA), each 2 N (d w + w C): the numpy peer's count, so GFLOP/s compare.
 * Elementwise work (bias, ReLU, softmax, update) is not counted.
 */
export function flopsPerTrialStep(w: Workload, d = 2): number {
  return 2 * points(w) * (d * w.width + w.width * w.classes) * 3;
}
