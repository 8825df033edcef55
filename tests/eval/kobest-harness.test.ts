/**
 * KoBEST per item, against lm-evaluation-harness's recipe written out by hand here (not the lab's
 * task mapping, request builder or scorer):
 * - doc_to_text per task, as in the harness's kobest yaml/utils.py (the lab's bundled files keep the
 *   KoBEST source field names: Text/Question/Answer, sentence/question/1/2, ...);
 * - continuation = " " + choice (target_delimiter);
 * - _encode_pair: trailing spaces of the context move to the front of the continuation; encode the
 *   whole and the context, continuation tokens = whole past the context's length;
 * - loglik = sum over continuation positions of log_softmax(logits)[next token], from one plain
 *   forward pass on (context + continuation)[-(max_len + 1):][:-1], log-softmax done in float64 here.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/lib/eval/run-eval';
import { KOBEST_TASKS } from '../../src/lib/eval/tasks';
import { forward } from '../../src/lib/model/forward';
import type { LoadedModel } from '../../src/lib/model/model';
import { bundledSource, bundledRows, loadStories } from '../helpers/helpers';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const N = 4;

type Row = Record<string, string>;
type HarnessDoc = { context: string; choices: string[]; gold: number };

/** The harness's doc_to_text / doc_to_choice / gold for each KoBEST task. */
const HARNESS: Record<string, { file: string; doc: (r: Row) => HarnessDoc }> = {
  kobest_boolq: {
    file: 'kobest/boolq.test.jsonl',
    doc: (r) => ({
      context: r.Text + ' 질문: ' + r.Question + ' 답변: ',
      choices: ['아니오', '예'],
      gold: r.Answer.toLowerCase() === 'true' ? 1 : 0,
    }),
  },
  kobest_copa: {
    file: 'kobest/copa.test.jsonl',
    // utils.py: connector = {"원인": " 왜냐하면", "결과": " 그래서"}[question]; f"{premise} {connector}"
    doc: (r) => ({
      context: r.sentence + ' ' + { 원인: ' 왜냐하면', 결과: ' 그래서' }[r.question.trim()]!,
      choices: [r['1'], r['2']],
      gold: Number(r.Answer) - 1,
    }),
  },
  kobest_hellaswag: {
    file: 'kobest/hellaswag.test.jsonl',
    doc: (r) => ({
      context: '문장: ' + r.context,
      choices: [r.choice1, r.choice2, r.choice3, r.choice4],
      gold: Number(r.label),
    }),
  },
  kobest_sentineg: {
    file: 'kobest/sentineg.test.jsonl',
    doc: (r) => ({ context: '문장: ' + r.Text + ' 긍부정:', choices: ['부정', '긍정'], gold: Number(r.Label) }),
  },
  kobest_wic: {
    file: 'kobest/wic.test.jsonl',
    doc: (r) => ({
      context:
        '문장1: ' + r.SENTENCE1 + ' 문장2: ' + r.SENTENCE2 + ' 두 문장에서 ' + r.Target + '가 같은 뜻으로 쓰였나?',
      choices: ['아니오', '예'],
      gold: r.ANSWER.toLowerCase() === 'true' ? 1 : 0,
    }),
  },
};

/** The harness's loglikelihood for one (context, continuation), with a plain forward pass. */
function harnessLoglik(m: LoadedModel, context: string, continuation: string): number {
  const nSpaces = context.length - context.trimEnd().length;
  if (nSpaces > 0) {
    continuation = context.slice(-nSpaces) + continuation;
    context = context.slice(0, -nSpaces);
  }
  const whole = m.tokenizer.encode(context + continuation, { bos: true });
  const ctx = m.tokenizer.encode(context, { bos: true });
  const cont = whole.slice(ctx.length);
  const seq = [...ctx, ...cont].slice(-(m.config.maxSeqLen + 1));
  const inp = seq.slice(0, -1);
  const V = m.config.vocabSize;
  const logits = tf.tidy(() => forward(m, tf.tensor2d([inp], [1, inp.length], 'int32')).dataSync() as Float32Array);
  let sum = 0;
  for (let t = inp.length - cont.length; t < inp.length; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let z = 0;
    for (const x of row) z += Math.exp(x - max);
    sum += row[seq[t + 1]] - max - Math.log(z);
  }
  return sum;
}

describe('KoBEST contexts, continuations and per-item log-likelihoods match the harness recipe (stories260K, wasm)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    // wasm for speed: the prompt formulas and the scoring recipe are under test, not the backend
    expect(await tf.setBackend('wasm')).toBe(true);
    m = loadStories();
  });

  for (const task of KOBEST_TASKS) {
    it(task.name, async () => {
      const h = HARNESS[task.name];
      expect(h, `no harness recipe written for ${task.name}`).toBeDefined();
      const rows = bundledRows(h.file, N) as Row[];
      const report = await evaluate(m, [task], { source: bundledSource(), limit: N, includeText: true });
      const items = report.results[task.name].items;
      expect(items).toHaveLength(N);
      let spread = 0;
      for (let i = 0; i < N; i++) {
        const want = h.doc(rows[i]);
        expect(items[i].context).toBe(want.context);
        expect(items[i].choices).toEqual(want.choices);
        expect(items[i].gold).toBe(want.gold);
        const ll = want.choices.map((c) => harnessLoglik(m, want.context, ' ' + c));
        for (let c = 0; c < ll.length; c++) {
          expect(
            Math.abs(items[i].loglik[c] - ll[c]),
            `item ${i} choice ${c}: lab ${items[i].loglik[c]} vs harness ${ll[c]}`,
          ).toBeLessThan(1e-4 * Math.max(1, Math.abs(ll[c])));
        }
        spread = Math.max(spread, Math.max(...ll) - Math.min(...ll));
      }
      // the comparison has teeth: the choices' log-likelihoods are far apart compared with the tolerance
      expect(spread).toBeGreaterThan(0.01);
    });
  }
});
