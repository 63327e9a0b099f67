// The listener's handshake without sockets: frames in (through msgpack, as the
// wire delivers them), frames out and a verdict, for every way a connection
// can be admitted or refused. The close codes and reasons are the ones the
// transport sends in its goodbye and logs.
import { describe, expect, it } from 'vitest';
import { ConnectorAuth, parseChallenge, secretFromBytes } from '../../../src/wire/auth.js';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';
import { ListenerHandshake, PeerDialHandshake, type HandshakeStep, type ListenerHandshakeOptions, type PeerDialOptions } from '../../../src/wire/handshake.js';
import { builtinStateMachineIdentity, protocolVersion, type HelloMessage } from '../../../src/wire/protocol.js';

const secret = secretFromBytes(Buffer.from('0123456789abcdef0123456789abcdef'), 'test');
const otherSecret = secretFromBytes(Buffer.from('fedcba9876543210fedcba9876543210'), 'test');

function listener(options: Partial<ListenerHandshakeOptions> = {}): ListenerHandshake {
  return new ListenerHandshake({
    self: 1,
    clusterId: 'c1',
    isPeer: (nodeId) => nodeId === 2 || nodeId === 3,
    stateMachine: builtinStateMachineIdentity,
    frameBytesMax: 1024,
    secret: null,
    ...options,
  });
}

/** What the wire would deliver: encoded and decoded by msgpack. */
function wire(message: unknown): unknown {
  return decodeMessage(encodeMessage(message));
}

function hello(fields: Partial<HelloMessage> = {}): unknown {
  return wire({ type: 'hello', protocol: protocolVersion, clusterId: 'c1', role: 'node', nodeId: 2, ...fields });
}

const clientHello = (fields: Partial<HelloMessage> = {}): unknown => hello({ role: 'client', nodeId: null, clusterId: null, ...fields });

function refusal(step: HandshakeStep): string {
  return step.kind === 'refused' ? `${step.code}: ${step.reason}` : `not refused: ${step.kind}`;
}

const welcome = { type: 'welcome', protocol: protocolVersion, clusterId: 'c1', nodeId: 1, stateMachine: builtinStateMachineIdentity, frameBytesMax: 1024 };

describe('ListenerHandshake without a secret', () => {
  it('admits a hello from a peer node and welcomes it', () => {
    const handshake = listener();
    expect(handshake.receive(hello())).toEqual({ kind: 'admitted', role: 'peer', nodeId: 2, send: [welcome] });
    expect(handshake.phase).toBe('admitted');
  });

  it('admits a client, with or without a cluster id', () => {
    expect(listener().receive(clientHello())).toEqual({ kind: 'admitted', role: 'client', send: [welcome] });
    expect(listener().receive(clientHello({ clusterId: 'c1' }))).toMatchObject({ kind: 'admitted', role: 'client' });
  });

  it('welcomes with the state machine and frame limit this node has', () => {
    const step = listener({ stateMachine: 'ledger@1', frameBytesMax: 77 }).receive(clientHello());
    expect(step).toMatchObject({ send: [{ type: 'welcome', stateMachine: 'ledger@1', frameBytesMax: 77 }] });
  });

  it('refuses the wrong cluster, and a node that names none', () => {
    expect(refusal(listener().receive(hello({ clusterId: 'c2' })))).toBe("wrong_cluster: cluster c2 is not this node's cluster c1");
    expect(refusal(listener().receive(clientHello({ clusterId: 'c2' })))).toMatch(/^wrong_cluster: /);
    expect(refusal(listener().receive(hello({ clusterId: null })))).toBe('wrong_cluster: a node must name its cluster');
  });

  it('refuses another protocol version', () => {
    expect(refusal(listener().receive(hello({ protocol: protocolVersion + 1 })))).toBe(`wrong_protocol: protocol ${protocolVersion + 1} is not ${protocolVersion}; upgrade the older side`);
  });

  it('refuses a node id that is not a peer, itself included', () => {
    expect(refusal(listener().receive(hello({ nodeId: 9 })))).toBe('unknown_node: node id 9 is not a peer of node 1');
    expect(refusal(listener().receive(hello({ nodeId: 1 })))).toBe('unknown_node: node id 1 is not a peer of node 1');
  });

  it('refuses a peer that runs another state machine; a hello without one means the built-in store', () => {
    expect(refusal(listener().receive(hello({ stateMachine: 'ledger@1' })))).toMatch(/^wrong_state_machine: node 2 runs state machine ledger@1 but node 1 runs builtin:kv@1;/);
    expect(refusal(listener({ stateMachine: 'ledger@1' }).receive(hello()))).toMatch(/^wrong_state_machine: node 2 runs state machine builtin:kv@1 but node 1 runs ledger@1/);
    expect(listener({ stateMachine: 'ledger@1' }).receive(hello({ stateMachine: 'ledger@1' }))).toMatchObject({ kind: 'admitted', role: 'peer' });
  });

  it('refuses anything but a hello first, and hostile shapes, without throwing', () => {
    const hostile: unknown[] = [
      wire({ type: 'submit', id: 1, client: 'c', seq: 1, op: [] }),
      wire({ type: 'auth', proof: new Uint8Array(32) }),
      wire({ type: { toString: 'not a function' } }),
      wire({ type: 5 }),
      wire({ type: new Uint8Array([104, 101, 108, 108, 111]) }),
      wire({ type: ['hello'] }),
      wire({ notype: true }),
      wire(['hello']),
      wire('hello'),
      wire(null),
      wire(42),
      Object.create(null),
      hello({ nodeId: -1 }),
      hello({ role: 'admin' as never }),
    ];
    for (const frame of hostile) {
      const step = listener().receive(frame);
      expect(step.kind, JSON.stringify(frame)).toBe('refused');
      if (step.kind === 'refused') expect(['handshake_required', 'invalid_message', 'unknown_type']).toContain(step.code);
    }
    expect(refusal(listener().receive(wire({ type: 'submit' })))).toBe('handshake_required: expected hello as the first message, got "submit"');
  });

  it('asks the TLS check first, before believing the rest of the hello', () => {
    const claims: HelloMessage[] = [];
    const handshake = listener({
      certificateRefusal: (claim) => {
        claims.push(claim);
        return claim.nodeId === 3 ? "the peer's certificate names node 2, not 3" : null;
      },
    });
    expect(refusal(handshake.receive(hello({ nodeId: 3, protocol: 99 })))).toBe("auth_failed: the peer's certificate names node 2, not 3");
    expect(claims).toHaveLength(1);
    expect(listener({ certificateRefusal: () => null }).receive(hello())).toMatchObject({ kind: 'admitted', nodeId: 2 });
  });
});

describe('ListenerHandshake with a shared secret', () => {
  /** A connector's hello, and its side of the proof. */
  function connector(connectorSecret: Uint8Array | null, self: { role: 'node' | 'client'; nodeId: number | null } = { role: 'node', nodeId: 2 }) {
    const auth = new ConnectorAuth(connectorSecret, self);
    const clusterId = self.role === 'node' ? 'c1' : null;
    return { auth, hello: hello({ role: self.role, nodeId: self.nodeId, clusterId, nonce: auth.nonce }) };
  }

  function challengeOf(step: HandshakeStep) {
    if (step.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
    expect(step.send).toHaveLength(1);
    return parseChallenge(wire(step.send[0]));
  }

  it('challenges first, then admits a node that proves the secret (and the listener proves it too)', () => {
    const handshake = listener({ secret });
    const { auth, hello: first } = connector(secret);
    const challenge = challengeOf(handshake.receive(first));
    expect(handshake.phase).toBe('auth');
    expect(challenge).toMatchObject({ nodeId: 1, clusterId: 'c1' });
    const answer = auth.answer(challenge);
    expect(handshake.receive(wire(answer))).toEqual({ kind: 'admitted', role: 'peer', nodeId: 2, send: [welcome] });
    expect(() => auth.checkWelcome(1)).not.toThrow();
  });

  it('admits a client that proves the secret', () => {
    const handshake = listener({ secret });
    const { auth, hello: first } = connector(secret, { role: 'client', nodeId: null });
    const answer = auth.answer(challengeOf(handshake.receive(first)));
    expect(handshake.receive(wire(answer))).toMatchObject({ kind: 'admitted', role: 'client' });
  });

  it('refuses a wrong proof, and anything but auth after the challenge', () => {
    const wrong = listener({ secret });
    challengeOf(wrong.receive(connector(secret).hello));
    expect(refusal(wrong.receive(wire({ type: 'auth', proof: new Uint8Array(32) })))).toBe("auth_failed: the node 2 does not hold this cluster's secret (wrong or missing --secret-file)");
    expect(wrong.phase).toBe('refused');

    const other = listener({ secret });
    challengeOf(other.receive(connector(secret).hello));
    expect(refusal(other.receive(hello()))).toMatch(/^auth_failed: expected auth after the challenge, got "hello"/);
  });

  it('a connector with another secret cannot answer, and one without a secret is challenged all the same', () => {
    const handshake = listener({ secret });
    const { auth, hello: first } = connector(otherSecret);
    expect(() => auth.answer(challengeOf(handshake.receive(first)))).toThrow(/could not prove it holds our secret/);
    const noSecret = connector(null);
    expect(listener({ secret }).receive(noSecret.hello).kind).toBe('challenge');
  });

  it('says nothing about node ids before the proof: an unknown node is refused only after it', () => {
    const handshake = listener({ secret });
    const { auth, hello: first } = connector(secret, { role: 'node', nodeId: 9 });
    const answer = auth.answer(challengeOf(handshake.receive(first)));
    expect(refusal(handshake.receive(wire(answer)))).toBe('unknown_node: node id 9 is not a peer of node 1');
  });

  it('refuses a nonce of the wrong size before any HMAC runs (without a secret, the nonce is not read)', () => {
    expect(refusal(listener({ secret }).receive(hello({ nonce: new Uint8Array(3) })))).toBe('invalid_message: hello.nonce must be 32 bytes');
    expect(listener().receive(hello({ nonce: new Uint8Array(3) })).kind).toBe('admitted');
  });

  it('checks protocol and cluster before it challenges', () => {
    expect(refusal(listener({ secret }).receive(hello({ clusterId: 'c2' })))).toMatch(/^wrong_cluster: /);
    expect(refusal(listener({ secret }).receive(hello({ protocol: 0 })))).toMatch(/^wrong_protocol: /);
  });
});

describe('ListenerHandshake verdicts over time', () => {
  it('gives the timeout verdict the caller asks for, by phase', () => {
    expect(listener().timedOut()).toEqual({ kind: 'refused', code: 'handshake_required', reason: 'no hello in time' });
    const waiting = listener({ secret });
    waiting.receive(hello({ nonce: new ConnectorAuth(secret, { role: 'node', nodeId: 2 }).nonce }));
    expect(waiting.timedOut()).toEqual({ kind: 'refused', code: 'handshake_required', reason: 'no answer to the authentication challenge in time' });
    expect(waiting.phase).toBe('refused');
  });

  it('once refused, stays refused with the same verdict (a later valid hello is not admitted)', () => {
    const handshake = listener();
    const first = handshake.receive(hello({ clusterId: 'c2' }));
    expect(handshake.receive(hello())).toEqual(first);
    expect(handshake.timedOut()).toEqual(first);
  });

  it('after admission, frames are not the handshake\'s: the caller must route them elsewhere', () => {
    const handshake = listener();
    handshake.receive(hello());
    expect(() => handshake.receive(hello())).toThrow(/after admission/);
    expect(() => handshake.timedOut()).toThrow(/after admission/);
  });
});

describe('PeerDialHandshake: a node dialling its peer', () => {
  function dialler(options: Partial<PeerDialOptions> = {}): PeerDialHandshake {
    return new PeerDialHandshake({ self: 2, clusterId: 'c1', stateMachine: builtinStateMachineIdentity, secret: null, peer: 1, address: '127.0.0.1:7401', ...options });
  }

  /** Runs both sides through msgpack until the dialler is welcomed or either side refuses. */
  function run(dial: PeerDialHandshake, listen: ListenerHandshake): { dialler: string; listener: string } {
    let step = listen.receive(wire(dial.hello()));
    for (let rounds = 0; rounds < 3; rounds += 1) {
      if (step.kind === 'refused') return { dialler: 'waiting', listener: refusal(step) };
      const reply = dial.receive(wire(step.send[0]));
      if (reply.kind === 'welcomed') return { dialler: `welcomed by node ${reply.welcome.nodeId}`, listener: step.kind };
      if (reply.kind !== 'answer') return { dialler: `${reply.kind}: ${'code' in reply ? `${reply.code}: ` : ''}${reply.reason}`, listener: step.kind };
      step = listen.receive(wire(reply.send[0]));
    }
    throw new Error('the handshake did not finish');
  }

  it('says hello as a node of its cluster, with its state machine, and a nonce only with a secret', () => {
    expect(dialler().hello()).toEqual({ type: 'hello', protocol: protocolVersion, clusterId: 'c1', role: 'node', nodeId: 2, stateMachine: builtinStateMachineIdentity, nonce: null });
    expect(dialler({ secret }).hello().nonce).toHaveLength(32);
  });

  it('is welcomed by its peer, with and without a shared secret', () => {
    expect(run(dialler(), listener())).toEqual({ dialler: 'welcomed by node 1', listener: 'admitted' });
    expect(run(dialler({ secret }), listener({ secret }))).toEqual({ dialler: 'welcomed by node 1', listener: 'admitted' });
  });

  it('refuses a listener that cannot prove the secret, or that welcomes without asking for it', () => {
    expect(run(dialler({ secret }), listener({ secret: otherSecret })).dialler).toMatch(/^refused: auth_failed: node 1 could not prove it holds our secret/);
    expect(run(dialler({ secret }), listener()).dialler).toMatch(/^refused: auth_failed: node 1 welcomed us without proving it holds the secret/);
    expect(run(dialler(), listener({ secret })).dialler).toMatch(/^refused: auth_failed: node 1 requires a shared secret and this side has none/);
  });

  it('drops a connection where another node answers, and reports a goodbye as the listener gave it', () => {
    expect(run(dialler({ peer: 3 }), listener())).toEqual({ dialler: 'misdialled: the node at 127.0.0.1:7401 is node 1, not 3', listener: 'admitted' });
    expect(dialler().receive(wire({ type: 'goodbye', code: 'wrong_cluster', reason: 'cluster c2 is not ...' }))).toEqual({ kind: 'goodbye', code: 'wrong_cluster', reason: 'cluster c2 is not ...' });
  });

  it('refuses anything but a challenge, welcome or goodbye, and hostile shapes, without throwing', () => {
    for (const frame of [wire({ type: 'submit' }), wire({ type: { toString: 1 } }), wire(null), wire([1, 2]), wire({ type: 'challenge', nodeId: 1 })]) {
      const step = dialler({ secret }).receive(frame);
      expect(step.kind, JSON.stringify(frame)).toBe('refused');
    }
    expect(dialler().receive(wire({ type: 'submit' }))).toEqual({ kind: 'refused', code: 'handshake_required', reason: 'expected welcome or goodbye, got "submit"' });
  });
});
