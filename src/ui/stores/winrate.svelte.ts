/**
 * Win-rate view state (runes): the session setup, the answer-generation job, the judgements and the
 * saved sessions. Kept out of the component so generating answers goes on (and judging resumes
 * where it was) when the person switches views. Sessions are saved in IndexedDB after every
 * judgement (EvalResultStore.saveWinRate), and can be exported (JSON, CSV) and imported (JSON).
 *
 * The view passes labels in (generate): this module does not read the runs or backend stores.
 */
import { finishJob, startJob } from './jobs.svelte';
import { createSession, recordJudgement, summarize, type Judgement, type WinRateSession } from '../../lib/eval/winrate';
import { parseWinRateJson, winRateCsv, winRateJson, type GenerationSettings } from '../../lib/eval/winrate-export';
import { winRateStats } from '../../lib/eval/wilson';
import type { WinRateRecord } from '../../lib/eval/results-store';
import type { EvalProgress, EvalTarget } from '../../../workers/eval/protocol';
import { evalJobs } from '../../../workers/host/registry';
import { JobError } from '../../../workers/host/job-worker';
import { evalStore } from './eval.svelte';

export const DEFAULT_PROMPTS = [
  'Once upon a time, there was a little dog',
  '옛날 옛적에 작은 고양이가',
  'Lily wanted to play in the park',
  '어느 날 소년은 숲에서',
  'The sun was hot and the children',
];

export interface Side {
  /** 'base' or a run id */
  target: string;
  label: string;
}

class WinRateState {
  xTarget = $state('');
  yTarget = $state('base');
  promptsText = $state(DEFAULT_PROMPTS.join('\n'));
  maxNewTokens = $state(32);
  temperature = $state(0.8);
  seed = $state(1);
  phase = $state<'setup' | 'generating' | 'judging' | 'done'>('setup');
  progress = $state<{ side: string; p: EvalProgress | null } | null>(null);
  session = $state<WinRateSession | null>(null);
  /** generation settings of the session shown */
  generation = $state<GenerationSettings | undefined>(undefined);
  current = $state(0);
  saved = $state.raw<WinRateRecord[]>([]);
  error = $state('');
  /** the job holding the app's job slot (see claimJobSlot) */
  activeJob = $state<string | null>(null);

  prompts = $derived(
    this.promptsText
      .split('\n')
      .map((p) => p.trim())
      .filter((p) => p.length > 0),
  );
  summary = $derived(this.session ? summarize(this.session) : null);
  stats = $derived(this.summary ? winRateStats(this.summary.counts) : null);
}

export const winrate = new WinRateState();

/**
 * The one place this module takes and gives back the app's job slot: a single long job at a time.
 * Returns the release function; the slot is the page's one job slot (stores/jobs.svelte.ts).
 */
function claimJobSlot(label: string): () => void {
  const ticket = startJob('winrate', label); // throws JobBusyError naming the running job
  winrate.activeJob = label;
  return () => {
    winrate.activeJob = null;
    finishJob(ticket);
  };
}

const targetOf = (t: string): EvalTarget => (t === 'base' ? { kind: 'base' } : { kind: 'run', runId: t });

/** The answer generation's cancel (its calls' signal). */
let controller: AbortController | null = null;

async function answers(side: Side, prompts: string[], gen: GenerationSettings, signal: AbortSignal): Promise<string[]> {
  winrate.progress = { side: side.label, p: null };
  const res = await evalJobs.call(
    'generate',
    {
      target: targetOf(side.target),
      prompts,
      maxNewTokens: gen.maxNewTokens,
      temperature: gen.temperature,
      topP: gen.topP,
      seed: gen.seed,
    },
    { onProgress: (p) => (winrate.progress = { side: side.label, p }), signal },
  );
  return res.texts;
}

/** Generates both models' answers to the prompts, then opens judging. */
export async function generate(x: Side, y: Side): Promise<void> {
  if (winrate.phase === 'generating') return;
  winrate.error = '';
  let release: () => void;
  try {
    release = claimJobSlot('Generating win-rate answers');
  } catch (err) {
    winrate.error = err instanceof Error ? err.message : String(err);
    return;
  }
  winrate.phase = 'generating';
  const prompts = [...winrate.prompts];
  const gen: GenerationSettings = {
    maxNewTokens: winrate.maxNewTokens,
    temperature: winrate.temperature,
    topP: 1,
    seed: winrate.seed,
  };
  const ctl = new AbortController();
  controller = ctl;
  try {
    const xs = await answers(x, prompts, gen, ctl.signal);
    const ys = await answers(y, prompts, gen, ctl.signal);
    winrate.session = createSession(
      `wr-${Date.now().toString(36)}`,
      x.label,
      y.label,
      prompts.map((p, i) => ({ prompt: p, x: xs[i], y: ys[i] })),
      gen.seed,
    );
    winrate.generation = gen;
    winrate.current = 0;
    winrate.phase = 'judging';
    await save();
  } catch (err) {
    winrate.phase = 'setup';
    if (!(err instanceof JobError && err.cancelled)) winrate.error = err instanceof Error ? err.message : String(err);
  } finally {
    winrate.progress = null;
    if (controller === ctl) controller = null;
    release();
  }
}

export function cancel(): void {
  controller?.abort();
}

async function save(): Promise<void> {
  if (!winrate.session) return;
  try {
    await evalStore.saveWinRate({
      session: $state.snapshot(winrate.session) as WinRateSession,
      // snapshots: IndexedDB cannot clone the $state proxies
      generation: $state.snapshot(winrate.generation) ?? {
        maxNewTokens: 0,
        temperature: 0,
        topP: 1,
        seed: winrate.session.seed,
      },
      updatedAt: Date.now(),
    });
    winrate.saved = await evalStore.listWinRates();
  } catch (err) {
    winrate.error = `could not save the session: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function judge(j: Judgement): void {
  const s = winrate.session;
  if (!s || winrate.phase !== 'judging') return;
  const current = winrate.current;
  const next = recordJudgement(s, current, j);
  winrate.session = next;
  const after = next.items.findIndex((it, i) => i > current && it.judgement === null);
  const anyOpen = next.items.findIndex((it) => it.judgement === null);
  if (after >= 0) winrate.current = after;
  else if (anyOpen >= 0) winrate.current = anyOpen;
  else winrate.phase = 'done';
  void save();
}

export function reset(): void {
  winrate.session = null;
  winrate.generation = undefined;
  winrate.phase = 'setup';
}

/** Shows a session: judging where it stopped, or its result when every prompt is judged. */
function open(session: WinRateSession, generation?: GenerationSettings): void {
  winrate.session = session;
  winrate.generation = generation;
  const openAt = session.items.findIndex((it) => it.judgement === null);
  winrate.current = Math.max(0, openAt);
  winrate.phase = openAt >= 0 ? 'judging' : 'done';
}

export function openSaved(r: WinRateRecord): void {
  if (winrate.phase === 'generating') return;
  open(r.session, r.generation);
}

export async function loadSaved(): Promise<void> {
  winrate.saved = await evalStore.listWinRates();
}

export async function deleteSaved(id: string): Promise<void> {
  await evalStore.deleteWinRate(id);
  if (winrate.session?.id === id) reset();
  winrate.saved = await evalStore.listWinRates();
}

export function exportJson(): string | null {
  return winrate.session
    ? winRateJson($state.snapshot(winrate.session) as WinRateSession, $state.snapshot(winrate.generation))
    : null;
}

export function exportCsv(): string | null {
  return winrate.session ? winRateCsv($state.snapshot(winrate.session) as WinRateSession) : null;
}

/** Reads a JSON export back, saves it, and shows it. Throws a one-line reason for a bad file. */
export async function importJson(text: string, fileName: string): Promise<void> {
  if (winrate.phase === 'generating') throw new Error('wait for the answers being generated first');
  let parsed: ReturnType<typeof parseWinRateJson>;
  try {
    parsed = parseWinRateJson(text);
  } catch (err) {
    throw new Error(`${fileName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  open(parsed.session, parsed.generation);
  await save();
}
