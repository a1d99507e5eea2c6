/**
 * The native TensorFlow backend of the tfjs engine (scripts/native.sh, docs/native.md). Its agreement with the
 * float64 reference runs in tfjs-engine.test.ts, with the other backends, whenever it loads; here: that it loads
 * where it must (scripts/test.sh builds it and sets DYNSWEEP_NATIVE_REQUIRED=1, so a broken build fails CI instead
 * of silently dropping the backend), that it is the TensorFlow C library the build pins, and that a pack trains to
 * the same numbers twice (oneDNN and TensorFlow's thread pools must not make results depend on timing).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createTfjsEngine, selectTfjsBackend } from '../../core/engines/tfjs.js';
import { defaultDatasetSpec } from '../../core/data.js';
import { packOf, trialConfig } from './science-helpers.js';

const required = process.env.DYNSWEEP_NATIVE_REQUIRED === '1';
const loaded = await selectTfjsBackend('tensorflow').then(
  () => null,
  (e: unknown) => (e instanceof Error ? e.message : String(e)),
);

describe('native TensorFlow backend', () => {
  it.runIf(required)('loads where scripts/test.sh built it', () => {
    expect(loaded).toBeNull();
  });

  describe.skipIf(loaded !== null)('when built', () => {
    it('is TensorFlow 2.9.1, the C library tfjs-node 4.22 is built for', async () => {
      const sel = await selectTfjsBackend('tensorflow');
      expect(sel.label).toBe('tensorflow');
      expect(tf.getBackend()).toBe('tensorflow');
      const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
      expect(binding.TF_Version).toBe('2.9.1');
    });

    it('trains a pack to the same numbers twice (dce, sharpness included)', async () => {
      const dataset = defaultDatasetSpec({ pointsPerClass: 100 });
      const configs = [1, 2, 3, 4].map((seed) =>
        trialConfig({
          dataset, width: 64, loss: 'dce', period: 40, amplitude: 5, seed, lr: 1, steps: 120, evalEvery: 20,
          sharpnessEvery: 40, sharpness: { method: 'lanczos', iterations: 12 }, engine: 'tfjs',
        }),
      );
      const engine = await createTfjsEngine('tensorflow');
      expect(engine.backend).toBe('tensorflow');
      const first = await engine.trainPack(packOf(configs));
      const second = await engine.trainPack(packOf(configs));
      for (let k = 0; k < configs.length; k++) {
        expect(first[k].record.engine.backend).toBe('tensorflow');
        expect(first[k].record.diverged).toBe(false);
        expect(second[k].record.curves).toEqual(first[k].record.curves);
        expect(second[k].record.sharpness.dynamic).toEqual(first[k].record.sharpness.dynamic);
        expect(second[k].artifact.W1).toEqual(first[k].artifact.W1);
      }
    });
  });
});
