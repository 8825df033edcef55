/**
 * The headless runner: `npm run lab -- COMMAND [flags]` (docs/cli.md).
 * Each command lives in cli/commands/<name>.ts and exports run(argv) → exit code.
 */
import { UsageError } from './args';

const COMMANDS: Record<string, string> = {
  info: 'load and describe a model',
  generate: 'sample text (greedy at --temperature 0)',
  score: 'log-probability of a response given a prompt (docs/methods.md §1)',
  train: 'train a LoRA adapter with SFT, DPO, ORPO or CLO (or continue pretraining: pt)',
  eval: 'KoBEST and English scoring (docs/methods.md §4-5)',
  'build-pairs': 'build CLO quadruples from English SFT data with a translator',
  export: 'write a PEFT adapter, a merged model or a TRL bundle',
  experiment: 'run a recipe: train every arm, evaluate base and arms, write the report',
  vocab: 'extend the vocabulary with target-language tokens (SALT, mean or random init)',
};

function usage(): string {
  return [
    'usage: npm run lab -- COMMAND [flags]   (each command: --help)',
    '',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : 2;
  }
  if (!COMMANDS[cmd])
    throw new UsageError(`unknown command "${cmd}" (expected one of: ${Object.keys(COMMANDS).join(', ')})`);
  const mod = (await import(`./commands/${cmd}.ts`)) as { run(argv: string[]): Promise<number> };
  return mod.run(rest);
}

// Started by cli/launch.mjs (in a process group of its own): when the launcher is gone (killed outright, so
// it could not pass a signal on), act as on SIGHUP rather than run on unseen (`train` saves first).
const launcher = Number(process.env.CLO_LAUNCHER_PID ?? 0);
if (launcher > 0)
  setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, 'SIGHUP');
  }, 500).unref();

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg.split('\n')[0]}\n`);
    if (process.env.CLO_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
