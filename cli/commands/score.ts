import { helpText, parseArgs, type Spec } from '../args';
import { initNodeBackend, loadAdapterArg, loadModelArg } from '../node-env';
import { scoreSequences } from '../../src/lib/model/score';
import { tokenizePair } from '../../src/lib/objectives/logprobs';

const SPEC: Spec = {
  model: { type: 'string', help: 'stories260K, a llama2.c .bin, or a Hugging Face folder', default: 'stories260K' },
  tokenizer: { type: 'string', help: 'llama2.c tokenizer .bin (for a .bin model)' },
  adapter: { type: 'string', help: 'PEFT adapter folder' },
  prompt: { type: 'string', help: 'prompt text, used as given', required: true },
  response: { type: 'string', help: 'response text, used as given (nothing appended)', required: true },
  backend: { type: 'string', help: 'webgpu | wasm | cpu', choices: ['webgpu', 'wasm', 'cpu'] },
  json: { type: 'boolean', help: 'print {sum_logprob, mean_logprob, n_tokens}' },
  help: { type: 'boolean', help: 'show this help' },
};

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'score');
  if (a.help) return console.log(helpText('score', 'log p(response | prompt): prompt and response tokenized together; response = tokens past the prompt’s count.', SPEC)), 0;
  await initNodeBackend(a.backend as string | undefined, (s) => process.stderr.write(s + '\n'));
  const m = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const lora = a.adapter ? await loadAdapterArg(a.adapter as string, m) : null;
  const seq = tokenizePair(m.tokenizer, a.prompt as string, a.response as string, m.config.maxSeqLen, false);
  const [r] = await scoreSequences(m, [seq], { lora });
  const out = { sum_logprob: r.sum, mean_logprob: r.sum / r.count, n_tokens: r.count };
  if (a.json) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(13)} ${v}`);
  return 0;
}
