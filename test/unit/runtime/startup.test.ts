// What a node does to its data dir at start-up, before it serves anyone.
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger, LogFields } from '../../../src/node/runtime/log.js';
import { startNode } from '../../../src/node/runtime/node.js';
import { NodeConfigError } from '../../../src/node/config.js';
import { snapshotFileName } from '../../../src/node/storage/snapshot.js';
import { scratchNodes } from './scratch-node.js';

const scratch = scratchNodes();

function recordingLogger(lines: { message: string; fields: LogFields }[]): Logger {
  const record = (message: string, fields: LogFields = {}) => lines.push({ message, fields });
  const logger: Logger = { debug: record, info: record, warn: record, error: record, child: () => logger };
  return logger;
}

describe('node start-up', () => {
  it('removes the temporary files a crash mid-snapshot left in snapshots/, and says so', async () => {
    const dataDir = join(scratch.dir, 'n1');
    const snapshots = join(dataDir, 'snapshots');
    fs.mkdirSync(snapshots, { recursive: true });
    const leftover = `.${snapshotFileName(40)}.4242.0a1b2c3d.tmp`;
    fs.writeFileSync(join(snapshots, leftover), 'half a snapshot');
    fs.writeFileSync(join(snapshots, 'notes.txt'), 'not ours to remove');
    const lines: { message: string; fields: LogFields }[] = [];
    scratch.track(await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port: 0 }]]), dataDir, log: recordingLogger(lines) }));
    expect(fs.readdirSync(snapshots)).toEqual(['notes.txt']);
    expect(lines.filter((line) => /removed a temporary file left by a crash mid-snapshot/.test(line.message)).map((line) => line.fields)).toEqual([
      { file: `snapshots/${leftover}` },
    ]);
  });

  it.each([
    [{ tickMs: 0 }, /tickMs|--tick 0ms is out of range/],
    [{ commandBytesMax: 99_999_999 }, /--command-bytes-max 99999999 leaves no room in a frame/],
    [{ snapshotChunkBytes: 4 * 1024 * 1024, transportLimits: { frameBytesMax: 4 * 1024 * 1024 } }, /--snapshot-chunk-bytes 4194304 does not fit a frame/],
    [{ valueBytesMax: 10, stateMachine: () => ({ apply: () => null, snapshot: () => new Uint8Array(), restore: () => undefined }), stateMachineIdentity: 'mine@1' }, /--value-bytes-max applies to the built-in key-value store only/],
  ])('refuses %o with a NodeConfigError before it touches the data dir', async (limits, message) => {
    const dataDir = join(scratch.dir, 'refused');
    const error = await startNode({ id: 1, peers: new Map([[1, { host: '127.0.0.1', port: 0 }]]), dataDir, ...limits }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NodeConfigError);
    expect((error as NodeConfigError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(message);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
