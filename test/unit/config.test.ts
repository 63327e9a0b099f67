// resolveNodeConfig: every default filled in, every bound and every relation
// between limits checked in one place, each failure a NodeConfigError that names
// the flag. One case per relation: the smallest configuration that breaks it,
// and one just inside it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCoreLimits } from '../../src/node/core/limits.js';
import {
  commandBytesMaxDefault,
  flaggedLimits,
  limitsFromFlags,
  limitTableMarkdown,
  limitTable,
  NodeConfigError,
  relations,
  resolveNodeConfig,
  snapshotChunkFrameOverheadBytes,
  type NodeConfigInput,
} from '../../src/node/config.js';
import { parseDuration } from '../../src/client/options.js';
import { valueBytesMax } from '../../src/node/statemachine/verbs.js';

const MiB = 1024 * 1024;

function refusal(input: NodeConfigInput): NodeConfigError {
  try {
    resolveNodeConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(NodeConfigError);
    expect((error as NodeConfigError).code).toBe('CONFIG_INVALID');
    return error as NodeConfigError;
  }
  throw new Error(`resolveNodeConfig accepted ${JSON.stringify(input)}`);
}

describe('resolveNodeConfig: defaults', () => {
  it('fills every field, frozen, with the defaults the table gives', () => {
    const resolved = resolveNodeConfig();
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.coreLimits)).toBe(true);
    expect(resolved.fsync).toBe('always');
    expect(resolved.tickMs).toBe(10);
    expect(resolved.commandBytesMax).toBe(commandBytesMaxDefault);
    expect(resolved.valueBytesMax).toBe(valueBytesMax);
    expect(resolved.transportLimits.frameBytesMax).toBe(16 * MiB);
    // A quarter of a 16 MiB frame's room is a little under the core's own 4 MiB.
    const quarter = Math.floor((16 * MiB - 64 * 1024) / 4);
    expect(resolved.coreLimits).toEqual({ ...defaultCoreLimits, batchBytesMax: quarter, catchupBytesMax: quarter });
    for (const row of limitTable) {
      const [group, field] = row.key.includes('.') ? row.key.split('.') : [null, row.key];
      const value = group === null ? (resolved as unknown as Record<string, unknown>)[field] : (resolved as unknown as Record<string, Record<string, unknown>>)[group][field];
      expect(typeof value, row.key).toBe('number');
    }
  });

  it('fits the computed defaults to a smaller frame', () => {
    const resolved = resolveNodeConfig({ transportLimits: { frameBytesMax: 2 * MiB } });
    const room = 2 * MiB - 64 * 1024;
    expect(resolved.commandBytesMax).toBe(room);
    expect(resolved.coreLimits.batchBytesMax).toBe(Math.floor(room / 4));
    expect(resolved.coreLimits.windowBytesMax).toBe(2 * Math.floor(room / 4));
    expect(resolved.coreLimits.catchupBytesMax).toBe(Math.floor(room / 4));
  });

  it('has no value limit for a user state machine', () => {
    expect(resolveNodeConfig({ builtinStateMachine: false }).valueBytesMax).toBeNull();
  });

  it('refuses a limit it does not know, rather than ignoring a typo', () => {
    expect(refusal({ coreLimits: { batchBytes: 5 } as never }).message).toMatch(/coreLimits.batchBytes is not a limit/);
  });
});

describe('resolveNodeConfig: bounds of every limit', () => {
  it.each(limitTable.map((row) => [row.key, row] as const))('%s: below its minimum, above its maximum, or not a whole number, names %s', (_key, row) => {
    const name = row.flag ?? row.key;
    const set = (value: number): NodeConfigInput => {
      const [group, field] = row.key.includes('.') ? row.key.split('.') : [null, row.key];
      const base: NodeConfigInput = { fsync: 'batch' };
      return group === null ? { ...base, [field]: value } : { ...base, [group]: { [field]: value } };
    };
    if (row.min > 0) expect(refusal(set(row.min - 1)).message).toContain(`${name} ${row.min - 1}`);
    if (row.max < Number.MAX_SAFE_INTEGER) expect(refusal(set(row.max + 1)).message).toContain(`${name} ${row.max + 1}`);
    expect(refusal(set(1.5)).message).toContain(`${name} 1.5`);
  });
});

interface RelationCase {
  relation: string;
  broken: NodeConfigInput;
  message: string;
  holding: NodeConfigInput;
}

const relationCases: RelationCase[] = [
  {
    relation: 'a command fits a frame',
    broken: { commandBytesMax: 99_999_999 },
    message: '--command-bytes-max 99999999 leaves no room in a frame of --max-frame-bytes 16777216: it must be at most 16711680',
    holding: { commandBytesMax: 16 * MiB - 64 * 1024 },
  },
  {
    relation: 'a value limit needs the built-in store',
    broken: { builtinStateMachine: false, valueBytesMax: 100 },
    message: '--value-bytes-max applies to the built-in key-value store only',
    holding: { builtinStateMachine: true, valueBytesMax: 100 },
  },
  {
    relation: 'a batch linger needs --fsync batch',
    broken: { fsync: 'always', fsyncBatchLingerMs: 2, fsyncBatchBytesMax: 4096 },
    message: '--fsync-batch-linger and --fsync-batch-bytes apply to --fsync batch only (this node has --fsync always)',
    holding: { fsync: 'batch', fsyncBatchLingerMs: 2, fsyncBatchBytesMax: 4096 },
  },
  {
    relation: 'a batch and a catch-up fit a frame',
    broken: { transportLimits: { frameBytesMax: 2 * MiB }, coreLimits: { catchupBytesMax: 2 * MiB } },
    message: 'coreLimits.catchupBytesMax 2097152 does not fit a frame of --max-frame-bytes 2097152: it must be at most 2031616',
    holding: { transportLimits: { frameBytesMax: 2 * MiB }, coreLimits: { catchupBytesMax: 2 * MiB - 64 * 1024 } },
  },
  {
    relation: 'a full batch fits the window',
    broken: { coreLimits: { batchBytesMax: 1000, windowBytesMax: 999 } },
    message: 'coreLimits.windowBytesMax 999 must be at least coreLimits.batchBytesMax 1000',
    holding: { coreLimits: { batchBytesMax: 1000, windowBytesMax: 1000 } },
  },
  {
    relation: 'an election timeout outlasts two heartbeats',
    broken: { coreLimits: { heartbeatTicks: 15, electionTimeoutTicksMin: 30 } },
    message: 'coreLimits.electionTimeoutTicksMin 30 must exceed two heartbeats (coreLimits.heartbeatTicks 15)',
    holding: { coreLimits: { heartbeatTicks: 14, electionTimeoutTicksMin: 29 } },
  },
  {
    relation: 'election timeouts have a range',
    broken: { coreLimits: { electionTimeoutTicksMin: 60, electionTimeoutTicksMax: 60 } },
    message: 'coreLimits.electionTimeoutTicksMax 60 must exceed coreLimits.electionTimeoutTicksMin 60',
    holding: { coreLimits: { electionTimeoutTicksMin: 59, electionTimeoutTicksMax: 60 } },
  },
  {
    relation: 'a snapshot chunk fits a frame',
    broken: { transportLimits: { frameBytesMax: 2 * MiB }, snapshotChunkBytes: 2 * MiB - snapshotChunkFrameOverheadBytes + 1 },
    message: `--snapshot-chunk-bytes ${2 * MiB - snapshotChunkFrameOverheadBytes + 1} does not fit a frame of --max-frame-bytes 2097152`,
    holding: { transportLimits: { frameBytesMax: 2 * MiB }, snapshotChunkBytes: 2 * MiB - snapshotChunkFrameOverheadBytes },
  },
];

describe('resolveNodeConfig: relations between limits', () => {
  it('has a case below for every relation', () => {
    expect(relationCases.map((entry) => entry.relation).sort()).toEqual(relations.map((relation) => relation.name).sort());
  });

  it.each(relationCases.map((entry) => [entry.relation, entry] as const))('%s', (_name, { broken, message, holding }) => {
    expect(refusal(broken).message).toContain(message);
    expect(() => resolveNodeConfig(holding)).not.toThrow();
  });
});

describe('limitsFromFlags', () => {
  it('reads numbers and durations into their NodeConfig places', () => {
    const input = limitsFromFlags({ tick: '20ms', 'max-frame-bytes': '4194304', 'handshake-timeout': '2s', 'connections-per-address': '10', 'fsync-batch-linger': '3ms' }, parseDuration);
    expect(input).toEqual({ tickMs: 20, transportLimits: { frameBytesMax: 4 * MiB, handshakeMsMax: 2000 }, admissionLimits: { connectionsPerAddressMax: 10 }, fsyncBatchLingerMs: 3 });
  });

  it.each([
    [{ tick: 'soon' }, '--tick soon is not a duration'],
    [{ 'snapshot-every': '-1' }, '--snapshot-every -1 is not a whole number'],
    [{ 'command-bytes-max': '1e6' }, '--command-bytes-max 1e6 is not a whole number'],
  ])('refuses %j with the same error class', (flags, message) => {
    const error = (() => {
      try {
        limitsFromFlags(flags, parseDuration);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(NodeConfigError);
    expect((error as Error).message).toContain(message);
  });
});

describe('docs/cli.md', () => {
  it('lists every flag of the table, with its default and bounds, as the table says', () => {
    const cli = readFileSync(path.resolve(import.meta.dirname, '../../docs/cli.md'), 'utf8');
    const table = limitTableMarkdown();
    for (const row of flaggedLimits()) expect(table).toContain(`| \`${row.flag} `);
    expect(cli, 'docs/cli.md must hold limitTableMarkdown() (see src/node/config.ts for the command that prints it)').toContain(table);
  });
});
