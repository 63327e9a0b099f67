// The package as a user gets it: `npm pack` from a clean copy of the checkout
// (so `prepare` must build everything the tarball needs), a global install
// under a temporary prefix, the `paxos` command run from a directory that is not
// the checkout, and the library imported by name from another project. npm
// fetches the dependencies from its cache or the registry (--prefer-offline).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from './support.js';

const root = resolve(import.meta.dirname, '../..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

/** Packing builds (tsc + manifest) and installing may fetch dependencies: generous, yet bounded. */
const stepMsMax = 120_000;

/** The environment of every step: no npm_* variables of an outer `npm test`, which would point npm at the checkout. */
function stepEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.toLowerCase().startsWith('npm_')) env[name] = value;
  // The installed CLI must run as users run it, not as vitest's NODE_ENV=test would make oclif run it (through tsx).
  return { ...env, NODE_ENV: 'production', NO_COLOR: '1', ...extra };
}

interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
}

function step(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = stepEnv()): Promise<StepResult> {
  return new Promise((done) => {
    execFile(file, args, { cwd, env, timeout: stepMsMax, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      done({ code, stdout, stderr: `${stderr}${error !== null && typeof error.code !== 'number' ? `\n${error.message}` : ''}` });
    });
  });
}

/** Fails with everything the step printed, so a broken install says why. */
function expectSuccess(result: StepResult, what: string): void {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

/** The checkout as a fresh clone holds it: tracked and new files, nothing ignored (no dist, no manifest). */
async function copyCheckout(destination: string): Promise<void> {
  const listed = await step('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  expectSuccess(listed, 'git ls-files');
  for (const file of listed.stdout.split('\0').filter((name) => name !== '' && name !== 'node_modules' && existsSync(join(root, name)))) {
    mkdirSync(dirname(join(destination, file)), { recursive: true });
    cpSync(join(root, file), join(destination, file));
  }
  // The dependencies as `npm ci` would install them (the build needs tsc and oclif);
  // a worktree's node_modules is itself a link, listed above as a new file and skipped.
  symlinkSync(realpathSync(join(root, 'node_modules')), join(destination, 'node_modules'));
}

describe('npm pack, then install elsewhere', () => {
  let work: string;
  let tarball: string;
  let prefix: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'paxos-install-'));
    const clone = join(work, 'clone');
    await copyCheckout(clone);
    const packed = await step('npm', ['pack', '--pack-destination', work], clone);
    expectSuccess(packed, 'npm pack');
    const tarballs = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    expect(tarballs).toEqual([`${packageJson.name}-${packageJson.version}.tgz`]);
    tarball = join(work, tarballs[0]);
    prefix = join(work, 'prefix');
    const installed = await step('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
    expectSuccess(installed, 'npm install -g');
  }, 3 * stepMsMax);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('packs what runs (bin, dist, a fresh manifest, README) and no tests or sources', async () => {
    const listed = await step('tar', ['-tzf', tarball], work);
    expectSuccess(listed, 'tar -t');
    const files = listed.stdout.split('\n').filter(Boolean).map((name) => name.replace(/^package\//, ''));
    for (const needed of ['package.json', 'README.md', 'bin/run.js', 'oclif.manifest.json', 'dist/index.js', 'dist/index.d.ts', 'dist/hooks/init.js']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((name) => /^(test|src|bench|scripts)\//.test(name) || name.endsWith('.map') || name === 'bin/dev.js')).toEqual([]);

    // Fresh: the manifest names exactly the commands built into dist/commands.
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    expectSuccess(await step('tar', ['-xzf', tarball, '-C', unpacked], work), 'tar -x');
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package/oclif.manifest.json'), 'utf8')) as { version: string; commands: Record<string, unknown> };
    const built = files
      .filter((name) => name.startsWith('dist/commands/') && name.endsWith('.js'))
      .map((name) => name.slice('dist/commands/'.length, -'.js'.length).replaceAll('/', ':'))
      .sort();
    expect(Object.keys(manifest.commands).sort()).toEqual(built);
    expect(built).toContain('node:start');
    expect(manifest.version).toBe(packageJson.version);
  });

  it('installs a `paxos` command that works in any directory', async () => {
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const env = stepEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` });

    const version = await step(join(prefix, 'bin', 'paxos'), ['--version'], elsewhere, env);
    expectSuccess(version, 'paxos --version');
    expect(version.stdout).toContain(`${packageJson.name}/${packageJson.version}`);

    const help = await step('paxos', ['--help'], elsewhere, env);
    expectSuccess(help, 'paxos --help');
    expect(help.stdout).toMatch(/\$ paxos \[COMMAND\]/);
    for (const command of ['submit', 'status', 'check', 'node', 'cluster']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));

    writeFileSync(
      join(elsewhere, 'history.jsonl'),
      [
        { process: 1, type: 'invoke', f: 'write', key: 'x', value: '1', time: 1 },
        { process: 1, type: 'ok', f: 'write', key: 'x', value: '1', time: 2 },
        { process: 2, type: 'invoke', f: 'read', key: 'x', time: 3 },
        { process: 2, type: 'ok', f: 'read', key: 'x', value: '1', time: 4 },
      ].map((event) => JSON.stringify(event)).join('\n') + '\n',
    );
    const check = await step('paxos', ['check', 'history.jsonl'], elsewhere, env);
    expectSuccess(check, 'paxos check');
    expect(check.stdout).toContain('linearizable');

    // Hints name the installed command: here `npx paxos` would fetch the registry's unrelated package.
    const [port] = await freePorts(1);
    const status = await step('paxos', ['status', '-c', `127.0.0.1:${port}`], elsewhere, env);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('Start a local one with `paxos cluster start`');
    expect(status.stderr).not.toContain('npx');
  });

  it('imports the library by its package name in another project', async () => {
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-paxos', private: true, type: 'module' }));
    const installed = await step('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    expectSuccess(installed, 'npm install <tarball>');

    // One node of a one-node cluster, in the script's own process, and a client of it.
    const [port] = await freePorts(1);
    writeFileSync(
      join(project, 'use.mjs'),
      `import { connect, createKeyValueStore, startNode } from '${packageJson.name}';
const peers = new Map([[1, { host: '127.0.0.1', port: ${port} }]]);
const node = await startNode({ id: 1, peers, dataDir: './data', initialClusterState: 'new', stateMachine: createKeyValueStore, stateMachineIdentity: 'kv@test' });
const client = connect('127.0.0.1:${port}');
const set = await client.submit(['set', 'x', '1']);
const get = await client.submit(['get', 'x']);
client.close();
await node.stop();
console.log(JSON.stringify({ set: set.status, get: get.result }));
`,
    );
    const ran = await step(process.execPath, ['use.mjs'], project);
    expectSuccess(ran, 'node use.mjs');
    expect(JSON.parse(ran.stdout.trim().split('\n').at(-1) ?? '')).toEqual({ set: 'applied', get: '1' });
  });
});
