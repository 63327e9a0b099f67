import { describe, expect, it } from 'vitest';
import {
  challengeFor,
  checkAuth,
  ConnectorAuth,
  helloNonce,
  parseChallenge,
  proofFor,
  proofMatches,
  secretFromBytes,
  type ProofStatement,
} from '../../../src/wire/auth.js';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';
import { WireError } from '../../../src/wire/errors.js';

const secret = secretFromBytes(Buffer.from('0123456789abcdef0123456789abcdef\n'), 'test');
const otherSecret = secretFromBytes(Buffer.from('fedcba9876543210fedcba9876543210'), 'test');
const listener = { nodeId: 1, clusterId: 'c1', protocol: 1 };

/** Runs a whole handshake through msgpack, as the wire would. */
function handshake(connectorSecret: Uint8Array | null, listenerSecret: Uint8Array, self = { role: 'node' as const, nodeId: 2 }) {
  const connector = new ConnectorAuth(connectorSecret, self);
  const hello = decodeMessage(encodeMessage({ type: 'hello', protocol: 1, clusterId: 'c1', role: self.role, nodeId: self.nodeId, nonce: connector.nonce }));
  const pending = challengeFor(listenerSecret, listener, { ...self, nonce: helloNonce(hello) });
  const challenge = parseChallenge(decodeMessage(encodeMessage(pending.message)));
  const auth = connector.answer(challenge);
  checkAuth(listenerSecret, pending, decodeMessage(encodeMessage(auth)));
  connector.checkWelcome(listener.nodeId);
}

function codeOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    return error instanceof WireError ? `${error.code}: ${error.message}` : String(error);
  }
  return 'ok';
}

describe('shared-secret handshake', () => {
  it('admits a node and a client that hold the secret, both ways', () => {
    expect(codeOf(() => handshake(secret, secret))).toBe('ok');
    expect(codeOf(() => handshake(secret, secret, { role: 'client', nodeId: null } as never))).toBe('ok');
  });

  it('a connector with another secret refuses the listener (its proof does not match)', () => {
    expect(codeOf(() => handshake(otherSecret, secret))).toMatch(/^auth_failed: node 1 could not prove it holds our secret/);
  });

  it('a connector without a secret is told to pass --secret-file', () => {
    expect(codeOf(() => handshake(null, secret))).toMatch(/^auth_failed: node 1 requires a shared secret .*--secret-file/);
  });

  it('the listener refuses a wrong proof, even from a connector that accepted the listener', () => {
    const connector = new ConnectorAuth(secret, { role: 'node', nodeId: 2 });
    const pending = challengeFor(secret, listener, { role: 'node', nodeId: 2, nonce: connector.nonce });
    const forged = { type: 'auth', proof: new Uint8Array(32) };
    expect(codeOf(() => checkAuth(secret, pending, forged))).toMatch(/^auth_failed: the node 2 does not hold/);
    expect(codeOf(() => checkAuth(secret, pending, { type: 'submit' }))).toMatch(/^auth_failed: expected auth/);
    expect(codeOf(() => checkAuth(secret, pending, { type: 'auth', proof: new Uint8Array(5) }))).toMatch(/^invalid_message/);
    // Found by the live fuzz: String() of a decoded map whose toString is not a function threw a TypeError and crashed the node.
    const hostileType = decodeMessage(encodeMessage({ type: { toString: 1, valueOf: 2 } } as never));
    expect(codeOf(() => checkAuth(secret, pending, hostileType))).toMatch(/^auth_failed: expected auth after the challenge, got a map/);
    expect(codeOf(() => checkAuth(secret, pending, { type: 'x'.repeat(100) }))).toMatch(/got "x{40}\.\.\."/);
  });

  it('a proof is bound to the role and node id it claims: a client proof does not admit node 2', () => {
    const client = new ConnectorAuth(secret, { role: 'client', nodeId: null });
    const pending = challengeFor(secret, listener, { role: 'node', nodeId: 2, nonce: client.nonce });
    const auth = client.answer(parseChallenge(pending.message));
    expect(codeOf(() => checkAuth(secret, pending, auth))).toMatch(/^auth_failed/);
  });

  it('a listener proof cannot be reflected as a connector proof', () => {
    const nonceA = new Uint8Array(32).fill(1);
    const nonceB = new Uint8Array(32).fill(2);
    const asListener: ProofStatement = { speaker: 'listener', nodeId: 2, clusterId: 'c1', theirNonce: nonceA, ownNonce: nonceB };
    const asNode: ProofStatement = { ...asListener, speaker: 'node' };
    expect(proofMatches(secret, asNode, proofFor(secret, asListener))).toBe(false);
  });

  it('a connector with a secret refuses a welcome that came without a challenge', () => {
    const connector = new ConnectorAuth(secret, { role: 'client', nodeId: null });
    expect(codeOf(() => connector.checkWelcome(3))).toMatch(/^auth_failed: node 3 welcomed us without proving/);
    expect(codeOf(() => new ConnectorAuth(null, { role: 'client', nodeId: null }).checkWelcome(3))).toBe('ok');
  });

  it('the secret never appears in any message', () => {
    const connector = new ConnectorAuth(secret, { role: 'node', nodeId: 2 });
    const pending = challengeFor(secret, listener, { role: 'node', nodeId: 2, nonce: connector.nonce });
    const auth = connector.answer(parseChallenge(pending.message));
    for (const message of [pending.message, auth]) {
      expect(encodeMessage(message).includes(Buffer.from(secret))).toBe(false);
    }
  });

  it('refuses short secrets and strips the trailing newline', () => {
    expect(() => secretFromBytes(Buffer.from('short\n'), 'f')).toThrow(/at least 16 bytes/);
    expect(Buffer.from(secretFromBytes(Buffer.from('0123456789abcdef\n\n'), 'f')).toString()).toBe('0123456789abcdef');
  });

  it('parses a hello nonce only when it is 32 bytes', () => {
    expect(helloNonce({ type: 'hello' })).toBeNull();
    expect(helloNonce({ type: 'hello', nonce: null })).toBeNull();
    expect(() => helloNonce({ type: 'hello', nonce: 'x' })).toThrow(/32 bytes/);
    expect(() => parseChallenge({ type: 'challenge', protocol: 1, clusterId: 'c', nodeId: -1, nonce: new Uint8Array(32), proof: null })).toThrow(/node id/);
  });
});
