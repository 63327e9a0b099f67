// The envelope shared by this room's snapshots: msgpack of a map that names
// its format and version, so a snapshot fed to the wrong reader, or written by
// a newer build, is refused with a clear message instead of misread.
import { Packr } from 'msgpackr';
import { SnapshotInvalid } from './types.js';

/** The snapshot layout this build writes and reads, unless a format names its own (the service's, sessions.ts). */
export const snapshotVersion = 1;

// Records (msgpackr's extension) are off so the bytes are plain msgpack that
// any tool can read, and their encoding depends on nothing but the value.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Encodes `body` under the envelope for `format`. */
export function packSnapshot(format: string, body: Record<string, unknown>, version: number = snapshotVersion): Uint8Array {
  return packr.pack({ format, version, ...body });
}

/** Decodes a snapshot of `format` and returns its fields; throws SnapshotInvalid on anything else. */
export function unpackSnapshot(bytes: Uint8Array, format: string, version: number = snapshotVersion, olderVersionHint = ''): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) throw new SnapshotInvalid(`${format} snapshot must be bytes`);
  const decoded = decodeMsgpack(bytes, format);
  if (!isRecord(decoded) || decoded.format !== format) {
    throw new SnapshotInvalid(`not a ${format} snapshot`);
  }
  if (decoded.version !== version) {
    const older = typeof decoded.version === 'number' && decoded.version < version ? olderVersionHint : '';
    throw new SnapshotInvalid(`${format} snapshot version ${String(decoded.version)} is not supported (this build reads version ${version})${older}`);
  }
  return decoded;
}

function decodeMsgpack(bytes: Uint8Array, format: string): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SnapshotInvalid(`${format} snapshot is not valid msgpack: ${reason}`);
  }
}

/** A decoded msgpack map (an object that is neither an array nor binary). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** A slot number or counter read back from a snapshot: a non-negative safe integer. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
