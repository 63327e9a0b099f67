// Advice for a node that could not listen: one wording, each command's flags,
// and the listener that failed named (the node's port or --metrics-port).
import { describe, expect, it } from 'vitest';
import { listenAdvice, nodeListenFlags, nodeStartFailure } from '../../../src/node/runtime/start-advice.js';

const listenError = (code: string, port: number) => ({ message: `listen ${code}: whatever 127.0.0.1:${port}`, code, syscall: 'listen', port });

describe('listenAdvice', () => {
  it('explains a taken port, a foreign address and a privileged port in the command\'s own flags', () => {
    const cluster = { port: '--base-port', host: '--host address' };
    expect(listenAdvice('EADDRINUSE', 7402, cluster)).toBe('Port 7402 is in use (another node or cluster, or another program): stop it, or choose another --base-port.');
    expect(listenAdvice('EADDRNOTAVAIL', 7402, cluster)).toMatch(/^The --host address is not one of this machine's addresses: use 127\.0\.0\.1/);
    expect(listenAdvice('EACCES', 80, nodeListenFlags)).toBe(
      "Port 80 may not be used by this user (ports below 1024 need privileges): choose another port in --listen (or in this node's entry in every node's --peers), above 1024.",
    );
    expect(listenAdvice('ENOENT', 80, cluster)).toBeNull();
    expect(listenAdvice(null, 80, cluster)).toBeNull();
  });
});

describe('nodeStartFailure', () => {
  it('names the node\'s port, or --metrics-port when that listener failed', () => {
    expect(nodeStartFailure(1, listenError('EADDRINUSE', 7401), { listenPort: 7401, metricsPort: 9100 })).toBe(
      "node 1 cannot start: listen EADDRINUSE: whatever 127.0.0.1:7401. Port 7401 is in use (another node or cluster, or another program): stop it, or choose another port in --listen (or in this node's entry in every node's --peers).",
    );
    expect(nodeStartFailure(1, listenError('EADDRINUSE', 9100), { listenPort: 7401, metricsPort: 9100 })).toMatch(/Port 9100 is in use .*choose another --metrics-port\.$/);
  });

  it('adds nothing to an error that is not a listen failure (a data dir error carries its own advice)', () => {
    const dataDir = { message: 'data dir /x cannot be used: the file system is read-only (EROFS ...); give --data-dir a writable directory', code: 'DATA_DIR_INVALID' };
    expect(nodeStartFailure(2, dataDir, { listenPort: 7401 })).toBe(`node 2 cannot start: ${dataDir.message}`);
    // EACCES from a file is no port problem.
    expect(nodeStartFailure(2, { message: 'EACCES: permission denied, open x', code: 'EACCES', syscall: 'open' }, { listenPort: 7401 })).toBe('node 2 cannot start: EACCES: permission denied, open x');
  });
});
