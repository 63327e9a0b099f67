// `paxos sim` on users' modules (src/sim/user-sim.ts and its neighbours), in
// this thread: the README's ledger and the bank ledger pass; each kind of
// broken module is caught with the report that names its kind; a seed reruns
// to the same report; the shrunk command list is shorter and still fails.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shrinkCommands } from '../../../src/sim/shrink-commands.js';
import { sweep } from '../../../src/sim/sweep.js';
import { proveModule, renderProveReport } from '../../../src/sim/user-report.js';
import { CommandsError, parseCommandLines, prepareUserModule, runUserSeed, type UserModule } from '../../../src/sim/user-sim.js';
import { preview, snapshotPreviewCharsMax, type DivergenceKind } from '../../../src/sim/divergence.js';

const root = resolve(import.meta.dirname, '../../..');
const example = (name: string) => prepareUserModule(join(root, 'examples', name));
const scratch = mkdtempSync(join(tmpdir(), 'paxos-sim-'));

/** A module file in a scratch dir. */
async function moduleFrom(name: string, source: string): Promise<UserModule> {
  const file = join(scratch, name);
  writeFileSync(file, source);
  return prepareUserModule(file);
}

/** The README's ledger, word for word, with a generate export added as the README's "Prove your own service" says. */
function readmeLedger(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```js\n(\/\/ ledger\.mjs[\s\S]*?)```/.exec(readme);
  expect(block, 'the README shows ledger.mjs').not.toBeNull();
  const generate = /```js\n(export function generate[\s\S]*?)```/.exec(readme);
  expect(generate, 'the README shows the generate export to add').not.toBeNull();
  return `${block![1]}\n${generate![1]}`;
}

async function firstDivergence(module: UserModule, seedsMax = 30) {
  const result = await sweep({ module, nodes: 3, firstSeed: 1, seeds: seedsMax, threads: 0 });
  expect(result.failure, `no divergence within ${seedsMax} seeds`).not.toBeNull();
  return result.failure!;
}

describe('paxos sim on correct modules', () => {
  it("passes the README's ledger on 3 nodes", async () => {
    const module = await moduleFrom('ledger.mjs', readmeLedger());
    const result = await sweep({ module, nodes: 3, firstSeed: 1, seeds: 12, threads: 0 });
    expect(result.failure?.divergence ?? null).toBeNull();
    expect(result.passed).toBe(12);
  }, 120_000);

  it('passes examples/bank-ledger.mjs on 5 nodes, and checks slots, restores and snapshots as it goes', async () => {
    const module = await example('bank-ledger.mjs');
    let slots = 0;
    let restores = 0;
    let acknowledged = 0;
    const result = await sweep({
      module, nodes: 5, firstSeed: 1, seeds: 8, threads: 0,
      onProgress: (_done, _total, run) => {
        slots += run.stats?.checkedSlots ?? 0;
        restores += run.stats?.restoresChecked ?? 0;
        acknowledged += run.stats?.acknowledged ?? 0;
      },
    });
    expect(result.failure?.divergence ?? null).toBeNull();
    // A sweep in which nothing was compared would prove nothing.
    expect(slots).toBeGreaterThan(500);
    expect(restores).toBeGreaterThan(500);
    expect(acknowledged).toBeGreaterThan(100);
  }, 120_000);

  it('passes a module that refuses with Error subclasses and thrown strings (told to clients as the service words them)', async () => {
    const module = await moduleFrom('refuses.mjs', `
      export default function () {
        let n = 0;
        return {
          apply: ([verb]) => { if (verb === 'bad') throw new TypeError('bad verb'); if (verb === 'str') throw 'a string'; return (n += 1); },
          snapshot: () => new TextEncoder().encode(String(n)),
          restore: (b) => { n = Number(new TextDecoder().decode(b)); },
        };
      }
      export const generate = (random) => [random() < 0.2 ? 'bad' : random() < 0.2 ? 'str' : 'add'];`);
    const result = await sweep({ module, nodes: 3, firstSeed: 1, seeds: 6, threads: 0 });
    expect(result.failure?.divergence ?? null).toBeNull();
  }, 60_000);

  it('passes a module whose commands are bare strings', async () => {
    const module = await moduleFrom('strings.mjs', `
      export default function () {
        let n = 0;
        return { apply: (c) => (c === 'add' ? (n += 1) : n), snapshot: () => new TextEncoder().encode(String(n)), restore: (b) => { n = Number(new TextDecoder().decode(b)); } };
      }
      export const generate = (random) => (random() < 0.5 ? 'add' : 'get');`);
    const result = await sweep({ module, nodes: 3, firstSeed: 1, seeds: 6, threads: 0 });
    expect(result.failure?.divergence ?? null).toBeNull();
  }, 60_000);

  it('takes commands from a list, in order, when given one', async () => {
    const module = await example('lock-service.mjs');
    const commands = parseCommandLines('["acquire","printer","ada","1000","50"]\n\n["acquire","printer","bob","1010","50"]\n["release","printer","ada"]\n', 'cmds.jsonl');
    const run = await runUserSeed({ module, seed: 3, nodes: 3, commands });
    expect(run.divergence).toBeNull();
    expect(run.submitted).toEqual(commands);
  }, 60_000);
});

describe('paxos sim on broken modules', () => {
  const cases: [string, DivergenceKind[]][] = [
    ['broken-clock.mjs', ['state', 'result']],
    ['broken-restore.mjs', ['restore-changed-state']],
    ['broken-random.mjs', ['result']],
    ['broken-shared-state.mjs', ['result', 'restored-result']],
  ];
  for (const [file, kinds] of cases) {
    it(`catches examples/${file} (${kinds.join(' or ')})`, async () => {
      const failure = await firstDivergence(await example(file));
      expect(kinds).toContain(failure.divergence!.kind);
      expect(failure.divergence!.slot).toBeGreaterThan(0);
      expect(failure.divergence!.replicas.length).toBeGreaterThanOrEqual(2);
    }, 60_000);
  }

  it('catches a Date.now() that only shows in results (each replica answers with its own clock)', async () => {
    const module = await moduleFrom('stamp.mjs', `
      export default () => {
        let n = 0;
        return { apply: () => (n += 1, Date.now()), snapshot: () => new TextEncoder().encode(String(n)), restore: (b) => { n = Number(new TextDecoder().decode(b)); } };
      };
      export const generate = () => ['stamp'];`);
    const failure = await firstDivergence(module);
    expect(failure.divergence!.kind).toBe('result');
    const outcomes = failure.divergence!.replicas.map((replica) => replica.outcome);
    expect(new Set(outcomes).size).toBe(outcomes.length);
  }, 60_000);

  it('catches a snapshot() that throws on some states', async () => {
    const module = await moduleFrom('throws.mjs', `
      export default () => {
        let n = 0;
        return {
          apply: () => (n += 1),
          snapshot: () => { if (n === 3) throw new RangeError('cannot encode three'); return new TextEncoder().encode(String(n)); },
          restore: (b) => { n = Number(new TextDecoder().decode(b)); },
        };
      };
      export const generate = () => ['add'];`);
    const failure = await firstDivergence(module);
    expect(failure.divergence!.kind).toBe('threw');
    expect(failure.divergence!.detail).toContain('RangeError: cannot encode three');
  }, 60_000);

  it('catches a restore() that throws on its own snapshot', async () => {
    const module = await moduleFrom('restore-throws.mjs', `
      export default () => {
        let items = [];
        return {
          apply: ([item]) => items.push(item),
          snapshot: () => new TextEncoder().encode(items.join(',')),
          restore: (b) => { items = JSON.parse(new TextDecoder().decode(b)); },
        };
      };
      export const generate = (random) => [random() < 0.5 ? 'x' : 'y'];`);
    const failure = await firstDivergence(module);
    expect(failure.divergence!.kind).toBe('threw');
    expect(failure.divergence!.summary).toMatch(/restore\(\) threw/);
  }, 60_000);

  it('catches state in a Set whose order is not part of the state (snapshot bytes differ after a restore)', async () => {
    const module = await moduleFrom('set-order.mjs', `
      export default () => {
        let members = new Set();
        return {
          apply: ([verb, who]) => (verb === 'join' ? members.add(who) : members.delete(who), members.size),
          snapshot: () => new TextEncoder().encode(JSON.stringify([...members])),
          restore: (b) => { members = new Set(JSON.parse(new TextDecoder().decode(b)).sort()); },
        };
      };
      export const generate = (random) => [random() < 0.6 ? 'join' : 'leave', ['zed', 'amy', 'kim', 'bo'][Math.floor(random() * 4)]];`);
    const failure = await firstDivergence(module);
    expect(['restore-changed-state', 'state']).toContain(failure.divergence!.kind);
  }, 60_000);
});

describe('paxos sim reports', () => {
  it('reruns a seed to the same report', async () => {
    const module = await example('broken-random.mjs');
    const failure = await firstDivergence(module);
    const again = await runUserSeed({ module, seed: failure.seed, nodes: 3 });
    expect(again.divergence).toEqual(failure.divergence);
    expect(again.submitted).toEqual(failure.submitted);
  }, 60_000);

  it('shrinks the command list to a shorter one that still fails the same way with that seed', async () => {
    const module = await example('broken-restore.mjs');
    const result = await proveModule({ module, nodes: 3, firstSeed: 1, seeds: 20, faults: ['crashes', 'partitions', 'network', 'disk'], threads: 0 });
    expect(result.verdict).toBe('divergence');
    const shrunk = result.shrunk!;
    expect(shrunk.commands.length).toBeLessThan(shrunk.from);
    expect(shrunk.commands).toContainEqual(expect.arrayContaining(['freeze']));
    const rerun = await runUserSeed({ module, seed: result.divergence!.seed, nodes: 3, commands: shrunk.commands });
    expect(rerun.divergence?.kind).toBe('restore-changed-state');
    const text = renderProveReport(result).join('\n');
    expect(text).toContain(`DIVERGENCE (restore() loses or changes state) at seed ${result.divergence!.seed}`);
    expect(text).toContain('shrunk:');
    expect(text).toContain(`--seed ${result.divergence!.seed}`);
  }, 120_000);

  it('shrinks by removing chunks while the run still fails, and returns null when the list alone does not fail', async () => {
    const fake = (commands: unknown[]) => Promise.resolve({
      seed: 1, ok: !(commands.includes(3) && commands.includes(7)), submitted: commands, stats: null,
      divergence: commands.includes(3) && commands.includes(7) ? { kind: 'result' as const, seed: 1, slot: 1, summary: '', command: null, replicas: [], atMs: 0 } : null,
    });
    const list = Array.from({ length: 40 }, (_, index) => index);
    const shrunk = await shrinkCommands(list, 'result', fake);
    expect(shrunk?.commands).toEqual([3, 7]);
    expect(shrunk?.complete).toBe(true);
    expect(await shrinkCommands([1, 2], 'result', fake)).toBeNull();
  });

  it('shows a long snapshot around the first byte where it differs from the other', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    const a = encode(`${'a'.repeat(1500)}LEFT${'b'.repeat(500)}`);
    const b = encode(`${'a'.repeat(1500)}RIGHT${'b'.repeat(500)}`);
    expect(preview(a, b)).toContain('LEFT');
    expect(preview(b, a)).toContain('RIGHT');
    expect(preview(a, b)).toMatch(/^….*… \(2004 bytes, first difference at byte 1500\)$/);
    expect(preview(a, b).length).toBeLessThan(snapshotPreviewCharsMax + 60);
    expect(preview(encode('{"short":1}'))).toBe('{"short":1}');
    expect(preview(new Uint8Array([0, 1, 2]))).toBe('hex 000102');
  });

  it('refuses a commands file that is not JSON lines, naming the line', () => {
    expect(() => parseCommandLines('["a"]\n{oops\n', 'c.jsonl')).toThrow(CommandsError);
    expect(() => parseCommandLines('["a"]\n{oops\n', 'c.jsonl')).toThrow(/c\.jsonl line 2 is not JSON/);
    expect(() => parseCommandLines('\n\n', 'c.jsonl')).toThrow(/holds no commands/);
  });

  it('runs the module of every replica as its own instance: module-level state is not shared between replicas', async () => {
    const module = await moduleFrom('instances.mjs', `
      let made = 0;
      export default () => {
        made += 1;
        const instance = made;
        return { apply: () => instance, snapshot: () => new Uint8Array(), restore: () => {} };
      };
      export const generate = () => ['which'];`);
    // Each replica's first machine is the first its own module instance made (the loader's probe ran in another).
    const run = await runUserSeed({ module, seed: 5, nodes: 3, faults: [] });
    expect(run.divergence?.kind).toBe('restored-result');
  }, 60_000);
});
