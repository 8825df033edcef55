/**
 * One source per fact: each objective declares its row kind (accepts[0]), its sequence layout and its
 * own hyperparameters with defaults; defaultTrainConfig, the CLI and the UI read them. The expected
 * values are docs/methods.md §2's table (λ, β defaults) and the sequence orders it describes.
 */
import { describe, expect, it } from 'vitest';
import { OBJECTIVES } from '../../src/lib/objectives/index';
import { defaultTrainConfig, TRAIN_DEFAULTS } from '../../src/lib/train/defaults';
import { OBJECTIVE_INFO, objectiveDefaults } from '../../src/ui/train-defaults';
import type { TrainRow } from '../../src/lib/data/rows';
import type { ObjectiveName } from '../../src/lib/train/types';

const SAMPLE: Record<TrainRow['kind'], TrainRow> = {
  sft: { kind: 'sft', prompt: 'p', response: 'r' },
  preference: { kind: 'preference', prompt: 'p', chosen: 'c', rejected: 'r' },
  clo: { kind: 'clo', xEn: 'xe', yEn: 'ye', xTgt: 'xt', yTgt: 'yt' },
} as Record<TrainRow['kind'], TrainRow>;

describe('objective facts', () => {
  it('docs/methods.md §2 defaults: DPO β 0.1; ORPO λ 0.1; CLO λ 0.5, β 0.1; LoRA lr 2e-4 on q,k,v,o', () => {
    expect(defaultTrainConfig('dpo').beta).toBe(0.1);
    expect(defaultTrainConfig('orpo').lambda).toBe(0.1);
    expect(defaultTrainConfig('clo').lambda).toBe(0.5);
    expect(defaultTrainConfig('clo').beta).toBe(0.1);
    for (const o of ['sft', 'dpo', 'orpo', 'clo'] as ObjectiveName[]) {
      expect(defaultTrainConfig(o).lr).toBe(2e-4);
      expect(defaultTrainConfig(o).lora.targets).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
    }
    expect(defaultTrainConfig('orpo', { lambda: 0.3 }).lambda).toBe(0.3);
  });

  it('row kinds and layouts: SFT 1 sequence, DPO/ORPO chosen then rejected, CLO four in the §2 order', () => {
    expect(Object.fromEntries(Object.entries(OBJECTIVES).map(([k, o]) => [k, o.accepts[0]]))).toEqual({
      sft: 'sft',
      dpo: 'preference',
      orpo: 'preference',
      clo: 'clo',
      pt: 'sft', // continued pretraining reads {"text"} rows as SFT rows with an empty prompt
    });
    expect(OBJECTIVES.clo.sequences(SAMPLE.clo)).toEqual([
      { prompt: 'xe', response: 'ye' },
      { prompt: 'xe', response: 'yt' },
      { prompt: 'xt', response: 'yt' },
      { prompt: 'xt', response: 'ye' },
    ]);
    for (const o of Object.values(OBJECTIVES)) {
      expect(o.sequences(SAMPLE[o.accepts[0]]).length, o.name).toBe(o.layout.length);
    }
    expect(OBJECTIVES.dpo.layout).toEqual(['chosen', 'rejected']);
  });

  it('the UI reads the same facts: row kind per objective, defaults from the engine', () => {
    for (const [k, o] of Object.entries(OBJECTIVES)) {
      expect(OBJECTIVE_INFO[k as ObjectiveName].rowKind).toBe(o.accepts[0]);
      const ui = objectiveDefaults(k as ObjectiveName);
      expect(ui.lambda).toBe(defaultTrainConfig(k as ObjectiveName).lambda);
      expect(ui.lr).toBe(TRAIN_DEFAULTS.lr);
    }
  });
});
