/**
 * docs/engine-api.md cannot drift: every `file | exports` table row names a file of src/lib that
 * exists and exports each listed name (read with the TypeScript parser), and every src/lib module
 * (folder) has rows.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/helpers';

const LIB = resolve(ROOT, 'src/lib');
const DOC = readFileSync(resolve(ROOT, 'docs/engine-api.md'), 'utf8');

/** Table rows `| \`dir/file.ts\` | \`name\`, \`name\` |` → file → names. */
function documented(md: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of md.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const file = /^`([\w./-]+\.ts)`$/.exec(cells[1] ?? '')?.[1];
    if (!file) continue;
    out.set(
      file,
      [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]),
    );
  }
  return out;
}

/** Names a module exports: declarations with `export`, and `export { a, b as c }` lists. */
function exportedNames(file: string): Set<string> {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const names = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      if (st.exportClause && ts.isNamedExports(st.exportClause))
        st.exportClause.elements.forEach((e) => names.add(e.name.text));
      continue;
    }
    const exported =
      ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => names.add(d.name.getText(sf)));
    else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st)) &&
      st.name
    ) {
      names.add(st.name.text);
    }
  }
  return names;
}

describe('docs/engine-api.md', () => {
  const doc = documented(DOC);

  it('lists files (sanity: the parser finds the tables)', () => {
    expect(doc.size).toBeGreaterThan(60);
  });

  it('every listed file exists and exports every listed name', () => {
    const missing: string[] = [];
    for (const [file, names] of doc) {
      const p = resolve(LIB, file);
      if (!existsSync(p)) {
        missing.push(`${file}: no such file`);
        continue;
      }
      const have = exportedNames(p);
      for (const n of names) if (!have.has(n)) missing.push(`${file}: no export ${n}`);
    }
    expect(missing).toEqual([]);
  });

  it('every src/lib module has a section with its files', () => {
    const modules = readdirSync(LIB).filter((d) => statSync(resolve(LIB, d)).isDirectory());
    const covered = new Set([...doc.keys()].map((f) => f.split('/')[0]));
    expect(modules.filter((m) => !covered.has(m))).toEqual([]);
  });

  it('the checks have teeth (a planted wrong name and a planted missing file)', () => {
    const planted = documented('| `train/trainer.ts` | `Trainer`, `NoSuchThing` |\n| `model/nope.ts` | `x` |');
    expect(planted.get('train/trainer.ts')).toEqual(['Trainer', 'NoSuchThing']);
    expect(exportedNames(resolve(LIB, 'train/trainer.ts')).has('NoSuchThing')).toBe(false);
    expect(exportedNames(resolve(LIB, 'train/trainer.ts')).has('Trainer')).toBe(true);
    expect(existsSync(resolve(LIB, 'model/nope.ts'))).toBe(false);
  });
});
