// paxos bench's read mix (--reads, --consistency) against a scripted node.
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../../src/client/bench.js';
import { parseAddress } from '../../../src/client/options.js';
import { applied, closeAll, startFakeNode } from './fake-node.js';

afterEach(closeAll);

async function benchAgainstFake(reads: number, consistency: 'linearizable' | 'log' | 'local') {
  const node = await startFakeNode({
    nodeId: 1,
    script: (request) =>
      request.type === 'query'
        ? { reply: { type: 'query_reply', ok: true, result: 'v', error: null, appliedSlot: 1, consistency: request.consistency, knownChosenSlot: 1 } }
        : applied('OK', 1),
  });
  const result = await runBench({ addresses: [parseAddress(node.address)], clients: 2, durationMs: 200, valueBytes: 8, keys: 4, timeoutMs: 1000, reads, consistency });
  const kinds = node.requests.map((request) => (request.type === 'query' ? `query:${request.consistency}` : request.type === 'submit' ? `submit:${(request.op as string[])[0]}` : request.type));
  return { result, kinds: new Set(kinds) };
}

describe('paxos bench reads', () => {
  it('mixes gets without the log into the sets, as --reads says', async () => {
    const { result, kinds } = await benchAgainstFake(0.5, 'linearizable');
    expect(kinds).toEqual(new Set(['query:linearizable', 'submit:set']));
    expect(result).toMatchObject({ reads: 0.5, consistency: 'linearizable', notApplied: 0, unknown: 0 });
    expect(result.applied).toBeGreaterThan(10);
  });

  it('sends only reads at 1, locally or through the log as --consistency says', async () => {
    expect((await benchAgainstFake(1, 'local')).kinds).toEqual(new Set(['query:local']));
    expect((await benchAgainstFake(1, 'log')).kinds).toEqual(new Set(['submit:get']));
    expect((await benchAgainstFake(0, 'local')).kinds).toEqual(new Set(['submit:set']));
  });
});
