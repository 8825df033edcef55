/**
 * Rewrites the `file | exports` tables of docs/engine-api.md from src/lib itself: one section per
 * module folder (the prose under each `## module` heading is kept; a new module gets a stub heading),
 * one row per file, its exported names read with the TypeScript parser. tests/docs/engine-api-doc
 * checks the result, so run `npm run docs:api` after adding or renaming engine files or exports.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const LIB = resolve(ROOT, 'src/lib');
const DOC = resolve(ROOT, 'docs/engine-api.md');

function exportsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const names: string[] = [];
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      if (st.exportClause && ts.isNamedExports(st.exportClause))
        st.exportClause.elements.forEach((e) => names.push(e.name.text));
      continue;
    }
    if (!(ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)))
      continue;
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => names.push(d.name.getText(sf)));
    else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st)) &&
      st.name
    )
      names.push(st.name.text);
  }
  return [...new Set(names)];
}

function table(module: string): string {
  const dir = join(LIB, module);
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => [
      `\`${relative(LIB, join(dir, f))}\``,
      exportsOf(join(dir, f))
        .map((n) => `\`${n}\``)
        .join(', ') || '(side effects only)',
    ]);
  return ['| file | exports |', '| --- | --- |', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
}

const modules = readdirSync(LIB)
  .filter((d) => statSync(join(LIB, d)).isDirectory())
  .sort();
let doc = readFileSync(DOC, 'utf8');
for (const m of modules) {
  const head = new RegExp(`^## ${m}\\n`, 'm');
  if (!head.test(doc)) doc = doc.trimEnd() + `\n\n## ${m}\n\n${m} module.\n\n| file | exports |\n| --- | --- |\n`;
  // the section's table: from its first table line to the end of that table
  doc = doc.replace(
    new RegExp(`(^## ${m}\\n[\\s\\S]*?)(^\\|.*\\n(?:^\\|.*\\n?)*)`, 'm'),
    (_all, pre: string) => `${pre}${table(m)}\n`,
  );
}
writeFileSync(DOC, doc);
console.log(`docs/engine-api.md: tables for ${modules.join(', ')}`);
