// Shared fixtures for the storage tests: temporary data dirs and sample records.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { WalRecord } from '../../../src/node/core/messages.js';

/** Creates a temporary directory and returns it with its remover (call it in afterEach). */
export function temporaryDirectory(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'paxos-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One record of every type, with values that exercise the encoding (binary, nested, unicode). */
export function sampleRecords(): WalRecord[] {
  return [
    { type: 'promise', ballot: { round: 1, node: 2 } },
    {
      type: 'accept',
      slot: 1,
      ballot: { round: 1, node: 2 },
      value: { commands: [{ client: 'c-1', seq: 0, op: ['set', 'x', '1'] }] },
    },
    { type: 'chosen', slot: 1, value: { commands: [{ client: 'c-1', seq: 0, op: ['set', 'x', '1'] }] } },
    { type: 'accept', slot: 2, ballot: { round: 7, node: 3 }, value: { commands: [] } },
    {
      type: 'chosen',
      slot: 2,
      value: {
        commands: [
          { client: 'ünïcødé', seq: 2 ** 40, op: { nested: { list: [1, null, true, -3.5] }, bytes: new Uint8Array([0, 1, 255]) } },
          { client: '', seq: 1, op: null },
        ],
      },
    },
    { type: 'promise', ballot: { round: 2 ** 31, node: 1 } },
  ];
}

/** A record whose slot makes it easy to tell apart: accept of a one-command value. */
export function acceptRecord(slot: number): WalRecord {
  return { type: 'accept', slot, ballot: { round: 1, node: 1 }, value: { commands: [{ client: 'bench', seq: slot, op: ['set', `k${slot}`, `v${slot}`] }] } };
}

/** Makes Uint8Array and Buffer compare equal, so decoded binary values can be compared with what was written. */
export function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, normalise(field)]));
  }
  return value;
}

export function segmentFiles(dataDir: string): string[] {
  return fs
    .readdirSync(join(dataDir, 'wal'))
    .filter((name) => name.endsWith('.wal'))
    .sort();
}
