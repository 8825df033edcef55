import { describe, expect, it } from 'vitest';
import {
  newRowsStart,
  objectiveDefaults,
  readTrainForm,
  ROWS_LR,
  rowsDefaults,
  withRows,
} from '../../src/ui/train-defaults';

describe('Train form: the added tokens’ rows and the form kept across reloads', () => {
  it('the rows start after the old vocabulary, only on a model with added tokens', () => {
    expect(newRowsStart({ config: { vocabSize: 1536 }, added: 1024 })).toBe(512);
    expect(newRowsStart({ config: { vocabSize: 512 } })).toBeNull();
    expect(newRowsStart(null)).toBeNull();
  });

  it('a run trains the rows at their own rate when the form says so, never on a model without added tokens', () => {
    const cfg = objectiveDefaults('pt');
    expect(withRows(cfg, rowsDefaults('pt'), 512)).toMatchObject({ trainRowsFrom: 512, rowsLr: ROWS_LR.pt });
    const off = withRows({ ...cfg, trainRowsFrom: 3, rowsLr: 1 }, { train: false, lr: 0.1 }, 512);
    expect('trainRowsFrom' in off || 'rowsLr' in off).toBe(false);
    expect('trainRowsFrom' in withRows(cfg, rowsDefaults('pt'), null)).toBe(false);
  });

  it('reads a kept form back; a field of another type or a missing one takes the objective default', () => {
    const cfg = { ...objectiveDefaults('sft'), steps: 7, lr: 'x', lora: { ...objectiveDefaults('sft').lora, r: 2 } };
    const form = readTrainForm(
      JSON.parse(JSON.stringify({ config: cfg, name: 'n', rows: { train: false, lr: 0.02 } })),
    );
    expect(form?.config).toEqual({
      ...objectiveDefaults('sft'),
      steps: 7,
      lora: { ...objectiveDefaults('sft').lora, r: 2 },
    });
    expect(form?.name).toBe('n');
    expect(form?.rows).toEqual({ train: false, lr: 0.02 });
    expect(readTrainForm({ config: { objective: 'nope' } })).toBeNull();
    expect(readTrainForm('garbage')).toBeNull();
    expect(readTrainForm({ config: { objective: 'clo' } })?.rows).toEqual(rowsDefaults('clo'));
  });
});
