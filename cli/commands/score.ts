import { helpText, parseArgs, type Spec } from '../args';
import { ADAPTER_FLAG, BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadAdapterArg, loadModelArg } from '../node-env';
import { scoreSequences } from '../../src/lib/model/score';
import { tokenizePair } from '../../src/lib/model/batch';

const SPEC: Spec = {
  ...MODEL_FLAGS,
  adapter: ADAPTER_FLAG,
  prompt: { type: 'string', help: 'prompt text, used as given', required: true },
  response: { type: 'string', help: 'response text, used as given (nothing appended)', required: true },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', help: 'print {sum_logprob, mean_logprob, n_tokens}' },
  help: HELP_FLAG,
};

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'score');
  if (a.help)
    return (
      console.log(
        helpText(
          'score',
          'log p(response | prompt): prompt and response tokenized together; response = tokens past the prompt’s count.',
          SPEC,
        ),
      ),
      0
    );
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
