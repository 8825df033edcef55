/** Minimal flag parser for the headless runner: `--name value`, `--name=value`, boolean `--flag`. */
export class UsageError extends Error {}

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
  required?: boolean;
  choices?: string[];
}
export type Spec = Record<string, FlagSpec>;
export type Parsed = Record<string, string | number | boolean | undefined>;

/** Hand-written rather than node:util parseArgs so numbers, choices and errors name the flag exactly as cli.md asks. */
export function parseArgs(argv: string[], spec: Spec, command: string): Parsed {
  const out: Parsed = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`${command}: unexpected argument "${a}" (flags start with --; see --help)`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const s = spec[name];
    if (!s) throw new UsageError(`${command}: unknown flag --${name} (see --help)`);
    if (s.type === 'boolean') {
      out[name] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: flag --${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${command}: flag --${name} needs a number, got "${value}"`);
      out[name] = n;
    } else {
      if (s.choices && !s.choices.includes(value)) throw new UsageError(`${command}: flag --${name} must be one of ${s.choices.join('|')}, got "${value}"`);
      out[name] = value;
    }
  }
  if (!out.help) for (const [k, s] of Object.entries(spec)) if (s.required && out[k] === undefined) throw new UsageError(`${command}: missing required flag --${k}`);
  return out;
}

export function helpText(command: string, summary: string, spec: Spec): string {
  const lines = [`npm run lab -- ${command} [flags]`, '', summary, '', 'Flags:'];
  for (const [k, s] of Object.entries(spec)) {
    const def = s.default !== undefined ? ` (default: ${s.default})` : s.required ? ' (required)' : '';
    lines.push(`  --${k}${s.type === 'boolean' ? '' : ` <${s.choices ? s.choices.join('|') : s.type}>`}  ${s.help}${def}`);
  }
  return lines.join('\n');
}

/** Integer check for flags like --steps. */
export function intFlag(p: Parsed, name: string, command: string, min = 1): number {
  const v = p[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`${command}: flag --${name} must be an integer >= ${min}, got "${v}"`);
  return v;
}
