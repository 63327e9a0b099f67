// Framing: a 4-byte big-endian unsigned length, then that many bytes of msgpack.
// FrameDecoder is a pure byte parser (no socket): the runtime pushes whatever
// chunks TCP hands it and gets back the decoded value of every complete frame.
import { decodeMessage, encodeMessage, type SharedEncodings } from './codec.js';
import { WireError } from './errors.js';
import type { WireMessage } from './protocol.js';

/**
 * The largest frame body a node accepts by default. A promise or catch-up reply
 * carrying many slots must fit, yet one connection must not be able to make a
 * node hold more than this much of a single message in memory.
 */
export const frameBytesMaxDefault = 16 * 1024 * 1024;

export const frameHeaderBytes = 4;

/** `shared`: encodings reused across the messages of one send (codec.ts, SharedEncodings). */
export function encodeFrame(message: WireMessage, frameBytesMax: number = frameBytesMaxDefault, shared?: SharedEncodings): Buffer {
  assertFrameBytesMax(frameBytesMax);
  const body = encodeMessage(message, shared);
  if (body.length > frameBytesMax) {
    throw new WireError('frame_too_large', `a ${message.type} message of ${body.length} bytes exceeds the frame limit of ${frameBytesMax} bytes`);
  }
  const frame = Buffer.allocUnsafe(frameHeaderBytes + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, frameHeaderBytes);
  return frame;
}

export interface FrameDecoderOptions {
  frameBytesMax: number;
}

/**
 * Turns a byte stream into msgpack values, one per frame, in arrival order.
 *
 * A frame that lies whole inside one pushed chunk is decoded in place. Otherwise
 * its bytes are copied, once, into one partial-frame buffer that grows
 * geometrically with what has actually arrived (never with what a header
 * claims), so a frame fed one byte at a time costs linear time and a peer that
 * announces 16 MiB and sends nothing costs nothing. A frame's length is checked
 * as soon as its header is complete, before any of its body is kept. After the
 * first error the decoder stays failed: the stream has lost its framing and the
 * connection must be closed.
 */
export class FrameDecoder {
  private readonly frameBytesMax: number;
  /** Holds the frame in progress (header included) at [0, partialBytes). */
  private partial: Uint8Array = new Uint8Array(0);
  private partialBytes = 0;
  /** Body length of the frame in progress once its header is complete, else null. */
  private bodyBytes: number | null = null;
  private failure: WireError | null = null;

  constructor(options: FrameDecoderOptions) {
    assertFrameBytesMax(options.frameBytesMax);
    this.frameBytesMax = options.frameBytesMax;
  }

  /** Bytes received but not yet returned as a value (a partial header or body). */
  bufferedBytes(): number {
    return this.partialBytes;
  }

  /**
   * Feeds one chunk; returns the values of the frames it completed (not yet
   * validated). Keeps no reference to `chunk`, so the caller may reuse its
   * buffer. If the chunk holds a bad frame, push throws and the values of good
   * frames before it in the same chunk are dropped with the connection.
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.failure !== null) throw this.failure;
    try {
      return this.consume(chunk);
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  private consume(chunk: Uint8Array): unknown[] {
    const values: unknown[] = [];
    let position = 0;
    while (position < chunk.length) {
      if (this.partialBytes === 0) {
        position = this.decodeInPlace(chunk, position, values);
      } else {
        position = this.fillPartial(chunk, position, values);
      }
    }
    return values;
  }

  /**
   * With nothing buffered, decodes every whole frame of `chunk` from `position`
   * without copying; the incomplete rest (if any) starts the partial buffer.
   */
  private decodeInPlace(chunk: Uint8Array, position: number, values: unknown[]): number {
    while (chunk.length - position >= frameHeaderBytes) {
      const bodyBytes = this.checkedBodyLength(readUint32(chunk, position));
      const end = position + frameHeaderBytes + bodyBytes;
      if (end > chunk.length) break;
      values.push(decodeMessage(chunk.subarray(position + frameHeaderBytes, end)));
      position = end;
    }
    this.bodyBytes = null;
    this.appendPartial(chunk.subarray(position, chunk.length));
    if (this.partialBytes >= frameHeaderBytes) this.bodyBytes = this.checkedBodyLength(readUint32(this.partial, 0));
    return chunk.length;
  }

  /** Copies only what the frame in progress still lacks, and decodes it once complete. */
  private fillPartial(chunk: Uint8Array, position: number, values: unknown[]): number {
    const wanted = this.bodyBytes === null ? frameHeaderBytes : frameHeaderBytes + this.bodyBytes;
    const piece = Math.min(wanted - this.partialBytes, chunk.length - position);
    this.appendPartial(chunk.subarray(position, position + piece));
    if (this.bodyBytes === null && this.partialBytes === frameHeaderBytes) {
      this.bodyBytes = this.checkedBodyLength(readUint32(this.partial, 0));
    }
    if (this.bodyBytes !== null && this.partialBytes === frameHeaderBytes + this.bodyBytes) {
      values.push(decodeMessage(this.partial.subarray(frameHeaderBytes, this.partialBytes)));
      this.resetPartial();
    }
    return position + piece;
  }

  private checkedBodyLength(bodyBytes: number): number {
    if (bodyBytes > this.frameBytesMax) {
      throw new WireError('frame_too_large', `frame of ${bodyBytes} bytes exceeds the limit of ${this.frameBytesMax} bytes`);
    }
    if (bodyBytes === 0) throw new WireError('decode_failed', 'empty frame');
    return bodyBytes;
  }

  /** Appends bytes to the partial frame, doubling its buffer when full (amortised linear). */
  private appendPartial(bytes: Uint8Array): void {
    const needed = this.partialBytes + bytes.length;
    if (needed > this.partial.length) {
      // Never grow past the frame in progress once its length is known.
      const frameBytes = this.bodyBytes === null ? Infinity : frameHeaderBytes + this.bodyBytes;
      const capacity = Math.max(needed, Math.min(frameBytes, Math.max(this.partial.length * 2, partialBytesInitial)));
      const grown = new Uint8Array(capacity);
      grown.set(this.partial.subarray(0, this.partialBytes));
      this.partial = grown;
    }
    this.partial.set(bytes, this.partialBytes);
    this.partialBytes = needed;
  }

  /**
   * Keeps a small buffer for the next partial frame but lets a large one go, so
   * an idle connection does not hold the memory of its largest frame. Reuse is
   * safe because the codec copies binary values out (copyBuffers).
   */
  private resetPartial(): void {
    this.partialBytes = 0;
    this.bodyBytes = null;
    if (this.partial.length > partialBytesRetainedMax) this.partial = new Uint8Array(0);
  }

  private fail(error: unknown): void {
    this.failure = error instanceof WireError ? error : new WireError('decode_failed', 'frame decoder failed', { cause: error });
    this.partial = new Uint8Array(0);
    this.partialBytes = 0;
    this.bodyBytes = null;
  }
}

/** First allocation for a partial frame: most messages are a few hundred bytes. */
const partialBytesInitial = 1024;
/** A partial-frame buffer larger than this is dropped after its frame completes. */
const partialBytesRetainedMax = 64 * 1024;

function readUint32(bytes: Uint8Array, offset: number): number {
  return bytes[offset] * 0x100_0000 + ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]);
}

/** The length prefix is a uint32, so no configured frameBytesMax can exceed this. */
const lengthPrefixMax = 0xffff_ffff;

/** A bad limit is a programmer or configuration error, not a peer's fault: a plain RangeError. */
function assertFrameBytesMax(frameBytesMax: number): void {
  if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 1 || frameBytesMax > lengthPrefixMax) {
    throw new RangeError(`frameBytesMax must be an integer in 1..${lengthPrefixMax}, got ${frameBytesMax}`);
  }
}
