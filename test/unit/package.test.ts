// What an installed package needs: every package the built code imports is a
// run-time dependency (a devDependency is absent after `npm install -g`), the
// `paxos` command points at the entry that runs without tsx, and the name is
// ours (the registry's `paxos` is an unrelated package).
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

interface PackageJson {
  name: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string>;
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
}

const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The module specifiers of a file's imports and re-exports, static and dynamic, read from its syntax tree. */
function specifiersOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Packages (bare specifiers, not built into Node) imported by the built JavaScript (npm test builds first), each with one importer. */
function importedPackages(): Map<string, string> {
  const found = new Map<string, string>();
  const dist = path.join(root, 'dist');
  for (const name of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'))) {
    for (const specifier of specifiersOf(name, readFileSync(path.join(dist, name), 'utf8'))) {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(packageOf(specifier))) continue;
      found.set(packageOf(specifier), `dist/${name}`);
    }
  }
  return found;
}

describe('package.json', () => {
  it('lists every package the built code imports in dependencies', () => {
    const imported = importedPackages();
    // The scan sees what the code imports (react/jsx-runtime only appears in the built .tsx).
    expect([...imported.keys()]).toEqual(expect.arrayContaining(['@oclif/core', 'msgpackr', 'ink', 'react', 'proper-lockfile']));
    const missing = [...imported].filter(([name]) => packageJson.dependencies[name] === undefined).map(([name, file]) => `${name} (imported by ${file})`);
    expect(missing).toEqual([]);
  });

  it('installs the paxos command from the built entry, under a name of our own', () => {
    expect(packageJson.name).not.toBe('paxos');
    expect(packageJson.bin).toEqual({ paxos: './bin/run.js' });
    expect(readFileSync(path.join(root, 'bin/run.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    // bin/dev.js needs tsx, a devDependency: it must not be installed.
    expect(packageJson.files).toEqual(expect.arrayContaining(['bin/run.js', 'dist', 'oclif.manifest.json']));
    expect(packageJson.files).not.toContain('bin');
    expect(packageJson.exports['.']).toBe('./dist/index.js');
    // A tarball packed from a clean clone builds dist and the manifest first.
    expect(packageJson.scripts.prepare).toBe('npm run build');
    expect(packageJson.scripts.build).toMatch(/tsc .*&& oclif manifest$/);
  });
});
