// Errors of the client room. Each class has a stable `code` so that `--json`
// output and library users can branch on it without parsing messages
// (undici's UND_ERR_* and oclif's CLIError.code do the same).

/** Stable codes of every error the client library raises or reports. */
export type ClientErrorCode =
  | 'invalid_option'
  | 'connect_failed'
  | 'handshake_refused'
  | 'wrong_cluster'
  | 'connection_closed'
  | 'request_timeout'
  | 'too_many_requests'
  | 'request_too_large'
  | 'protocol_violation'
  | 'client_closed';

/** Base class of the client's errors. */
export class ClientError extends Error {
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A flag, environment variable or constructor option has a value the client cannot use. */
export class InvalidOptionError extends ClientError {
  constructor(message: string) {
    super('invalid_option', message);
  }
}

/** The client was closed; no more requests are accepted. */
export class ClientClosedError extends ClientError {
  constructor() {
    super('client_closed', 'the client is closed');
  }
}

/**
 * A request did not get an answer. `sent` tells whether its bytes were handed
 * to the socket: a request that was never sent certainly was not proposed,
 * while one that was sent may have been, which is what separates a definite
 * "not applied" from an unknown outcome.
 */
export class RequestFailedError extends ClientError {
  readonly sent: boolean;
  /** The node's address as dialed, host:port. */
  readonly address: string;

  constructor(options: {
    code: ClientErrorCode;
    message: string;
    sent: boolean;
    address: string;
    cause?: unknown;
  }) {
    super(options.code, options.message, { cause: options.cause });
    this.sent = options.sent;
    this.address = options.address;
  }
}
