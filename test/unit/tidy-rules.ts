// The rooms of src and which may import which (docs/architecture.md, "Which
// room may import which"), as data, and the engine that checks a file against
// them. The engine reads the TypeScript syntax tree, so a word in a comment or
// a string does not count, and it tells `import type` from a value import.
// A room whose directory does not exist yet (driver, sim) simply has no files;
// a file in no room is reported, so a new room cannot appear without a rule.
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

export const repositoryRoot = path.resolve(import.meta.dirname, '../..');

/** Modules that own a socket. */
const socketModules = ['net', 'tls', 'http', 'https', 'http2', 'dgram'];
/** Modules that reach the file system. */
const fileModules = ['fs'];

export interface RoomRule {
  /** A directory (or one file) relative to the repository root, e.g. `src/node/storage`. */
  room: string;
  /** Rooms it may import anything from (besides itself), or every room but `never`. */
  imports: readonly string[] | 'any';
  /** Rooms it may import types from, and nothing else (`import type`, `export type`, `import('...')` types). */
  typeImports?: readonly string[];
  /** Single files of other rooms it may import anything from. */
  files?: readonly string[];
  /** With `imports: 'any'`: the rooms it still may not import. */
  never?: readonly string[];
  /** node: modules it may not import (by base name: `fs` covers `node:fs/promises`). */
  forbiddenModules?: readonly string[];
  /** No node: module and no package at all. */
  noModules?: boolean;
}

const commandRooms = ['src/commands', 'src/hooks'];

/**
 * Storage's pure parts, which the driver and the simulator run on their own disks: the codecs (bytes <->
 * records, snapshots) and the start-up rule for a data dir's incarnation (log-mark.ts).
 */
const storageCodecs = ['src/node/storage/record.ts', 'src/node/storage/snapshot-codec.ts', 'src/node/storage/log-mark.ts'];

/** Every room of src and its rule; the order does not matter (the longest matching room wins). */
export const roomRules: readonly RoomRule[] = [
  // Pure Multi-Paxos; test/unit/tidy.test.ts also keeps clocks, timers, randomness and process out.
  { room: 'src/node/core', imports: [], noModules: true },
  { room: 'src/json', imports: [], noModules: true },
  // The command line itself (how hints name the binary, suggestions): a leaf that reads only its own package.
  { room: 'src/cli', imports: [], forbiddenModules: socketModules },
  { room: 'src/wire', imports: ['src/node/core'], forbiddenModules: [...socketModules, ...fileModules] },
  { room: 'src/net', imports: ['src/wire'], typeImports: ['src/node/core'] },
  { room: 'src/node/storage', imports: ['src/node/core', 'src/node/config.ts'], forbiddenModules: socketModules },
  { room: 'src/node/statemachine', imports: ['src/node/core', 'src/wire', 'src/json'], forbiddenModules: socketModules },
  {
    room: 'src/node/driver',
    imports: ['src/node/core', 'src/node/statemachine', 'src/json'],
    typeImports: ['src/node/storage', 'src/wire'],
    files: storageCodecs,
    forbiddenModules: [...socketModules, ...fileModules],
  },
  // Every limit of a node in one pure table: values from core, wire and the store's ceiling, only types of the rest.
  { room: 'src/node/config.ts', imports: ['src/node/core', 'src/wire', 'src/node/statemachine'], typeImports: ['src/node/storage', 'src/node/runtime'], forbiddenModules: [...socketModules, ...fileModules] },
  {
    room: 'src/node/runtime',
    imports: ['src/node/core', 'src/node/storage', 'src/node/statemachine', 'src/node/driver', 'src/node/config.ts', 'src/wire', 'src/net', 'src/json', 'src/cli'],
  },
  { room: 'src/client', imports: ['src/node/core', 'src/node/statemachine', 'src/wire', 'src/net', 'src/json', 'src/cli'] },
  { room: 'src/check', imports: ['src/json'] },
  { room: 'src/ui', imports: ['src/client'], typeImports: ['src/node/core'], forbiddenModules: [...socketModules, ...fileModules] },
  { room: 'src/inspect', imports: ['src/node/core', 'src/node/storage'], forbiddenModules: socketModules },
  {
    room: 'src/sim',
    // src/check: the linearizability checker, run on every simulated history.
    imports: ['src/node/core', 'src/node/driver', 'src/node/statemachine', 'src/node/config.ts', 'src/json', 'src/check'],
    typeImports: ['src/node/storage', 'src/wire'],
    files: storageCodecs,
    forbiddenModules: [...socketModules, ...fileModules],
  },
  // Backups, restore and recovery (paxos snapshot, paxos recover): a client of the cluster and a reader/writer of data dirs.
  { room: 'src/ops', imports: ['src/node/core', 'src/node/storage', 'src/node/statemachine', 'src/inspect', 'src/node/config.ts', 'src/client', 'src/wire', 'src/net', 'src/json', 'src/cli'] },
  { room: 'src/commands', imports: 'any' },
  { room: 'src/hooks', imports: 'any', never: ['src/commands'] },
  { room: 'src/index.ts', imports: 'any', never: commandRooms },
];

/** The room a repository-relative path belongs to: the longest matching room, or null. */
export function roomOf(relativePath: string, rules: readonly RoomRule[] = roomRules): RoomRule | null {
  let best: RoomRule | null = null;
  for (const rule of rules) {
    const inside = relativePath === rule.room || relativePath.startsWith(`${rule.room}/`);
    if (inside && (best === null || rule.room.length > best.room.length)) best = rule;
  }
  return best;
}

/** One module specifier a file names, with whether only types come through it. */
export interface ImportFound {
  line: number;
  specifier: string;
  typeOnly: boolean;
}

/** Every module specifier of a file: static imports and re-exports, dynamic import(), require(), and import('...') types. */
export function importsOf(fileName: string, text: string): ImportFound[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const found: ImportFound[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (specifier !== undefined && ts.isStringLiteralLike(specifier)) found.push({ line: lineOf(node), specifier: specifier.text, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, importIsTypeOnly(node));
    if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, exportIsTypeOnly(node));
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, node.isTypeOnly);
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node, node.arguments[0], false);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, true);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import './x.js'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

function exportIsTypeOnly(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly);
}

const builtins = new Set(builtinModules);

/** `node:fs/promises` and `fs/promises` are `fs`; null for a package. */
function builtinBase(specifier: string): string | null {
  const name = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
  if (!specifier.startsWith('node:') && !builtins.has(name)) return null;
  return name.split('/')[0];
}

/** The source file a relative specifier names (`./x.js` is `./x.ts` in src), relative to the repository root. */
function targetOf(fromFile: string, specifier: string): string {
  const absolute = path.resolve(path.dirname(fromFile), specifier);
  const relative = path.relative(repositoryRoot, absolute).split(path.sep).join('/');
  return relative.replace(/\.jsx?$/, (extension) => (extension === '.jsx' ? '.tsx' : '.ts'));
}

/**
 * What in `text` (the contents of `fileName`, an absolute path) breaks the
 * rules, one line each: `file:line: imports 'x' (why)`.
 */
export function roomViolations(fileName: string, text: string, rules: readonly RoomRule[] = roomRules): string[] {
  const relative = path.relative(repositoryRoot, fileName).split(path.sep).join('/');
  const rule = roomOf(relative, rules);
  if (rule === null) return [`${relative}: is in no room of the import rules: add the room to docs/architecture.md and test/unit/tidy-rules.ts`];
  const problems: string[] = [];
  for (const found of importsOf(fileName, text)) {
    const why = importProblem(rule, fileName, found, rules);
    if (why !== null) problems.push(`${relative}:${found.line}: imports '${found.specifier}' (${why})`);
  }
  return problems;
}

function importProblem(rule: RoomRule, fileName: string, found: ImportFound, rules: readonly RoomRule[]): string | null {
  const { specifier } = found;
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return moduleProblem(rule, specifier);
  const target = targetOf(fileName, specifier);
  const targetRoom = roomOf(target, rules);
  // Outside every room (package.json, say): not a room's business.
  if (targetRoom === null || targetRoom === rule) return null;
  const to = targetRoom.room;
  if (rule.imports === 'any') return (rule.never ?? []).includes(to) ? `${rule.room} never imports ${to}` : null;
  if (rule.imports.includes(to) || (rule.files ?? []).includes(target)) return null;
  if ((rule.typeImports ?? []).includes(to)) return found.typeOnly ? null : `${rule.room} may import only types from ${to}`;
  if (commandRooms.includes(to)) return `nothing imports ${to}`;
  return `${rule.room} may not import ${to}`;
}

function moduleProblem(rule: RoomRule, specifier: string): string | null {
  const base = builtinBase(specifier);
  if (rule.noModules === true) return base === null ? `${rule.room} imports no package` : `${rule.room} imports no node: module`;
  if (base !== null && (rule.forbiddenModules ?? []).includes(base)) return `${rule.room} never imports node:${base}`;
  return null;
}
