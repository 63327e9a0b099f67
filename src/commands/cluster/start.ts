import { Command, Flags } from '@oclif/core';
import { join, resolve } from 'node:path';
import { startLocalCluster } from '../../node/runtime/local-cluster.js';
import { clusterSecretFile } from '../../node/runtime/secret.js';
import { clientTlsExports, ensureClusterCertificates, localHosts, nodeTlsFlags, type ClusterCertificates } from '../../node/runtime/certs.js';

export default class ClusterStart extends Command {
  static override description = `Run a local cluster of N nodes in the foreground.

Starts nodes 1..N on HOST:BASE-PORT.., each with its data dir under --dir, streams
their logs with a node prefix, and stops them all on Ctrl-C. It restarts nothing by
itself. Point clients at it with the PAXOS_CLUSTER value it prints.`;

  static override examples = [
    '<%= config.bin %> cluster start',
    '<%= config.bin %> cluster start --nodes 5 --base-port 8401 --dir /tmp/paxos',
    '<%= config.bin %> cluster start --fsync batch',
    '<%= config.bin %> cluster start --tls --secret',
    '<%= config.bin %> cluster start --state-machine examples/bank-ledger.mjs',
  ];

  static override flags = {
    nodes: Flags.integer({ description: 'how many nodes (odd: 2f+1 nodes survive f failures)', default: 3, min: 1, max: 15 }),
    'base-port': Flags.integer({ description: 'port of node 1; node i listens on base-port + i - 1', default: 7401, min: 1, max: 65_000 }),
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    dir: Flags.string({ description: 'parent of the nodes\' data dirs (n1, n2, ...)', default: './.paxos' }),
    fsync: Flags.string({ options: ['always', 'batch', 'never'], default: 'always', description: 'passed to every node' }),
    'snapshot-every': Flags.integer({ description: 'applied slots between snapshots, passed to every node', min: 0 }),
    'state-machine': Flags.string({ description: 'ES module of the state machine every node runs (see node start)', helpValue: 'path' }),
    'log-level': Flags.string({ options: ['debug', 'info', 'warn', 'error'], default: 'info' }),
    secret: Flags.boolean({ description: 'authenticate every connection with a shared secret generated into --dir/secret (kept across restarts)' }),
    'secret-file': Flags.string({ description: 'authenticate with this secret file, passed to every node (default $PAXOS_SECRET_FILE)', helpValue: 'path' }),
    tls: Flags.boolean({ description: 'serve TLS (mutual between nodes) with a throwaway CA and certificates made by openssl into --dir/tls (kept across restarts)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ClusterStart);
    const secretFile = await clusterSecretFile({ dir: flags.dir, generate: flags.secret, file: flags['secret-file'] }).catch((error: Error) =>
      this.error(error.message, { exit: 2 }),
    );
    const certificates = flags.tls ? this.certificates(flags) : null;
    const cluster = startLocalCluster({
      nodes: flags.nodes,
      basePort: flags['base-port'],
      host: flags.host,
      dir: flags.dir,
      entry: process.argv[1],
      nodeFlags: [
        '--fsync',
        flags.fsync,
        '--log-level',
        flags['log-level'],
        ...(flags['snapshot-every'] === undefined ? [] : ['--snapshot-every', String(flags['snapshot-every'])]),
        ...(secretFile === null ? [] : ['--secret-file', secretFile]),
        // Absolute, so every node loads the same file whatever its working directory.
        ...(flags['state-machine'] === undefined ? [] : ['--state-machine', resolve(flags['state-machine'])]),
      ],
      flagsFor: (id) => (certificates === null ? [] : nodeTlsFlags(certificates, id)),
      write: (line) => process.stderr.write(`${line}\n`),
    });
    this.log(`export PAXOS_CLUSTER=${cluster.addresses}`);
    if (secretFile !== null) this.log(`export PAXOS_SECRET_FILE=${secretFile}`);
    for (const line of certificates === null ? [] : clientTlsExports(certificates)) this.log(line);
    this.logToStderr(`started ${flags.nodes} nodes; try: npx paxos submit set x 1   (Ctrl-C stops them all)`);
    process.once('SIGINT', () => cluster.stop());
    process.once('SIGTERM', () => cluster.stop());
    await cluster.exited;
  }

  /** Makes (or reuses) the CA and certificates in --dir/tls, naming the hosts clients will dial. */
  private certificates(flags: { dir: string; nodes: number; host: string }): ClusterCertificates {
    try {
      const certificates = ensureClusterCertificates({ dir: join(flags.dir, 'tls'), nodes: flags.nodes, hosts: localHosts(flags.host) });
      this.logToStderr(`${certificates.created ? 'made' : 'reusing'} TLS certificates in ${join(flags.dir, 'tls')} (a throwaway CA: for local use only)`);
      return certificates;
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
  }
}
