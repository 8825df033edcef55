/**
 * PEFT export of a run that trained embedding rows (and LoRA): `PeftModel.from_pretrained` on the
 * extended base folder reproduces the lab's log-probs (trainable_token_indices, PEFT's own format).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ROOT } from '../helpers/helpers';
import { loadModelArg } from '../../cli/node-env';
import { corpusTexts } from '../../src/lib/vocab/corpus';
import { extendModel } from '../../src/lib/vocab/extend-model';
import { exportMerged } from '../../src/lib/formats/merged';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { snapshotLora } from '../../src/lib/lora/lora';
import { addTrainableTokens } from '../../src/lib/formats/peft-rows';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { scoreSequences } from '../../src/lib/model/score';
import type { LoadedModel } from '../../src/lib/model/model';

describe('PEFT export of trained embedding rows', () => {
  it('PeftModel.from_pretrained reproduces the lab scores (rows + LoRA)', async () => {
    await tf.setBackend('cpu');
    const tmp = mkdtempSync(join(tmpdir(), 'vocab-peft-'));
    const f = 'data/instructions/ko_chatbot_300.jsonl';
    const corpus = corpusTexts(readFileSync(resolve(ROOT, 'public', f), 'utf8'), f);
    // the base of the adapter is an extended model folder, as `vocab` writes it
    const stories = await loadModelArg('stories260K');
    const ext = await extendModel(stories, corpus, { add: 64, init: 'mean', seed: 0 });
    const baseDir = join(tmp, 'base');
    mkdirSync(baseDir);
    for (const [n, b] of await exportMerged(ext.model, null)) writeFileSync(join(baseDir, n), b);
    const base = await loadModelArg(baseDir);
    const cfg = defaultTrainConfig('pt', {
      steps: 3,
      batchSize: 2,
      lr: 1e-2,
      maxSeqLen: 32,
      seed: 1,
      trainRowsFrom: 512,
      lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
    });
    const t = Trainer.create(
      base,
      corpus.slice(0, 20).map((x) => ({ kind: 'sft', prompt: '', response: x })),
      cfg,
    );
    while (!t.done) await t.step();
    const adDir = join(tmp, 'adapter');
    mkdirSync(adDir);
    const files = await addTrainableTokens(
      toPeft(await snapshotLora(t.lora), base.config, baseDir),
      await t.rows!.snapshot(),
      base.config,
    );
    for (const [n, b] of peftFileMap(files)) writeFileSync(join(adDir, n), b);
    expect((files.adapterConfig.trainable_token_indices as { embed_tokens: number[] }).embed_tokens).toHaveLength(64);

    const text = '시간을 정하고 해보세요. 빨리 집에 돌아가서 끄고 나오세요.';
    const merged = t.rows!.merged();
    const trained: LoadedModel = { ...base, weights: { ...base.weights, embed: merged.embed } };
    const ids = base.tokenizer.encode(text);
    expect(ids.some((id) => id >= 512)).toBe(true);
    const [lab] = await scoreSequences(trained, [{ ids, start: 1 }], { lora: t.lora });
    const py = execFileSync('python3', ['-c', PY, baseDir, adDir, text], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const ref = JSON.parse(py.trim().split('\n').pop()!);
    expect(ref.ids).toEqual(ids);
    expect(Math.abs(ref.logprob - lab.sum)).toBeLessThan(1e-3);
    merged.embed.dispose();
    t.dispose();
  }, 600_000);
});

const PY = `
import sys, json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel
base, ad, text = sys.argv[1], sys.argv[2], sys.argv[3]
tok = AutoTokenizer.from_pretrained(base)
m = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), ad).eval()
ids = tok(text, return_tensors='pt').input_ids
with torch.no_grad():
    lp = torch.log_softmax(m(ids).logits[0, :-1].double(), -1).gather(1, ids[0, 1:, None]).sum().item()
print(json.dumps({"ids": ids[0].tolist(), "logprob": lp}))
`;
