// The one error class of the wire room. Its `code` is the close reason the
// runtime sends in a goodbye and logs, so every failure here maps to a stable code.
import type { CloseReason } from './protocol.js';

export class WireError extends Error {
  readonly code: CloseReason;

  constructor(code: CloseReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WireError';
    this.code = code;
  }
}

export function isWireError(error: unknown): error is WireError {
  return error instanceof WireError;
}
