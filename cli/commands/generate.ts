import { helpText, intFlag, parseArgs, UsageError, type Spec } from '../args';
import { ADAPTER_FLAG, BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadAdapterArg, loadModelArg } from '../node-env';
import { generate } from '../../src/lib/model/generate';

const SPEC: Spec = {
  ...MODEL_FLAGS,
  adapter: ADAPTER_FLAG,
  prompt: { type: 'string', help: 'prompt text (used as given)', default: '' },
  'max-new-tokens': { type: 'number', help: 'tokens to generate', default: 64, int: true, min: 1, max: 1_000_000 },
  temperature: { type: 'number', help: '0 = greedy', default: 0, min: 0, max: 100 },
  'top-p': { type: 'number', help: 'nucleus sampling mass', default: 1, gt: 0, max: 1 },
  seed: { type: 'number', help: 'sampling seed', default: 0, int: true, min: 0, max: 4294967295 },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', help: 'print {text, ids}' },
  help: HELP_FLAG,
};

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'generate');
  if (a.help)
    return (console.log(helpText('generate', 'Samples from the model; stops at EOS or BOS-as-end.', SPEC)), 0);
  const maxNew = intFlag(a, 'max-new-tokens', 'generate');
  await initNodeBackend(a.backend as string | undefined, (s) => process.stderr.write(s + '\n'));
  const m = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const lora = a.adapter ? await loadAdapterArg(a.adapter as string, m) : null;
  const ids = m.tokenizer.encode(a.prompt as string);
  if (ids.length === 0)
    throw new UsageError(
      `generate: flag --prompt: the prompt gives no tokens (it is empty and ${m.name}'s tokenizer adds no BOS); give some text`,
    );
  const room = m.config.maxSeqLen - Math.min(ids.length, m.config.maxSeqLen) + 1;
  if (room < maxNew)
    process.stderr.write(
      `generate: the prompt takes ${ids.length} of ${m.name}'s ${m.config.maxSeqLen} context tokens, leaving room for ${room} of the ${maxNew} new tokens asked\n`,
    );
  const out = await generate(m, ids, {
    maxNewTokens: maxNew,
    temperature: a.temperature as number,
    topP: a['top-p'] as number,
    seed: a.seed as number,
    lora,
    onToken: a.json ? undefined : (_id, t) => process.stdout.write(t),
  });
  if (a.json) console.log(JSON.stringify({ text: out.text, ids: out.ids }));
  else process.stdout.write('\n');
  return 0;
}
