/** Minimal flag parser for the headless runner: `--name value`, `--name=value`, boolean `--flag`. */
export class UsageError extends Error {}

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
  required?: boolean;
  choices?: string[];
  /** number flags: whole numbers only */
  int?: boolean;
  /** number flags: inclusive lower bound */
  min?: number;
  /** number flags: exclusive lower bound (e.g. 0 for "positive") */
  gt?: number;
  /** number flags: inclusive upper bound */
  max?: number;
  /** number flags: exclusive upper bound */
  lt?: number;
}
export type Spec = Record<string, FlagSpec>;
export type Parsed = Record<string, string | number | boolean | undefined>;

/** Plain decimal numbers only: "0x2", "1e", "Infinity", "1_000", "" and "abc" are not numbers here. */
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** The range of a number flag in words ("an integer >= 1", "a number in (0, 1]"), or '' when it has none. */
export function rangeText(s: FlagSpec): string {
  const lo = s.gt !== undefined ? `> ${s.gt}` : s.min !== undefined ? `>= ${s.min}` : '';
  const hi = s.lt !== undefined ? `< ${s.lt}` : s.max !== undefined ? `<= ${s.max}` : '';
  const what = s.int ? 'an integer' : 'a number';
  if (!lo && !hi) return s.int ? what : '';
  return `${what} ${[lo, hi].filter(Boolean).join(' and ')}`;
}

/** Checks a number against the flag's declared range; returns the error text or null. */
export function rangeError(name: string, s: FlagSpec, n: number): string | null {
  const bad =
    !Number.isFinite(n) ||
    (s.int && !Number.isInteger(n)) ||
    (s.min !== undefined && n < s.min) ||
    (s.gt !== undefined && n <= s.gt) ||
    (s.max !== undefined && n > s.max) ||
    (s.lt !== undefined && n >= s.lt);
  return bad ? `flag --${name} must be ${rangeText(s) || 'a finite number'}, got ${n}` : null;
}

/**
 * Hand-written rather than node:util parseArgs so numbers, choices and errors name the flag exactly as docs/cli.md asks.
 * Strict: unknown flags (prototype names such as __proto__ included), a flag given twice, numbers that are not
 * plain decimals, numbers outside the flag's declared range and booleans other than true/false/1/0/yes/no/on/off
 * are all refused with a one-line UsageError.
 */
export function parseArgs(argv: string[], spec: Spec, command: string): Parsed {
  const out: Parsed = Object.create(null) as Parsed;
  const seen = new Set<string>();
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--'))
      throw new UsageError(`${command}: unexpected argument "${a}" (flags start with --; see --help)`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const s = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!s) throw new UsageError(`${command}: unknown flag --${name} (see --help)`);
    if (seen.has(name)) throw new UsageError(`${command}: flag --${name} given more than once`);
    seen.add(name);
    if (s.type === 'boolean') {
      if (value === undefined) out[name] = true;
      else if (TRUE_WORDS.includes(value.toLowerCase())) out[name] = true;
      else if (FALSE_WORDS.includes(value.toLowerCase())) out[name] = false;
      else
        throw new UsageError(
          `${command}: flag --${name} is a switch: give it alone or as --${name}=true|false, got "${value}"`,
        );
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${command}: flag --${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'number') {
      const t = value.trim();
      const n = Number(t);
      if (!NUMBER_RE.test(t) || !Number.isFinite(n))
        throw new UsageError(`${command}: flag --${name} needs a number, got "${value}"`);
      const err = rangeError(name, s, n);
      if (err) throw new UsageError(`${command}: ${err}`);
      out[name] = n;
    } else {
      if (s.choices && !s.choices.includes(value))
        throw new UsageError(`${command}: flag --${name} must be one of ${s.choices.join('|')}, got "${value}"`);
      out[name] = value;
    }
  }
  if (!out.help)
    for (const [k, s] of Object.entries(spec))
      if (s.required && out[k] === undefined) throw new UsageError(`${command}: missing required flag --${k}`);
  return out;
}

export function helpText(command: string, summary: string, spec: Spec): string {
  const lines = [`npm run lab -- ${command} [flags]`, '', summary, '', 'Flags:'];
  for (const [k, s] of Object.entries(spec)) {
    const def = s.default !== undefined ? ` (default: ${s.default})` : s.required ? ' (required)' : '';
    const range = s.type === 'number' && rangeText(s) ? ` [${rangeText(s)}]` : '';
    lines.push(
      `  --${k}${s.type === 'boolean' ? '' : ` <${s.choices ? s.choices.join('|') : s.type}>`}  ${s.help}${range}${def}`,
    );
  }
  return lines.join('\n');
}

/** Integer check for flags like --steps. */
export function intFlag(p: Parsed, name: string, command: string, min = 1): number {
  const v = p[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new UsageError(`${command}: flag --${name} must be an integer >= ${min}, got "${v}"`);
  return v;
}

/**
 * A value the command had to lower (or raise) to what the model or data allow: said on stderr, and the
 * caller records the returned value (not the one asked for) wherever it records its settings.
 */
export function clampFlag(
  command: string,
  name: string,
  asked: number,
  lo: number,
  hi: number,
  why: string,
  log: (s: string) => void = (s) => process.stderr.write(s + '\n'),
): number {
  const used = Math.min(hi, Math.max(lo, asked));
  if (used !== asked)
    log(
      `${command}: --${name} ${asked} lowered to ${used} (${why})`.replace(
        'lowered',
        used > asked ? 'raised' : 'lowered',
      ),
    );
  return used;
}

/**
 * A LoRA rank above the model's hidden size adds parameters and memory but no capacity (the update
 * of a d-wide layer has rank at most d): the message refusing it, or null.
 */
export function rankTooHigh(r: number, dim: number, modelName: string): string | null {
  return r > dim
    ? `LoRA rank ${r} is above ${modelName}'s hidden size ${dim}; a rank above it adds memory, not capacity (use at most ${dim})`
    : null;
}
