import { describe, expect, it } from 'vitest';
import { createLora, disposeLora, snapshotLora } from '../../src/lib/lora/lora';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { SafetensorsReader } from '../../src/lib/formats/safetensors';
import {
  checkpointFromTrlState,
  trlStateFiles,
  TRL_OPTIMIZER_FILE,
  TRL_STATE_FILE,
  type TrlState,
} from '../../src/lib/formats/trl-state';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { TrainCheckpoint } from '../../src/lib/train/types';
import { loadStories } from '../helpers/helpers';

describe('TRL state (optimizer.safetensors + lab_state.json)', () => {
  it("carries a checkpoint's AdamW moments in the adapter's PEFT names and layout, and back", async () => {
    const m = loadStories(); // llama2.c: q/k rows of lora_B are reordered for the PEFT layout
    const cfg = defaultTrainConfig('clo', { steps: 6 });
    const lora = createLora(
      m.config,
      { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
      1,
    );
    const snap = await snapshotLora(lora);
    disposeLora(lora);
    let s = 7;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const opt: TrainCheckpoint['optimizer'] = { t: 3, m: {}, v: {} };
    for (const [k, t] of Object.entries(snap.tensors)) {
      for (const x of [t.B]) for (let i = 0; i < x.length; i++) x[i] = rnd() - 0.5;
      for (const w of ['m', 'v'] as const) {
        opt[w][`${k}.A`] = Float32Array.from(t.A, () => rnd());
        opt[w][`${k}.B`] = Float32Array.from(t.B, () => rnd());
      }
    }
    const ck: TrainCheckpoint = { step: 3, config: cfg, lora: snap, optimizer: opt, metrics: [] };
    const files = await trlStateFiles(ck, { argv: ['--steps', '6'] }, m.config);
    const state = JSON.parse(files.get(TRL_STATE_FILE) as string) as TrlState;
    expect(state.step).toBe(3);
    expect(state.adam_t).toBe(3);
    const bytes = files.get(TRL_OPTIMIZER_FILE) as Uint8Array;
    // every adapter tensor has both moments, under its adapter_model.safetensors name
    const adapter = peftFileMap(toPeft(snap, m.config, 'base'));
    const aNames = (await SafetensorsReader.open(adapter.get('adapter_model.safetensors')!)).names().sort();
    const oNames = (await SafetensorsReader.open(bytes)).names();
    expect(
      oNames
        .filter((n) => n.startsWith('exp_avg/'))
        .map((n) => n.slice(8))
        .sort(),
    ).toEqual(aNames);
    expect(
      oNames
        .filter((n) => n.startsWith('exp_avg_sq/'))
        .map((n) => n.slice(11))
        .sort(),
    ).toEqual(aNames);
    const back = await checkpointFromTrlState(
      state,
      bytes,
      JSON.parse(new TextDecoder().decode(adapter.get('adapter_config.json')!)),
      adapter.get('adapter_model.safetensors')!,
      m.config,
    );
    expect(back.step).toBe(3);
    expect(back.optimizer.t).toBe(3);
    for (const w of ['m', 'v'] as const)
      for (const [k, x] of Object.entries(opt[w])) expect(back.optimizer[w][k]).toEqual(x);
    for (const [k, t] of Object.entries(snap.tensors)) expect(back.lora.tensors[k].B).toEqual(t.B);
  });
});
