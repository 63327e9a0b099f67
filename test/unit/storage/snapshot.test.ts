// The snapshots/ directory: snapshot files, the temporaries a crash
// mid-snapshot leaves behind, and anything else.
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeSnapshot,
  listSnapshotDirectory,
  listSnapshots,
  removeStaleSnapshotTemporaries,
  snapshotFileName,
  writeSnapshot,
} from '../../../src/node/storage/snapshot.js';
import { temporaryDirectory } from './helpers.js';

let scratch: ReturnType<typeof temporaryDirectory>;
let dataDir: string;

beforeEach(() => {
  scratch = temporaryDirectory();
  dataDir = join(scratch.dir, 'n1');
});

afterEach(() => scratch.remove());

/** The name writeFileAtomic gives its temporary file (see fsutil.ts). */
function temporaryName(slot: number): string {
  return `.${snapshotFileName(slot)}.4242.0a1b2c3d.tmp`;
}

describe('snapshots/', () => {
  it('tells snapshots, temporaries left by a crash and other files apart', async () => {
    await writeSnapshot(dataDir, 40, encodeSnapshot({ slot: 40, appliedDigest: 'd', state: new Uint8Array([1]) }));
    const directory = join(dataDir, 'snapshots');
    fs.writeFileSync(join(directory, temporaryName(80)), 'half a snapshot');
    fs.writeFileSync(join(directory, 'notes.txt'), 'hello');
    const listing = await listSnapshotDirectory(dataDir);
    expect(listing.snapshots.map((entry) => entry.slot)).toEqual([40]);
    expect(listing.temporaries).toEqual([temporaryName(80)]);
    expect(listing.unexpected).toEqual(['notes.txt']);
  });

  it('removes only the temporaries, and reports which', async () => {
    await writeSnapshot(dataDir, 40, encodeSnapshot({ slot: 40, appliedDigest: 'd', state: new Uint8Array([1]) }));
    const directory = join(dataDir, 'snapshots');
    for (const name of [temporaryName(80), temporaryName(120), 'notes.txt']) fs.writeFileSync(join(directory, name), 'x');
    expect(await removeStaleSnapshotTemporaries(dataDir)).toEqual([temporaryName(120), temporaryName(80)].sort());
    expect(fs.readdirSync(directory).sort()).toEqual([snapshotFileName(40), 'notes.txt']);
    expect((await listSnapshots(dataDir)).map((entry) => entry.slot)).toEqual([40]);
    expect(await removeStaleSnapshotTemporaries(dataDir)).toEqual([]);
  });

  it('has nothing to remove when there is no snapshots/ yet', async () => {
    expect(await removeStaleSnapshotTemporaries(dataDir)).toEqual([]);
  });
});
