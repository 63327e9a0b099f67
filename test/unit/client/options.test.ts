import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/client/errors.js';
import { defaultCluster, formatAddress, parseClusterAddresses, parseDuration, resolveCluster } from '../../../src/client/options.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 's', '5 sec', '-1s', '5d', '1e3ms', '5S'])('refuses %j with a hint', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidOptionError);
    expect(() => parseDuration(text)).toThrow(/e\.g\. 500ms, 5s, 2m or 1h/);
  });

  it('refuses durations a timer cannot hold', () => {
    expect(() => parseDuration('600h')).toThrow(/at most/);
  });
});

describe('parseClusterAddresses', () => {
  it('parses hosts and ports, tolerating spaces', () => {
    expect(parseClusterAddresses('127.0.0.1:7401, node-2.local:7402,[::1]:7403')).toEqual([
      { host: '127.0.0.1', port: 7401 },
      { host: 'node-2.local', port: 7402 },
      { host: '::1', port: 7403 },
    ]);
  });

  it('formats IPv6 hosts back in brackets', () => {
    expect(formatAddress({ host: '::1', port: 7403 })).toBe('[::1]:7403');
  });

  it.each([
    ['', /empty/],
    ['127.0.0.1', /expected host:port/],
    ['127.0.0.1:', /expected host:port/],
    [':7401', /expected host:port/],
    ['a:0', /between 1 and 65535/],
    ['a:70000', /between 1 and 65535/],
    ['a:1,,b:2', /expected host:port/],
    ['::1:7401', /expected host:port/],
    ['a:1,a:1', /appears twice/],
  ])('refuses %j', (text, message) => {
    expect(() => parseClusterAddresses(text)).toThrow(message);
  });

  it('refuses absurdly long lists', () => {
    const text = Array.from({ length: 65 }, (_, index) => `h:${index + 1}`).join(',');
    expect(() => parseClusterAddresses(text)).toThrow(/too many/);
  });
});

describe('resolveCluster', () => {
  it('takes the flag first', () => {
    expect(resolveCluster('a:1', { PAXOS_CLUSTER: 'b:2' })).toEqual([{ host: 'a', port: 1 }]);
  });

  it('then PAXOS_CLUSTER', () => {
    expect(resolveCluster(undefined, { PAXOS_CLUSTER: 'b:2,c:3' })).toEqual([{ host: 'b', port: 2 }, { host: 'c', port: 3 }]);
  });

  it('then the default local cluster', () => {
    expect(defaultCluster).toBe('127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403');
    expect(resolveCluster(undefined, {}).map(formatAddress)).toEqual(defaultCluster.split(','));
    expect(resolveCluster(undefined, { PAXOS_CLUSTER: '  ' })).toHaveLength(3);
  });

  it('names PAXOS_CLUSTER when its value is bad', () => {
    expect(() => resolveCluster(undefined, { PAXOS_CLUSTER: 'nope' })).toThrow(/^PAXOS_CLUSTER: invalid address/);
  });
});
