// The driver's half of the deliberately broken `--unsafe-local-reads` mode
// (see runtime/unsafe.ts): only to show that the chaos tests catch it. Such a
// leader answers reads from its own state, and registrations once proposed.
import type { PeerMessage } from '../core/messages.js';
import type { SubmitRequest } from '../../wire/protocol.js';
import { ReplicatedService, registrationSeq, type CommandOutcome } from '../statemachine/sessions.js';
import type { StateMachineFactory } from '../statemachine/types.js';

/**
 * Answers a `get` from this replica's state, or returns null for any other
 * command. Runs the command on a throwaway copy, in a session of its own
 * registered there, so the replicated state and its sessions are untouched;
 * slow, but a broken mode need not be fast.
 */
export function readLocally(service: ReplicatedService, factory: StateMachineFactory, request: SubmitRequest): CommandOutcome | null {
  if (!Array.isArray(request.op) || request.op[0] !== 'get') return null;
  const copy = ReplicatedService.fromSnapshot(factory, service.snapshot());
  const slot = copy.lastAppliedSlot + 1;
  const [, outcome] = copy.applyValue(slot, {
    commands: [
      { client: 'local-read', seq: registrationSeq, op: null },
      { client: `local-read@${slot}.0`, seq: 1, op: request.op },
    ],
  });
  return outcome === undefined ? null : { ...outcome, client: request.client, seq: request.seq };
}

/**
 * A leader that serves from its own state also acknowledges a registration as
 * soon as it has proposed it, naming the session after the slot and position
 * of its own accept: right whenever that accept is chosen, wrong when the
 * leader was deposed and never learned it. So a client starting afresh at a
 * deposed leader is answered there, and reads there. Returns the (nonce,
 * session) of each registration in the accepts the leader sends.
 */
export function proposedRegistrations(messages: readonly PeerMessage[]): { nonce: string; session: string }[] {
  const found = new Map<string, { nonce: string; session: string }>();
  for (const message of messages) {
    if (message.type !== 'accept') continue;
    message.value.commands.forEach((command, position) => {
      if (command.seq !== registrationSeq || command.op !== null) return;
      const session = `${command.client}@${message.slot}.${position}`;
      found.set(session, { nonce: command.client, session });
    });
  }
  return [...found.values()];
}
