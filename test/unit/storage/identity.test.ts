import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityError } from '../../../src/node/storage/errors.js';
import { clusterIdFor, ensureIdentity, readIdentity, writeIdentity } from '../../../src/node/storage/identity.js';
import { WriteAheadLog } from '../../../src/node/storage/wal.js';
import { acceptRecord, temporaryDirectory } from './helpers.js';

let scratch: { dir: string; remove: () => void };

beforeEach(() => {
  scratch = temporaryDirectory();
});

afterEach(() => {
  scratch.remove();
});

describe('clusterIdFor', () => {
  it('is 16 hex characters that depend on the token and the set of ids, not their order', () => {
    const id = clusterIdFor('paxos', [1, 2, 3]);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(clusterIdFor('paxos', [3, 1, 2])).toBe(id);
    expect(clusterIdFor('other', [1, 2, 3])).not.toBe(id);
    expect(clusterIdFor('paxos', [1, 2, 4])).not.toBe(id);
    expect(clusterIdFor('paxos', [12, 3])).not.toBe(clusterIdFor('paxos', [1, 23]));
  });

  it('refuses duplicate or non-positive ids', () => {
    expect(() => clusterIdFor('paxos', [1, 1, 2])).toThrow(/twice/);
    expect(() => clusterIdFor('paxos', [0, 1])).toThrow(/positive/);
  });
});

describe('identity', () => {
  const clusterId = clusterIdFor('paxos', [1, 2, 3]);
  const kv = 'builtin:kv@1';

  it('is created on first start and accepted on the next', async () => {
    const dir = join(scratch.dir, 'n1');
    const first = await ensureIdentity(dir, { nodeId: 1, clusterId, stateMachine: kv });
    expect(first.created).toBe(true);
    const second = await ensureIdentity(dir, { nodeId: 1, clusterId, stateMachine: kv });
    expect(second).toEqual({ identity: first.identity, created: false, logLost: null });
    expect(await readIdentity(dir)).toEqual(first.identity);
    // Written atomically: no temporary file is left behind.
    expect(fs.readdirSync(dir)).toEqual(['identity.json']);
  });

  it('refuses a data dir of another cluster', async () => {
    await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: kv });
    const other = clusterIdFor('another-token', [1, 2, 3]);
    const error = await ensureIdentity(scratch.dir, { nodeId: 1, clusterId: other, stateMachine: kv }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'WRONG_CLUSTER' });
    expect((error as Error).message).toContain(`belongs to cluster ${clusterId}`);
  });

  it("refuses another node's data dir", async () => {
    await ensureIdentity(scratch.dir, { nodeId: 2, clusterId, stateMachine: kv });
    await expect(ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: kv })).rejects.toMatchObject({ code: 'WRONG_NODE' });
  });

  it('refuses an unreadable identity file', async () => {
    fs.writeFileSync(join(scratch.dir, 'identity.json'), '{"format":1,"nodeId":"one"');
    await expect(readIdentity(scratch.dir)).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
    fs.writeFileSync(join(scratch.dir, 'identity.json'), JSON.stringify({ format: 1, nodeId: 0, clusterId, createdAt: 'x' }));
    await expect(readIdentity(scratch.dir)).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
  });

  it('refuses a data dir that holds a log but no identity', async () => {
    const { wal } = await WriteAheadLog.open(scratch.dir, { fsync: 'never' });
    await wal.append([acceptRecord(1)]);
    await wal.close();
    await expect(ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: kv })).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
  });

  it('records the state machine, and refuses a data dir applied to another one, naming both and what to do', async () => {
    const first = await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: 'bank-ledger@1' });
    expect(first.identity.stateMachine).toBe('bank-ledger@1');
    expect(JSON.parse(fs.readFileSync(join(scratch.dir, 'identity.json'), 'utf8'))).toMatchObject({ stateMachine: 'bank-ledger@1' });
    const error = await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: kv }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'WRONG_STATE_MACHINE' });
    expect((error as Error).message).toMatch(/holds a log applied to state machine bank-ledger@1, but this node was started with state machine builtin:kv@1/);
    expect((error as Error).message).toMatch(/Start it with the state machine it was created with/);
  });

  it('accepts an identity file written before the state machine and the incarnation were recorded, and records both', async () => {
    const old = { format: 1, nodeId: 1, clusterId, createdAt: '2026-01-01T00:00:00.000Z' };
    fs.writeFileSync(join(scratch.dir, 'identity.json'), JSON.stringify(old));
    expect(await readIdentity(scratch.dir)).toEqual({ nodeId: 1, clusterId, createdAt: old.createdAt });
    const accepted = await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: 'list@2' });
    expect(accepted).toEqual({ identity: { nodeId: 1, clusterId, createdAt: old.createdAt, stateMachine: 'list@2', incarnation: expect.stringMatching(/^[0-9a-f]{16}$/) }, created: false, logLost: null });
    expect(await readIdentity(scratch.dir)).toEqual(accepted.identity);
    await expect(ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: 'list@3' })).rejects.toMatchObject({ code: 'WRONG_STATE_MACHINE' });
  });

  it('refuses a recorded state machine that is not a short string', async () => {
    fs.writeFileSync(join(scratch.dir, 'identity.json'), JSON.stringify({ format: 1, nodeId: 1, clusterId, createdAt: '2026-01-01T00:00:00.000Z', stateMachine: 7 }));
    await expect(readIdentity(scratch.dir)).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
  });

  it('a new data dir gets a random incarnation, kept across starts; another dir gets another', async () => {
    const first = await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: 'list@2' });
    expect(first.identity.incarnation).toMatch(/^[0-9a-f]{16}$/);
    expect((await ensureIdentity(scratch.dir, { nodeId: 1, clusterId, stateMachine: 'list@2' })).identity.incarnation).toBe(first.identity.incarnation);
    const other = join(scratch.dir, 'other');
    fs.mkdirSync(other);
    expect((await ensureIdentity(other, { nodeId: 1, clusterId, stateMachine: 'list@2' })).identity.incarnation).not.toBe(first.identity.incarnation);
  });

  it('writeIdentity refuses nonsense', async () => {
    await expect(writeIdentity(scratch.dir, { nodeId: -1, clusterId, createdAt: new Date().toISOString() })).rejects.toThrow(/nodeId/);
  });
});

describe('restoredFrom (paxos snapshot restore)', () => {
  const restoredFrom = { slot: 40, sha256: 'ab'.repeat(32), clusterId: 'old', peers: [1, 2, 3], at: '2026-12-03T10:00:00.000Z' };
  const identity = { nodeId: 1, clusterId: 'new', createdAt: restoredFrom.at, stateMachine: 'builtin:kv@1', origin: 'new' as const, incarnation: 'c0ffee', restoredFrom };

  it('round-trips through identity.json', async () => {
    await writeIdentity(scratch.dir, identity);
    expect(await readIdentity(scratch.dir)).toEqual(identity);
  });

  it('refuses a damaged one, naming the field', async () => {
    const path = join(scratch.dir, 'identity.json');
    for (const bad of [{ ...restoredFrom, slot: 0 }, { ...restoredFrom, sha256: 'xyz' }, { ...restoredFrom, peers: [] }, { ...restoredFrom, peers: [1, -2] }, 'yes']) {
      fs.writeFileSync(path, JSON.stringify({ format: 1, ...identity, restoredFrom: bad }));
      await expect(readIdentity(scratch.dir)).rejects.toThrow(/restoredFrom/);
    }
  });
});
