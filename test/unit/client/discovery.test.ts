// Member discovery (one address is enough) and the flag for a node whose view
// of the members disagrees with the leader's, without sockets.
import { describe, expect, it } from 'vitest';
import type { NodeStatusReport } from '../../../src/client/client.js';
import { discoverStatuses, referenceStatus } from '../../../src/client/discovery.js';
import { renderStatusTable, statusRows } from '../../../src/client/status-report.js';
import type { NodeStatus, StatusConfiguration } from '../../../src/wire/protocol.js';
import { statusOf } from './fake-node.js';

const member = (id: number) => ({ id, incarnation: `inc${id}`, address: `127.0.0.1:${7400 + id}` });
const configuration: StatusConfiguration = { fromSlot: 1, voters: [member(1), member(2), member(3)], learners: [member(4)] };
const node = (id: number, fields: Partial<NodeStatus> = {}): NodeStatus =>
  statusOf(id, { member: id === 4 ? 'learner' : 'voter', incarnation: `inc${id}`, configuration, ...fields });

/** A fake cluster: the status each address answers with, and which addresses were asked, with the most asked at once. */
function cluster(statuses: NodeStatus[], down: string[] = []) {
  const asked: string[] = [];
  let inFlight = 0;
  let inFlightMax = 0;
  const ask = async (address: string): Promise<NodeStatusReport> => {
    asked.push(address);
    inFlight += 1;
    inFlightMax = Math.max(inFlightMax, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight -= 1;
    const status = statuses.find((s) => s.address === address);
    if (status === undefined || down.includes(address)) return { address, reachable: false, code: 'connect_failed', error: `${address}: connection refused` };
    return { address, reachable: true, status };
  };
  return { ask, asked, inFlightMax: () => inFlightMax };
}

describe('discoverStatuses', () => {
  it('finds every member, voters and learners, from one follower address, asking each once', async () => {
    const fake = cluster([node(1, { role: 'leader' }), node(2), node(3), node(4)]);
    const reports = await discoverStatuses(['127.0.0.1:7402'], fake.ask);
    expect(reports.map((r) => r.address)).toEqual(['127.0.0.1:7402', '127.0.0.1:7401', '127.0.0.1:7403', '127.0.0.1:7404']);
    expect(fake.asked).toHaveLength(4);
    const rows = statusRows(reports);
    expect(rows.map((row) => row.reachable && row.member)).toEqual(['voter', 'voter', 'voter', 'learner']);
    const table = renderStatusTable(rows);
    expect(table[0].split(/\s{2,}/).slice(3, 6)).toEqual(['ROLE', 'MEMBER', 'CONFIG']);
    expect(table[4].split(/\s{2,}/).slice(4, 6)).toEqual(['learner', '1']);
  });

  it('lists a member that is down as unreachable at the address the configuration gives', async () => {
    const fake = cluster([node(1, { role: 'leader' }), node(2), node(3), node(4)], ['127.0.0.1:7403']);
    const rows = statusRows(await discoverStatuses(['127.0.0.1:7401'], fake.ask));
    expect(rows.map((row) => [row.address, row.reachable])).toEqual([
      ['127.0.0.1:7401', true],
      ['127.0.0.1:7402', true],
      ['127.0.0.1:7403', false],
      ['127.0.0.1:7404', true],
    ]);
  });

  it('prefers the address a node dials a peer at (behind a proxy) and never asks an address twice', async () => {
    const leader = node(1, { role: 'leader', peers: [{ id: 2, address: '10.9.9.2:7402', connected: true }] });
    const proxied = { ...node(2), address: '10.9.9.2:7402' };
    const fake = cluster([leader, proxied, node(3), node(4)]);
    const reports = await discoverStatuses(['127.0.0.1:7401', '127.0.0.1:7401'], fake.ask);
    expect(reports.map((r) => r.address)).toEqual(['127.0.0.1:7401', '127.0.0.1:7401', '10.9.9.2:7402', '127.0.0.1:7403', '127.0.0.1:7404']);
  });

  it('bounds the requests in flight and the nodes asked', async () => {
    const many = Array.from({ length: 20 }, (_, i) => member(i + 1));
    const big: StatusConfiguration = { fromSlot: 5, voters: many, learners: [] };
    const fake = cluster(many.map((m) => node(m.id, { role: m.id === 1 ? 'leader' : 'follower', configuration: big })));
    const reports = await discoverStatuses(['127.0.0.1:7401'], fake.ask, { concurrency: 3, nodesMax: 12 });
    expect(reports).toHaveLength(12);
    expect(fake.inFlightMax()).toBe(3);
  });

  it('without a leader, compares with the newest configuration', () => {
    const older = node(2, { configuration: { ...configuration, fromSlot: 1 } });
    const newer = node(3, { configuration: { ...configuration, fromSlot: 300 } });
    const reports: NodeStatusReport[] = [older, newer].map((status) => ({ address: status.address, reachable: true, status }));
    expect(referenceStatus(reports)?.id).toBe(3);
  });
});

describe('a node whose view of the members disagrees with the leader\'s', () => {
  const report = (status: NodeStatus, address = status.address): NodeStatusReport => ({ address, reachable: true, status });

  it('flags a removed member still running, with what to do, and marks MEMBER with !', () => {
    const shrunk: StatusConfiguration = { fromSlot: 400, voters: [member(1), member(2)], learners: [] };
    const rows = statusRows([report(node(1, { role: 'leader', configuration: shrunk })), report(node(2, { configuration: shrunk })), report(node(3))]);
    expect(rows.map((row) => row.reachable && row.disagreement)).toEqual([null, null, expect.stringMatching(/is not a member of the leader's \(node 1\) configuration.*paxos member add --id 3/)]);
    const lines = renderStatusTable(rows);
    expect(lines[3].split(/\s{2,}/)[4]).toBe('voter!');
    expect(lines).toContainEqual(expect.stringMatching(/^warning: node 3 at 127.0.0.1:7403 is not a member/));
  });

  it('flags a node of another cluster and a data dir the configuration does not name', () => {
    const rows = statusRows([report(node(1, { role: 'leader' })), report(node(2, { clusterId: 'other' })), report(node(3, { incarnation: 'fresh' }))]);
    expect(rows[1].reachable && rows[1].disagreement).toMatch(/belongs to another cluster \(other, not test\)/);
    expect(rows[2].reachable && rows[2].disagreement).toMatch(/runs another data dir \(incarnation fresh\).*paxos member replace 3/);
  });

  it('does not flag a node that is only behind (an older configuration), nor a learner', () => {
    const grown: StatusConfiguration = { ...configuration, fromSlot: 300, learners: [member(4), member(5)] };
    const rows = statusRows([report(node(1, { role: 'leader', configuration: grown })), report(node(2)), report(node(4, { configuration: grown }))]);
    expect(rows.map((row) => row.reachable && row.disagreement)).toEqual([null, null, null]);
  });
});
