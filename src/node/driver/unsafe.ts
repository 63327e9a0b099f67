// The driver's half of the deliberately broken `--unsafe-local-reads` mode
// (see runtime/unsafe.ts): only to show that the chaos tests catch it.
import type { SubmitRequest } from '../../wire/protocol.js';
import { ReplicatedService, type CommandOutcome } from '../statemachine/sessions.js';
import type { StateMachineFactory } from '../statemachine/types.js';

/**
 * Answers a `get` from this replica's state, or returns null for any other
 * command. Runs the command on a throwaway copy, so the replicated state and
 * its sessions are untouched; slow, but a broken mode need not be fast.
 */
export function readLocally(service: ReplicatedService, factory: StateMachineFactory, request: SubmitRequest): CommandOutcome | null {
  if (!Array.isArray(request.op) || request.op[0] !== 'get') return null;
  const copy = ReplicatedService.fromSnapshot(factory, service.snapshot());
  const [outcome] = copy.applyValue(copy.lastAppliedSlot + 1, { commands: [{ client: request.client, seq: request.seq, op: request.op }] });
  return outcome ?? null;
}
