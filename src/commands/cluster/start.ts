import { Command, Flags } from '@oclif/core';
import { join, resolve } from 'node:path';
import { clusterSizeWarning, foundingSize, localClusterReadyMsDefault, planLocalCluster, readyHint, startLocalCluster } from '../../node/runtime/local-cluster.js';
import { clusterSecretFile, loadSecret } from '../../net/secret.js';
import { clientTlsExports, ensureClusterCertificates, localHosts, nodeTlsFlags, type ClusterCertificates } from '../../node/runtime/certs.js';
import { loadClientTls } from '../../net/tls.js';
import { PaxosClient } from '../../client/client.js';
import { setProcessSecret, setProcessTls } from '../../client/connection.js';
import { growLocalCluster } from '../../client/grow.js';
import { defaultCluster, parseClusterAddresses, parseDuration } from '../../client/options.js';
import { cliCommand } from '../../cli/invocation.js';

export default class ClusterStart extends Command {
  static override summary = 'Run a local cluster of N nodes in the foreground.';

  static override description = `Starts nodes 1..N on HOST:BASE-PORT, HOST:BASE-PORT+1, ..., each with its data dir under --dir (n1, n2, ...), and streams their logs with a node prefix. It prints each node's command line first ("[n1] command: ..."), so that a node killed with kill -9 can be restarted by hand; it restarts nothing by itself.

Once every node answers a status request it prints "ready" and the export lines for clients (PAXOS_CLUSTER, and the secret and TLS files when used). A node that fails on its own (its port is taken, its data dir belongs to another cluster or is in use) stops the whole cluster, which exits 1 saying what to do; so does a node that does not serve within --ready-timeout. Ctrl-C or SIGTERM stops every node and exits 0.

When none of the data dirs exists yet, the nodes start with --initial-cluster-state new: a brand-new cluster elects a leader as soon as a majority is up. Otherwise a node on an empty data dir is taken for a wiped disk: it joins as a new incarnation, and the leader puts it in place of the old one once it has caught up.

A larger --nodes than --dir was founded with grows the cluster: once the founders serve, each new node is added as a learner (paxos member add), started with --join, and promoted to voter once it has caught up, one at a time; "ready" follows. Later starts need the same larger --nodes.`;

  static override examples = [
    '<%= config.bin %> cluster start',
    '<%= config.bin %> cluster start --nodes 5 --base-port 8401 --dir /tmp/paxos',
    '<%= config.bin %> cluster start --nodes 5    # on a --dir of 3 nodes: adds nodes 4 and 5',
    '<%= config.bin %> cluster start --fsync batch',
    '<%= config.bin %> cluster start --tls --secret',
    '<%= config.bin %> cluster start --state-machine examples/bank-ledger.mjs',
  ];

  static override flags = {
    nodes: Flags.integer({ description: 'how many nodes (odd: 2f+1 nodes survive f failures; an even size survives no more than one node fewer, and is warned about)', default: 3, min: 1, max: 15 }),
    'base-port': Flags.integer({ description: 'port of node 1; node i listens on base-port + i - 1', default: 7401, min: 1, max: 65_000 }),
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    dir: Flags.string({ description: 'parent of the nodes\' data dirs (n1, n2, ...)', default: './.paxos' }),
    'cluster-token': Flags.string({ description: 'names the cluster (with the node ids), passed to every node; a data dir never joins another cluster', default: 'paxos' }),
    fsync: Flags.string({ options: ['always', 'batch', 'never'], default: 'always', description: 'passed to every node' }),
    'snapshot-every': Flags.integer({ description: 'applied slots between snapshots, passed to every node', min: 0 }),
    'snapshot-log-bytes': Flags.integer({ description: 'bytes of log since the last snapshot that also trigger one, passed to every node', min: 0 }),
    'state-machine': Flags.string({ description: 'ES module of the state machine every node runs (see node start)', helpValue: 'path' }),
    'log-level': Flags.string({ options: ['debug', 'info', 'warn', 'error'], default: 'info' }),
    'ready-timeout': Flags.string({ description: 'how long every node has to answer a status request before the cluster is stopped as failed', default: `${localClusterReadyMsDefault / 1000}s`, helpValue: 'duration' }),
    secret: Flags.boolean({ description: 'authenticate every connection with a shared secret generated into --dir/secret (kept across restarts)' }),
    'secret-file': Flags.string({ description: 'authenticate with this secret file, passed to every node (default $PAXOS_SECRET_FILE)', helpValue: 'path' }),
    tls: Flags.boolean({ description: 'serve TLS (mutual between nodes) with a throwaway CA and certificates made by openssl into --dir/tls (kept across restarts)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ClusterStart);
    // Absolute, so that every node's printed command line works from any directory.
    const dir = resolve(flags.dir);
    const readyTimeoutMs = this.duration(flags['ready-timeout'], '--ready-timeout');
    const secretFile = await clusterSecretFile({ dir, generate: flags.secret, file: flags['secret-file'] }).catch((error: Error) =>
      this.error(error.message, { exit: 2 }),
    );
    const certificates = flags.tls ? this.certificates({ ...flags, dir }) : null;
    const founded = await foundingSize(dir, flags['cluster-token'], flags.nodes);
    const plan = planLocalCluster({
      foundingNodes: founded ?? undefined,
      nodes: flags.nodes,
      basePort: flags['base-port'],
      host: flags.host,
      dir,
      entry: process.argv[1],
      nodeFlags: [
        '--cluster-token',
        flags['cluster-token'],
        '--fsync',
        flags.fsync,
        '--log-level',
        flags['log-level'],
        ...(flags['snapshot-every'] === undefined ? [] : ['--snapshot-every', String(flags['snapshot-every'])]),
        ...(flags['snapshot-log-bytes'] === undefined ? [] : ['--snapshot-log-bytes', String(flags['snapshot-log-bytes'])]),
        ...(secretFile === null ? [] : ['--secret-file', secretFile]),
        // Absolute, so every node loads the same file whatever its working directory.
        ...(flags['state-machine'] === undefined ? [] : ['--state-machine', resolve(flags['state-machine'])]),
      ],
      flagsFor: (id) => (certificates === null ? [] : nodeTlsFlags(certificates, id)),
    });
    const write = (line: string) => process.stderr.write(`${line}\n`);
    const sizeWarning = clusterSizeWarning(flags.nodes);
    if (sizeWarning !== null) write(`warning: ${sizeWarning}`);
    const growing = plan.nodes.filter((node) => node.grows).map((node) => node.id);
    if (growing.length > 0) write(`cluster: ${dir} was founded by ${founded} node${founded === 1 ? '' : 's'}: node${growing.length === 1 ? '' : 's'} ${growing.join(', ')} will grow it, once the founders serve`);
    if (plan.fresh) {
      write(`cluster: no data dir under ${dir} yet: a brand-new cluster, so this first start adds --initial-cluster-state new to every node`);
    }
    // What is spawned (less that first-start flag), so that a node killed with kill -9 can be restarted by hand.
    for (const node of plan.nodes) write(`[n${node.id}] command: ${node.commandLine}`);
    const secret = secretFile === null ? null : await loadSecret(secretFile);
    const tls = certificates === null ? null : loadClientTls({ ca: certificates.ca, cert: certificates.client.cert, key: certificates.client.key }, {});
    const client = new PaxosClient({ addresses: parseClusterAddresses(plan.addresses), timeoutMs: 1000, statusTimeoutMs: 1000, secret, tls });
    // The membership requests of a grow dial with the process-wide secret and TLS.
    setProcessSecret(secret);
    setProcessTls(tls);
    const cluster = startLocalCluster(plan, {
      probe: async (address) => (await client.status(address)).reachable,
      readyTimeoutMs,
      write,
    });
    process.once('SIGINT', () => cluster.stop());
    process.once('SIGTERM', () => cluster.stop());
    const grown = async (): Promise<boolean> => {
      if (growing.length === 0) return true;
      const founders = parseClusterAddresses(plan.nodes.filter((node) => !node.grows).map((node) => node.address).join(','));
      const problem = await growLocalCluster(cluster, { addresses: founders, timeoutMs: 2000, waitMs: readyTimeoutMs, write });
      if (problem === null) return true;
      write(`cluster: could not grow: ${problem}; the nodes started so far keep running (Ctrl-C stops them)`);
      return false;
    };
    if ((await cluster.ready) && (await grown())) {
      this.log(`export PAXOS_CLUSTER=${plan.addresses}`);
      if (secretFile !== null) this.log(`export PAXOS_SECRET_FILE=${secretFile}`);
      for (const line of certificates === null ? [] : clientTlsExports(certificates)) this.log(line);
      const hint = readyHint(plan, {
        defaultAddresses: plan.addresses === defaultCluster,
        stateMachine: flags['state-machine'],
        needsExports: secretFile !== null || certificates !== null,
        command: cliCommand(),
      });
      for (const line of hint) write(line);
    }
    client.close();
    const end = await cluster.ended;
    if (end.kind === 'stopped') return;
    // Written as is: oclif's error box would hard-wrap the advice at 80 columns.
    write(`error: ${end.message}`);
    this.exit(1);
  }

  private duration(text: string, flag: string): number {
    try {
      const ms = parseDuration(text);
      if (ms === 0) throw new Error(`${flag} must be more than 0`);
      return ms;
    } catch (error) {
      this.error(`${flag}: ${(error as Error).message}`, { exit: 2 });
    }
  }

  /** Makes (or reuses) the CA and certificates in --dir/tls, naming the hosts clients will dial. */
  private certificates(flags: { dir: string; nodes: number; host: string }): ClusterCertificates {
    try {
      const certificates = ensureClusterCertificates({ dir: join(flags.dir, 'tls'), nodes: flags.nodes, hosts: localHosts(flags.host) });
      process.stderr.write(`cluster: ${certificates.created ? 'made' : 'reusing'} TLS certificates in ${join(flags.dir, 'tls')} (a throwaway CA: for local use only)\n`);
      return certificates;
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
  }
}
