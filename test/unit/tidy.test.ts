// Keeps the rooms tidy (docs/architecture.md, "Which room may import which"):
// the Paxos core stays pure, so a simulation can run it deterministically, and
// every room imports only the rooms its rule names (the rules and their engine
// are in tidy-rules.ts). The checks read the TypeScript syntax tree, so a word
// in a comment or a string does not count.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { importsOf, roomOf, roomRules, roomViolations, type RoomRule } from './tidy-rules.js';

const root = path.resolve(import.meta.dirname, '../..');
const coreDir = path.join(root, 'src/node/core');
const wireDir = path.join(root, 'src/wire');

interface Found {
  line: number;
  what: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ts|tsx|mts|cts|js|mjs)$/.test(name))
    .map((name) => path.join(dir, name))
    .sort();
}

/** Every module specifier (static, re-export, dynamic import, require) and every use of a global we care about. */
function scan(fileName: string, text: string): { imports: (Found & { specifier: string })[]; globals: Found[] } {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const imports: (Found & { specifier: string })[] = [];
  const globals: Found[] = [];
  const addImport = (node: ts.Node, specifier: ts.Expression | undefined) => {
    if (specifier !== undefined && ts.isStringLiteralLike(specifier)) {
      imports.push({ line: lineOf(node), what: `imports '${specifier.text}'`, specifier: specifier.text });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) addImport(node, node.moduleSpecifier);
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      addImport(node, node.moduleReference.expression);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        addImport(node, node.arguments[0]);
      }
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) addImport(node, node.argument.literal);
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const access = `${node.expression.text}.${node.name.text}`;
      if (['Math.random', 'Date.now', 'performance.now'].includes(access)) globals.push({ line: lineOf(node), what: `uses ${access}` });
      if (node.expression.text === 'process') globals.push({ line: lineOf(node), what: `uses ${access}` });
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date') {
      globals.push({ line: lineOf(node), what: 'uses new Date' });
    }
    if (ts.isIdentifier(node) && ['setTimeout', 'setInterval', 'setImmediate'].includes(node.text)) {
      const parent = node.parent;
      const isMemberName = ts.isPropertyAccessExpression(parent) && parent.name === node;
      if (!isMemberName) globals.push({ line: lineOf(node), what: `uses ${node.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { imports, globals };
}

/** The core imports only the core: no node: modules, no packages, no relative path out of the folder. */
function coreViolations(fileName: string, text: string): string[] {
  const where = (found: Found) => `${path.relative(root, fileName)}:${found.line}`;
  const { imports, globals } = scan(fileName, text);
  const problems: string[] = [];
  for (const found of imports) {
    const relative = found.specifier.startsWith('./') || found.specifier.startsWith('../');
    const target = path.resolve(path.dirname(fileName), found.specifier);
    const inside = relative && (target === coreDir || target.startsWith(coreDir + path.sep));
    if (!inside) {
      const why = found.specifier.startsWith('node:') ? 'a node: module' : relative ? 'outside src/node/core' : 'a package';
      problems.push(`${where(found)}: ${found.what} (${why})`);
    }
  }
  for (const found of globals) problems.push(`${where(found)}: ${found.what}`);
  return problems;
}


const configForbidden = new Set(['node:net', 'net', 'node:fs', 'fs', 'node:fs/promises', 'fs/promises', 'node:timers', 'timers', 'node:child_process']);

/**
 * Follows every import of `entry` that brings values (an `import type` is erased, so it
 * cannot open a socket) through the project's own files, and reports a forbidden module
 * or a timer anywhere on the way.
 */
function configViolations(entry: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const visitFile = (fileName: string): void => {
    if (seen.has(fileName)) return;
    seen.add(fileName);
    const text = readFileSync(fileName, 'utf8');
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
    const where = (node: ts.Node) => `${path.relative(root, fileName)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    const follow = (node: ts.Node, specifier: string) => {
      if (configForbidden.has(specifier)) problems.push(`${where(node)}: imports '${specifier}'`);
      if (specifier.startsWith('./') || specifier.startsWith('../')) {
        visitFile(path.resolve(path.dirname(fileName), specifier).replace(/\.js$/, '.ts'));
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.importClause?.isTypeOnly !== true) follow(node, node.moduleSpecifier.text);
      if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) follow(node, node.moduleSpecifier.text);
      if (ts.isIdentifier(node) && ['setTimeout', 'setInterval', 'setImmediate'].includes(node.text)) problems.push(`${where(node)}: uses ${node.text}`);
      ts.forEachChild(node, visit);
    };
    visit(source);
  };
  visitFile(entry);
  expect(seen.size).toBeGreaterThan(3);
  return problems;
}

describe('tidy rooms', () => {
  it('src/node/core imports only src/node/core and uses no clock, timer, randomness or process', () => {
    const files = sourceFiles(coreDir);
    expect(files.length).toBeGreaterThan(0);
    const problems = files.flatMap((file) => coreViolations(file, readFileSync(file, 'utf8')));
    expect(problems, `the core must stay pure:\n${problems.join('\n')}`).toEqual([]);
  });

  it('every file of src is in a room and imports only what its room may (docs/architecture.md)', () => {
    const srcDir = path.join(root, 'src');
    const files = sourceFiles(srcDir);
    expect(files.length).toBeGreaterThan(0);
    // Rooms that do not exist yet (driver, sim) have no files and so nothing to break.
    const present = roomRules.filter((rule) => existsSync(path.join(root, rule.room)));
    expect(present.map((rule) => rule.room)).toEqual(expect.arrayContaining(['src/node/core', 'src/wire', 'src/node/storage', 'src/client', 'src/commands']));
    const problems = files.flatMap((file) => roomViolations(file, readFileSync(file, 'utf8')));
    expect(problems, `rooms import only what docs/architecture.md allows:\n${problems.join('\n')}`).toEqual([]);
  });

  it('src/node/config.ts, and all it imports for values, opens no file or socket and uses no timer', () => {
    const problems = configViolations(path.join(root, 'src/node/config.ts'));
    expect(problems, `the configuration must stay pure, for the simulation:\n${problems.join('\n')}`).toEqual([]);
  });

  it('the checks catch what they should, and not words in comments or strings', () => {
    const file = path.join(coreDir, 'example.ts');
    const text = [
      "import { x } from './messages.js';", // 1: fine
      "import { readFileSync } from 'node:fs';", // 2
      "import type { Y } from '../storage/wal.js';", // 3
      "export * from 'msgpackr';", // 4
      '// Math.random, Date.now and setTimeout in a comment are fine', // 5
      "const s = 'process.env in a string is fine';", // 6
      'const a = Math.random() + Date.now() + performance.now();', // 7
      'const d = new Date();', // 8
      'setTimeout(() => {}, 1); const i = setInterval; queueMicrotask(() => setImmediate(() => {}));', // 9
      'const e = process.env.SEED;', // 10
      "const m = await import('node:crypto');", // 11
      "import { z } from './sub/inner.js';", // 12: fine (still inside)
    ].join('\n');
    expect(coreViolations(file, text)).toEqual([
      "src/node/core/example.ts:2: imports 'node:fs' (a node: module)",
      "src/node/core/example.ts:3: imports '../storage/wal.js' (outside src/node/core)",
      "src/node/core/example.ts:4: imports 'msgpackr' (a package)",
      "src/node/core/example.ts:11: imports 'node:crypto' (a node: module)",
      'src/node/core/example.ts:7: uses Math.random',
      'src/node/core/example.ts:7: uses Date.now',
      'src/node/core/example.ts:7: uses performance.now',
      'src/node/core/example.ts:8: uses new Date',
      'src/node/core/example.ts:9: uses setTimeout',
      'src/node/core/example.ts:9: uses setInterval',
      'src/node/core/example.ts:9: uses setImmediate',
      'src/node/core/example.ts:10: uses process.env',
    ]);
    const wireFile = path.join(wireDir, 'example.ts');
    const wireText = "import net from 'node:net';\nimport { Packr } from 'msgpackr';\nconst fs = require('fs');\nimport type { NodeId } from '../node/core/messages.js';";
    expect(roomViolations(wireFile, wireText)).toEqual([
      "src/wire/example.ts:1: imports 'node:net' (src/wire never imports node:net)",
      "src/wire/example.ts:3: imports 'fs' (src/wire never imports node:fs)",
    ]);
  });
});

/** Checks one made-up file of `room` holding `lines`. */
function violationsOf(file: string, lines: string[], rules?: readonly RoomRule[]): string[] {
  return roomViolations(path.join(root, file), lines.join('\n'), rules);
}

describe('the room rule engine', () => {
  it('reports a fake file that breaks its room rule, with file, line and why', () => {
    expect(violationsOf('src/node/storage/example.ts', [
      "import { readFile } from 'node:fs/promises';", // 1: storage reads files
      "import type { Ballot } from '../core/messages.js';", // 2: fine
      "import { Transport } from '../runtime/transport.js';", // 3
      "import { connect } from '../../client/api.js';", // 4
      "import Submit from '../../commands/submit.js';", // 5
      "import net from 'node:net';", // 6
    ])).toEqual([
      "src/node/storage/example.ts:3: imports '../runtime/transport.js' (src/node/storage may not import src/node/runtime)",
      "src/node/storage/example.ts:4: imports '../../client/api.js' (src/node/storage may not import src/client)",
      "src/node/storage/example.ts:5: imports '../../commands/submit.js' (nothing imports src/commands)",
      "src/node/storage/example.ts:6: imports 'node:net' (src/node/storage never imports node:net)",
    ]);
  });

  it('keeps client off runtime and commands, runtime off client and commands, check off src/node', () => {
    expect(violationsOf('src/client/example.ts', ["import { loadNodeTls } from '../node/runtime/tls.js';", "import { clusterFlag } from './cluster-flag.js';"])).toEqual([
      "src/client/example.ts:1: imports '../node/runtime/tls.js' (src/client may not import src/node/runtime)",
    ]);
    expect(violationsOf('src/node/runtime/example.ts', ["import { parseAddress } from '../../client/options.js';", "const c = await import('../../commands/status.js');", "import { parseAddress as p } from '../../net/address.js';"])).toEqual([
      "src/node/runtime/example.ts:1: imports '../../client/options.js' (src/node/runtime may not import src/client)",
      "src/node/runtime/example.ts:2: imports '../../commands/status.js' (nothing imports src/commands)",
    ]);
    expect(violationsOf('src/check/example.ts', ["import type { Value } from '../node/core/messages.js';", "import { encodeCanonicalJson } from '../json/canonical.js';"])).toEqual([
      "src/check/example.ts:1: imports '../node/core/messages.js' (src/check may not import src/node/core)",
    ]);
  });

  it('tells type-only imports from value imports where a room may take only types', () => {
    const driver = 'src/node/driver/example.ts';
    expect(violationsOf(driver, [
      "import type { StorageLog } from '../storage/wal.js';", // 1: fine
      "import { type StorageLog as S, type WalStats } from '../storage/wal.js';", // 2: fine
      "export type { WireMessage } from '../../wire/protocol.js';", // 3: fine
      "type M = import('../../wire/protocol.js').WireMessage;", // 4: fine
      "import { WriteAheadLog } from '../storage/wal.js';", // 5
      "import { encodeFrame } from '../../wire/frame.js';", // 6
      "import { PaxosNode } from '../core/node.js';", // 7: fine
      "import { applySlot } from '../statemachine/index.js';", // 8: fine
      "import { Transport } from '../runtime/transport.js';", // 9
      "import { readFileSync } from 'fs';", // 10
    ])).toEqual([
      "src/node/driver/example.ts:5: imports '../storage/wal.js' (src/node/driver may import only types from src/node/storage)",
      "src/node/driver/example.ts:6: imports '../../wire/frame.js' (src/node/driver may import only types from src/wire)",
      "src/node/driver/example.ts:9: imports '../runtime/transport.js' (src/node/driver may not import src/node/runtime)",
      "src/node/driver/example.ts:10: imports 'fs' (src/node/driver never imports node:fs)",
    ]);
  });

  it('lets src/sim use the storage record codec but no other storage code, no sockets, no runtime or client', () => {
    expect(violationsOf('src/sim/disk.ts', [
      "import { encodeRecord, scanSegment } from '../node/storage/record.js';", // 1: fine
      "import { WriteAheadLog } from '../node/storage/wal.js';", // 2
      "import { connect } from '../client/api.js';", // 3
      "import { startNode } from '../node/runtime/node.js';", // 4
      "import { tick } from '../node/driver/loop.js';", // 5: fine
      "import { createServer } from 'node:net';", // 6
    ])).toEqual([
      "src/sim/disk.ts:2: imports '../node/storage/wal.js' (src/sim may import only types from src/node/storage)",
      "src/sim/disk.ts:3: imports '../client/api.js' (src/sim may not import src/client)",
      "src/sim/disk.ts:4: imports '../node/runtime/node.js' (src/sim may not import src/node/runtime)",
      "src/sim/disk.ts:6: imports 'node:net' (src/sim never imports node:net)",
    ]);
  });

  it('lets commands import anything, and nothing import commands; ui stays off sockets', () => {
    expect(violationsOf('src/commands/example.ts', ["import { startNode } from '../node/runtime/node.js';", "import Status from './status.js';", "import { Dashboard } from '../ui/top/Dashboard.js';"])).toEqual([]);
    expect(violationsOf('src/ui/example.tsx', ["import net from 'node:net';", "import type { StatusRow } from '../client/status-report.js';", "import { lockDataDir } from '../node/storage/lock.js';"])).toEqual([
      "src/ui/example.tsx:1: imports 'node:net' (src/ui never imports node:net)",
      "src/ui/example.tsx:3: imports '../node/storage/lock.js' (src/ui may not import src/node/storage)",
    ]);
    expect(violationsOf('src/index.ts', ["export { connect } from './client/api.js';", "import Submit from './commands/submit.js';"])).toEqual([
      "src/index.ts:2: imports './commands/submit.js' (src/index.ts never imports src/commands)",
    ]);
  });

  it('reports a file in no room, and ignores words in comments and strings', () => {
    expect(violationsOf('src/newroom/thing.ts', ["import { x } from './y.js';"])).toEqual([
      'src/newroom/thing.ts: is in no room of the import rules: add the room to docs/architecture.md and test/unit/tidy-rules.ts',
    ]);
    expect(violationsOf('src/node/storage/quiet.ts', ["// import { t } from '../runtime/transport.js';", "const s = \"import net from 'node:net'\";"])).toEqual([]);
  });

  it('finds the longest matching room, and a room that does not exist yet is fine', () => {
    expect(roomOf('src/node/storage/wal.ts')?.room).toBe('src/node/storage');
    expect(roomOf('src/index.ts')?.room).toBe('src/index.ts');
    expect(roomOf('src/node/nothing/x.ts')).toBeNull();
    const rules: RoomRule[] = [{ room: 'src/node/core', imports: [] }, { room: 'src/node/not-yet', imports: [] }];
    expect(violationsOf('src/node/core/example.ts', ["import { x } from './messages.js';"], rules)).toEqual([]);
    expect(importsOf('x.ts', "import a from 'a';\nexport type { B } from 'b';\nimport './c.js';").map((found) => `${found.specifier}:${found.typeOnly}`)).toEqual(['a:false', 'b:true', './c.js:false']);
  });
});

/**
 * Names exported from `entry` (the package's library API) without a TSDoc
 * comment, and members of exported interfaces without one: issue 8 asks for
 * TSDoc on every export.
 */
function undocumentedExports(entry: string): string[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    jsx: ts.JsxEmit.ReactJSX,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`cannot read ${entry}`);
  const documented = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== '';
  const missing: string[] = [];
  const exports = checker.getExportsOfModule(moduleSymbol);
  if (exports.length === 0) throw new Error(`${entry} exports nothing`);
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!documented(symbol)) missing.push(exported.name);
    if (symbol.flags & ts.SymbolFlags.Interface) {
      for (const member of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
        if (!documented(member)) missing.push(`${exported.name}.${member.name}`);
      }
    }
  }
  return missing;
}

describe('the library API', () => {
  it('has TSDoc on every export of src/index.ts and on every member of its exported interfaces', () => {
    expect(undocumentedExports(path.join(root, 'src/index.ts'))).toEqual([]);
  }, 30_000);
});
