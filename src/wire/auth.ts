// Shared-secret authentication in the handshake: an HMAC-SHA256 challenge and
// response, mutual, that never puts the secret on the wire. Pure (no sockets,
// no files): the runtime and the client library drive it.
//
//   connector -> listener  hello     {..., nonce: Nc}             (nonce only when the connector has a secret)
//   listener  -> connector challenge {nodeId, clusterId, nonce: Nl, proof: P_l}
//   connector -> listener  auth      {proof: P_c}
//   listener  -> connector welcome   (or goodbye auth_failed)
//
// P_l = HMAC(secret, "listener" | listener id | cluster | Nc | Nl) proves the
// listener holds the secret; P_c = HMAC(secret, role | connector id | cluster |
// Nl | Nc) proves the connector does. The speaker's label is part of the
// material, so a proof can never be reflected back as the other side's. Both
// nonces are in both proofs, so no proof can be replayed on another connection.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../node/core/messages.js';
import { WireError } from './errors.js';

/** 32 random bytes: a nonce never repeats across the life of any cluster. */
export const nonceBytes = 32;
/** A SHA-256 HMAC is 32 bytes. */
export const proofBytes = 32;
/**
 * A shorter secret can be guessed offline from one recorded handshake (the
 * nonces and the proof are all on the wire); 16 bytes is 128 bits if random.
 */
export const secretBytesMin = 16;
/** A secret file is one line; anything larger is the wrong file. */
export const secretBytesMax = 4096;
/** Changing this label invalidates every proof: bump it only with the protocol. */
const proofLabel = 'paxos-auth-v1';

/** The listener's answer to a hello when it requires authentication. */
export interface ChallengeMessage {
  type: 'challenge';
  protocol: number;
  clusterId: string;
  nodeId: NodeId;
  nonce: Uint8Array;
  /** The listener's proof over the connector's nonce; null when the hello carried no nonce. */
  proof: Uint8Array | null;
}

/** The connector's proof, its answer to a challenge. */
export interface AuthMessage {
  type: 'auth';
  proof: Uint8Array;
}

/** Who is proving, and to whom: everything that is bound into one proof. */
export interface ProofStatement {
  speaker: 'listener' | 'node' | 'client';
  nodeId: NodeId | null;
  clusterId: string;
  /** The nonce the other side chose (the challenge this proof answers). */
  theirNonce: Uint8Array;
  /** This side's own nonce (null for a connector without one: it then has no secret). */
  ownNonce: Uint8Array | null;
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(nonceBytes));
}

export function proofFor(secret: Uint8Array, statement: ProofStatement): Uint8Array {
  const hmac = createHmac('sha256', secret);
  // NUL separators and fixed-length nonces: no two statements share material.
  hmac.update(`${proofLabel}\0${statement.speaker}\0${statement.nodeId ?? ''}\0${statement.clusterId}\0`, 'utf8');
  hmac.update(statement.theirNonce);
  hmac.update(statement.ownNonce ?? new Uint8Array(0));
  return new Uint8Array(hmac.digest());
}

/** Constant-time check, so the time to refuse a proof says nothing about how close it was. */
export function proofMatches(secret: Uint8Array, statement: ProofStatement, proof: Uint8Array | null): boolean {
  if (proof === null || proof.length !== proofBytes) return false;
  return timingSafeEqual(proofFor(secret, statement), proof);
}

/**
 * Turns the bytes of a secret file into the secret: trailing whitespace (the
 * newline an editor adds) is not part of it. Throws a plain Error fit for a user.
 */
export function secretFromBytes(bytes: Uint8Array, source: string): Uint8Array {
  if (bytes.length > secretBytesMax) throw new Error(`${source} is ${bytes.length} bytes; a secret is at most ${secretBytesMax}`);
  const text = Buffer.from(bytes).toString('utf8').replace(/\s+$/u, '');
  const secret = new Uint8Array(Buffer.from(text, 'utf8'));
  if (secret.length < secretBytesMin) {
    throw new Error(`${source} holds a ${secret.length}-byte secret; use at least ${secretBytesMin} bytes (e.g. openssl rand -hex 32)`);
  }
  return secret;
}

// ---------------------------------------------------------------------------
// Parsing. A nonce or proof of the wrong size is refused before any HMAC runs.

type Fields = Readonly<Record<string, unknown>>;

function fieldsOf(x: unknown, what: string): Fields {
  if (typeof x !== 'object' || x === null || Array.isArray(x) || x instanceof Uint8Array) {
    throw new WireError('invalid_message', `${what} must be a map`);
  }
  return x as Fields;
}

function bytesOf(x: unknown, what: string, length: number): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== length) throw new WireError('invalid_message', `${what} must be ${length} bytes`);
  return new Uint8Array(x);
}

/** The optional nonce of a hello (the hello's other fields are checked by parseHello). */
export function helloNonce(x: unknown): Uint8Array | null {
  const nonce = fieldsOf(x, 'hello').nonce;
  if (nonce === undefined || nonce === null) return null;
  return bytesOf(nonce, 'hello.nonce', nonceBytes);
}

/**
 * A remote's `type` field, for a message: only a string is shown. Never
 * String() an untrusted value: a decoded map with a `toString` key that is not
 * a function makes String() throw a TypeError, which would crash the node.
 */
function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.length > 40 ? `${type.slice(0, 40)}...` : type);
  if (type === undefined) return 'no type';
  if (type === null) return 'nil';
  if (type instanceof Uint8Array) return 'binary';
  return Array.isArray(type) ? 'a list' : typeof type === 'object' ? 'a map' : `a ${typeof type}`;
}

export function isChallenge(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as Fields).type === 'challenge';
}

export function parseChallenge(x: unknown): ChallengeMessage {
  const f = fieldsOf(x, 'challenge');
  if (f.type !== 'challenge') throw new WireError('handshake_required', 'expected a challenge');
  const nodeId = f.nodeId;
  if (typeof nodeId !== 'number' || !Number.isSafeInteger(nodeId) || nodeId < 1 || nodeId > 1_000_000) {
    throw new WireError('invalid_message', 'challenge.nodeId must be a node id');
  }
  if (typeof f.clusterId !== 'string' || f.clusterId.length === 0 || f.clusterId.length > 256) {
    throw new WireError('invalid_message', 'challenge.clusterId must be a string of 1 to 256 characters');
  }
  if (typeof f.protocol !== 'number' || !Number.isSafeInteger(f.protocol) || f.protocol < 0) {
    throw new WireError('invalid_message', 'challenge.protocol must be a non-negative integer');
  }
  return {
    type: 'challenge',
    protocol: f.protocol,
    clusterId: f.clusterId,
    nodeId,
    nonce: bytesOf(f.nonce, 'challenge.nonce', nonceBytes),
    proof: f.proof === null || f.proof === undefined ? null : bytesOf(f.proof, 'challenge.proof', proofBytes),
  };
}

/** The answer to a challenge; anything else (but a goodbye, which the caller checks first) is refused. */
export function parseAuth(x: unknown): AuthMessage {
  const f = fieldsOf(x, 'auth');
  if (f.type !== 'auth') throw new WireError('auth_failed', `expected auth after the challenge, got ${describeType(f.type)}`);
  return { type: 'auth', proof: bytesOf(f.proof, 'auth.proof', proofBytes) };
}

// ---------------------------------------------------------------------------
// The connector's side, shared by peer links and client connections.

/**
 * What a connector (a node dialling a peer, or a client) does in the
 * handshake. Without a secret it behaves as before authentication existed,
 * and a listener that demands a proof is refused with a message that says so.
 * With one, it insists the listener prove the secret too (mutual), so a
 * client or node never talks to an impostor that merely accepts connections.
 */
export class ConnectorAuth {
  /** Sent in the hello; null without a secret. */
  readonly nonce: Uint8Array | null;
  private challenged = false;

  constructor(
    private readonly secret: Uint8Array | null,
    private readonly self: { role: 'node' | 'client'; nodeId: NodeId | null },
  ) {
    this.nonce = secret === null ? null : newNonce();
  }

  /** Checks the listener's proof and returns our own; throws WireError('auth_failed') with the reason. */
  answer(challenge: ChallengeMessage): AuthMessage {
    const where = `node ${challenge.nodeId}`;
    if (this.secret === null || this.nonce === null) {
      throw new WireError('auth_failed', `${where} requires a shared secret and this side has none: pass --secret-file or set PAXOS_SECRET_FILE`);
    }
    const listener: ProofStatement = {
      speaker: 'listener',
      nodeId: challenge.nodeId,
      clusterId: challenge.clusterId,
      theirNonce: this.nonce,
      ownNonce: challenge.nonce,
    };
    if (!proofMatches(this.secret, listener, challenge.proof)) {
      throw new WireError('auth_failed', `${where} could not prove it holds our secret: the secret files differ`);
    }
    this.challenged = true;
    const own: ProofStatement = { speaker: this.self.role, nodeId: this.self.nodeId, clusterId: challenge.clusterId, theirNonce: challenge.nonce, ownNonce: this.nonce };
    return { type: 'auth', proof: proofFor(this.secret, own) };
  }

  /** A welcome arrived: with a secret, only after the listener proved itself. */
  checkWelcome(nodeId: NodeId): void {
    if (this.secret !== null && !this.challenged) {
      throw new WireError('auth_failed', `node ${nodeId} welcomed us without proving it holds the secret: it runs without --secret-file (or is not ours)`);
    }
  }
}

// ---------------------------------------------------------------------------
// The listener's side.

/** A challenge sent and the statement its answer must prove. */
export interface PendingChallenge {
  message: ChallengeMessage;
  expected: ProofStatement;
}

/** Builds the challenge for an accepted hello. */
export function challengeFor(
  secret: Uint8Array,
  listener: { nodeId: NodeId; clusterId: string; protocol: number },
  hello: { role: 'node' | 'client'; nodeId: NodeId | null; nonce: Uint8Array | null },
): PendingChallenge {
  const nonce = newNonce();
  const proof =
    hello.nonce === null
      ? null
      : proofFor(secret, { speaker: 'listener', nodeId: listener.nodeId, clusterId: listener.clusterId, theirNonce: hello.nonce, ownNonce: nonce });
  return {
    message: { type: 'challenge', protocol: listener.protocol, clusterId: listener.clusterId, nodeId: listener.nodeId, nonce, proof },
    expected: { speaker: hello.role, nodeId: hello.nodeId, clusterId: listener.clusterId, theirNonce: nonce, ownNonce: hello.nonce },
  };
}

/** Checks the connector's answer; throws WireError('auth_failed') when it does not prove the secret. */
export function checkAuth(secret: Uint8Array, pending: PendingChallenge, frame: unknown): void {
  const auth = parseAuth(frame);
  if (!proofMatches(secret, pending.expected, auth.proof)) {
    const who = pending.expected.speaker === 'client' ? 'client' : `node ${pending.expected.nodeId}`;
    throw new WireError('auth_failed', `the ${who} does not hold this cluster's secret (wrong or missing --secret-file)`);
  }
}
