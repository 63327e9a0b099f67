// The wire's part in user state machines: the state machine identity in the
// handshake and status, and the vote request and reply of client voting.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';
import { WireError } from '../../../src/wire/errors.js';
import {
  parseClientRequest,
  parseClientResponse,
  parseGoodbye,
  parseHandshakeReply,
  parseHello,
  stateMachineIdentityCharsMax,
} from '../../../src/wire/validate.js';

const roundTrip = (message: object): unknown => decodeMessage(encodeMessage(message as never));

describe('the state machine identity in the handshake', () => {
  const hello = { type: 'hello', protocol: 1, clusterId: 'c', role: 'node', nodeId: 2 };

  it('is carried by a hello and a welcome when given, and absent otherwise (older nodes)', () => {
    expect(parseHello(roundTrip({ ...hello, stateMachine: 'bank-ledger@1' }))).toEqual({ ...hello, stateMachine: 'bank-ledger@1' });
    expect(parseHello(roundTrip(hello))).toEqual(hello);
    expect(parseHello(roundTrip({ ...hello, stateMachine: null }))).toEqual(hello);
    const welcome = { type: 'welcome', protocol: 1, clusterId: 'c', nodeId: 1, stateMachine: 'builtin:kv@1' };
    expect(parseHandshakeReply(roundTrip(welcome))).toEqual(welcome);
  });

  it('is refused when it is not a short string', () => {
    expect(() => parseHello({ ...hello, stateMachine: 7 })).toThrow(/hello\.stateMachine must be a string/);
    expect(() => parseHello({ ...hello, stateMachine: 'x'.repeat(stateMachineIdentityCharsMax + 1) })).toThrow(WireError);
  });

  it('has its own close reason', () => {
    const goodbye = { type: 'goodbye', code: 'wrong_state_machine', reason: 'node 3 runs state machine a@1 but node 1 runs b@1' };
    expect(parseGoodbye(roundTrip(goodbye))).toEqual(goodbye);
  });
});

describe('client voting messages', () => {
  it('round-trips a vote request and both kinds of reply', () => {
    const request = { type: 'slot_outcome', id: 3, slot: 17 };
    expect(parseClientRequest(roundTrip(request))).toEqual(request);
    const known = { type: 'slot_outcome_reply', id: 3, slot: 17, known: true, digest: 'ab12', lastApplied: 20 };
    const pending = { type: 'slot_outcome_reply', id: 4, slot: 17, known: false, digest: null, lastApplied: 12 };
    expect(parseClientResponse(roundTrip(known))).toEqual(known);
    expect(parseClientResponse(roundTrip(pending))).toEqual(pending);
  });

  it('refuses malformed ones', () => {
    expect(() => parseClientRequest({ type: 'slot_outcome', id: 1, slot: -1 })).toThrow(/slot_outcome\.slot/);
    expect(() => parseClientResponse({ type: 'slot_outcome_reply', id: 1, slot: 1, known: 'yes', digest: null, lastApplied: 1 })).toThrow(/known/);
    expect(() => parseClientResponse({ type: 'slot_outcome_reply', id: 1, slot: 1, known: true, digest: 'x'.repeat(129), lastApplied: 1 })).toThrow(/digest/);
  });

  it('carries the identity in a status reply, optionally', () => {
    const status = {
      id: 1, address: 'a:1', role: 'leader', leader: 1, ballot: '1.1', promised: '1.1', commitIndex: 0, lastChosen: 0, lastApplied: 0,
      appliedDigest: '', walBytes: 0, lastSnapshot: 0, uptimeMs: 1, clusterId: 'c', peers: [],
    };
    const parsed = parseClientResponse(roundTrip({ type: 'status_reply', id: 1, status: { ...status, stateMachine: 'lock-service@1' } }));
    expect(parsed).toMatchObject({ status: { stateMachine: 'lock-service@1' } });
    expect(parseClientResponse(roundTrip({ type: 'status_reply', id: 1, status }))).not.toHaveProperty('status.stateMachine');
  });
});
