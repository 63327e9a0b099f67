// `paxos sim` through the built binary: exit codes, the report, --json,
// --seed reruns, --shrunk files that reproduce with --commands, and the
// sweep on worker threads (many seeds).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweep } from '../../src/sim/sweep.js';
import { prepareUserModule } from '../../src/sim/user-sim.js';
import { runCli } from './support.js';

const examples = resolve(import.meta.dirname, '../../examples');
const oneLine = (text: string) => text.replace(/\n ›\s+/g, ' ').replace(/\s+/g, ' ');

describe('paxos sim', () => {
  it('passes examples/bank-ledger.mjs over many seeds on worker threads (exit 0), with progress on stderr', async () => {
    const result = await runCli(['sim', '--state-machine', join(examples, 'bank-ledger.mjs'), '--seeds', '24', '--json'], { timeoutMs: 180_000 });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ verdict: 'ok', nodes: 3, seeds: { first: 1, count: 24, passed: 24 }, divergence: null });
    expect(report.threads).toBeGreaterThanOrEqual(1);
    expect(result.stderr).toContain('24/24 seeds');
  }, 200_000);

  it('catches examples/broken-restore.mjs (exit 1) and saves a shrunk list that reproduces with --seed and --commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-sim-cli-'));
    const shrunkFile = join(dir, 'shrunk.jsonl');
    const result = await runCli(['sim', '--state-machine', join(examples, 'broken-restore.mjs'), '--seeds', '5', '--shrunk', shrunkFile], { timeoutMs: 120_000 });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/DIVERGENCE \(restore\(\) loses or changes state\) at seed (\d+), slot \d+/);
    expect(result.stdout).toMatch(/restored copy +snapshot .*"frozen":\[\]/);
    const seed = /at seed (\d+)/.exec(result.stdout)![1];
    const lines = readFileSync(shrunkFile, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.some((line) => JSON.parse(line)[0] === 'freeze')).toBe(true);
    const rerun = await runCli(['sim', '--state-machine', join(examples, 'broken-restore.mjs'), '--seed', seed, '--commands', shrunkFile, '--json'], { timeoutMs: 60_000 });
    expect(rerun.code).toBe(1);
    expect(JSON.parse(rerun.stdout).divergence.kind).toBe('restore-changed-state');
  }, 200_000);

  it('reruns one seed exactly with --seed: the same report twice', async () => {
    const args = ['sim', '--state-machine', join(examples, 'broken-clock.mjs'), '--seed', '2', '--json'];
    const [first, second] = [await runCli(args, { timeoutMs: 60_000 }), await runCli(args, { timeoutMs: 60_000 })];
    expect(first.code).toBe(1);
    const strip = (text: string) => ({ ...JSON.parse(text), elapsedMs: 0 });
    expect(strip(first.stdout)).toEqual(strip(second.stdout));
    expect(JSON.parse(first.stdout).divergence).toMatchObject({ seed: 2, kind: 'state' });
  }, 120_000);

  it('reports the smallest failing seed on worker threads, as a sweep in one thread does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paxos-sim-rare-'));
    const file = join(dir, 'rare.mjs');
    // A Math.random behind a rare command: most seeds pass, a later one fails.
    writeFileSync(file, `export default function () {
  let n = 0;
  return { apply: ([verb]) => (verb === 'rare' ? Math.random() : (n += 1)), snapshot: () => new TextEncoder().encode(String(n)), restore: (b) => { n = Number(new TextDecoder().decode(b)); } };
}
export const generate = (random) => [random() < 0.001 ? 'rare' : 'add'];
`);
    const cli = await runCli(['sim', '--state-machine', file, '--seeds', '60', '--json'], { timeoutMs: 180_000 });
    expect(cli.code).toBe(1);
    const threaded = JSON.parse(cli.stdout);
    expect(threaded.threads).toBeGreaterThanOrEqual(2);
    const here = await sweep({ module: await prepareUserModule(file), nodes: 3, firstSeed: 1, seeds: 60, threads: 0 });
    expect(here.failure?.seed).toBe(threaded.divergence.seed);
    expect(threaded.divergence.seed).toBeGreaterThan(2);
    expect(threaded.divergence).toEqual(JSON.parse(JSON.stringify(here.failure!.divergence)));
  }, 240_000);

  it("gives each replica its own instance of the module's own files that it imports", async () => {
    // Through the binary: vitest loads modules its own way, and the hook that tags imported files is Node's.
    const dir = mkdtempSync(join(tmpdir(), 'paxos-sim-helper-'));
    writeFileSync(join(dir, 'made-counter.mjs'), 'let made = 0;\nexport const madeOne = () => ++made;\n');
    writeFileSync(join(dir, 'uses-helper.mjs'), `import { madeOne } from './made-counter.mjs';
export default () => {
  const instance = madeOne();
  return { apply: () => instance, snapshot: () => new Uint8Array(), restore: () => {} };
};
export const generate = () => ['which'];
`);
    const result = await runCli(['sim', '--state-machine', join(dir, 'uses-helper.mjs'), '--seed', '5', '--faults', 'none', '--json'], { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    // Shared, the helper would number the replicas' first machines 1, 2, 3 and they would disagree at once ('result');
    // separate, they agree, and only the restored copy (a second machine of a node's own instance) differs.
    expect(JSON.parse(result.stdout).divergence.kind).toBe('restored-result');
  }, 60_000);

  it('exits 2 on a module that cannot be loaded, a module without generate and no --commands, and bad flags', async () => {
    const missing = await runCli(['sim', '--state-machine', 'no-such-module.mjs']);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toContain('cannot read state machine module no-such-module.mjs');
    const noGenerate = await runCli(['sim', '--state-machine', join(examples, 'lock-service.mjs')]);
    expect(noGenerate.code).toBe(2);
    expect(oneLine(noGenerate.stderr)).toContain('exports no generate(random): give --commands FILE.jsonl');
    const nodes = await runCli(['sim', '--state-machine', join(examples, 'bank-ledger.mjs'), '--nodes', '4']);
    expect(nodes.code).toBe(2);
    expect(oneLine(nodes.stderr)).toContain('--nodes must be 3 or 5');
    const faults = await runCli(['sim', '--state-machine', join(examples, 'bank-ledger.mjs'), '--faults', 'crashes,floods', '--json']);
    expect(faults.code).toBe(2);
    // Under --json the error is oclif's JSON object on stdout.
    expect(JSON.parse(faults.stdout).error.message).toContain('unknown fault group floods');
  }, 60_000);
});
