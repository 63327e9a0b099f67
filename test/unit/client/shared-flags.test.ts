// The flags several commands share are declared once (src/client/cluster-flag.ts,
// fault-flags.ts): every command that talks to a cluster must take the one
// --cluster, and every fault command the same trailing flags, in the same order.
import { describe, expect, it } from 'vitest';
import { clusterFlag, clusterSettings } from '../../../src/client/cluster-flag.js';
import { InvalidOptionError } from '../../../src/client/errors.js';
import { faultFlags } from '../../../src/client/fault-flags.js';
import FaultDelay from '../../../src/commands/fault/delay.js';
import FaultDrop from '../../../src/commands/fault/drop.js';
import FaultHeal from '../../../src/commands/fault/heal.js';
import FaultPartition from '../../../src/commands/fault/partition.js';
import Status from '../../../src/commands/status.js';
import Submit from '../../../src/commands/submit.js';
import Top from '../../../src/commands/top.js';

describe('shared client flags', () => {
  it('every cluster command takes the one --cluster flag', () => {
    for (const command of [Submit, Status, Top, FaultDelay, FaultDrop, FaultHeal, FaultPartition]) {
      expect(command.flags?.cluster, command.name).toBe(clusterFlag.cluster);
    }
  });

  it('every fault command ends with the shared fault flags, in order', () => {
    const shared = Object.keys(faultFlags);
    expect(shared).toEqual(['cluster', 'timeout', 'secret-file', 'tls-ca', 'tls-cert', 'tls-key']);
    for (const command of [FaultDelay, FaultDrop, FaultHeal, FaultPartition]) {
      const names = Object.keys(command.flags ?? {});
      expect(names.slice(-shared.length), command.name).toEqual(shared);
      for (const name of shared) expect(command.flags?.[name], `${command.name} --${name}`).toBe(faultFlags[name as keyof typeof faultFlags]);
    }
  });

  it('clusterSettings reads --timeout and --cluster, refusing a zero timeout', () => {
    expect(clusterSettings({ cluster: '127.0.0.1:9001', timeout: '2s' })).toEqual({ addresses: [{ host: '127.0.0.1', port: 9001 }], timeoutMs: 2000 });
    expect(() => clusterSettings({ timeout: '0s' })).toThrow(InvalidOptionError);
    expect(() => clusterSettings({ timeout: '0s' })).toThrow('--timeout must be more than 0');
    expect(() => clusterSettings({ cluster: 'nonsense', timeout: '1s' })).toThrow(InvalidOptionError);
  });
});
