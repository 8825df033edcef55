import { helpText, parseArgs, type Spec } from '../args';
import { BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadModelArg } from '../node-env';
import { countParams } from '../../src/lib/model/config';

const SPEC: Spec = {
  ...MODEL_FLAGS,
  backend: BACKEND_FLAG,
  json: { type: 'boolean', help: 'print one JSON document' },
  help: HELP_FLAG,
};

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'info');
  if (a.help) return (console.log(helpText('info', 'Loads and describes a model.', SPEC)), 0);
  const backend = await initNodeBackend(a.backend as string | undefined, (s) => process.stderr.write(s + '\n'));
  const m = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const c = m.config;
  const out = {
    arch: c.arch,
    n_params: countParams(c),
    vocab_size: c.vocabSize,
    n_layers: c.nLayers,
    dim: c.dim,
    max_seq_len: c.maxSeqLen,
    backend: backend.name,
  };
  if (a.json) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(12)} ${v}`);
  return 0;
}
