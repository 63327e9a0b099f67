import { Command, Flags, type Interfaces } from '@oclif/core';
import { isLogLevel, createLogger, type LogFormat } from '../../node/runtime/log.js';
import { parseEndpoint, parsePeers } from '../../node/runtime/config.js';
import { startNode } from '../../node/runtime/node.js';
import { defaultText, flaggedLimits, limitsFromFlags, NodeConfigError, rangeText, resolveNodeConfig, type NodeConfigInput } from '../../node/config.js';
import { parseClusterAddresses, parseDuration } from '../../client/options.js';
import { joinPlan } from '../../client/members.js';
import { loadStateMachine } from '../../node/statemachine/loader.js';
import type { FsyncPolicy } from '../../node/storage/wal.js';
import type { InitialClusterState } from '../../node/core/node.js';
import { loadSecret } from '../../net/secret.js';
import { nodeStartFailure } from '../../node/runtime/start-advice.js';
import { clientCertPolicies, loadNodeTls, peerNamePatternDefault } from '../../node/runtime/tls.js';

export default class NodeStart extends Command {
  static override summary = 'Run one replica node in the foreground.';

  static override description = `The node locks --data-dir, recovers its write-ahead log (promised ballot, accepted values, chosen log), replays the chosen log into the state machine, then joins its peers. Logs go to stderr. SIGINT/SIGTERM stop it gracefully; kill -9 at any instant loses no acknowledged write.

Nodes started with the same --peers on empty data dirs found a new cluster by themselves once every node named in --peers answers and was never part of a cluster (--initial-cluster-state new lets a majority found it). A node on an empty data dir that finds a running cluster joins it: its data dir is a new member (a new incarnation), whose votes count only once a membership change names it; the leader makes that change by itself for a wiped disk once the new incarnation has caught up (--no-auto-replace turns that off). See docs/membership.md.`;

  static override examples = [
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1',
    '<%= config.bin %> node start --id 2 --peers 1=10.0.0.1:7401,2=10.0.0.2:7401,3=10.0.0.3:7401 --listen 0.0.0.0:7401 --data-dir /var/lib/paxos',
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1 --enable-faults',
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1 --fsync batch --fsync-batch-linger 2ms',
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1 --state-machine examples/bank-ledger.mjs',
    '<%= config.bin %> node start --id 4 --join 127.0.0.1:7401,127.0.0.1:7402 --listen 127.0.0.1:7404 --data-dir ./data/n4',
  ];

  static override flags = {
    id: Flags.integer({ description: 'this node\'s id (must appear in --peers)', required: true, min: 1 }),
    peers: Flags.string({ description: 'every node of the cluster as ID=HOST:PORT,... (this one included); required unless --join' }),
    join: Flags.string({
      description: 'join a running cluster: HOST:PORT,... of any of its members, which tell this node the cluster id and where the members are (with --listen; the node never founds a cluster)',
      helpValue: 'host:port,...',
    }),
    'data-dir': Flags.string({ description: 'where the write-ahead log and identity live (locked while running)', required: true }),
    listen: Flags.string({ description: 'HOST:PORT to listen on (default: this node\'s entry in --peers)' }),
    fsync: Flags.string({
      description:
        'always: fsync before any promise, accept or reply (one write+fsync covers what queued during the previous one); batch: the same, and the first append of a batch lingers up to --fsync-batch-linger for more to share its fsync; never: benchmarks only',
      options: ['always', 'batch', 'never'],
      default: 'always',
    }),
    'cluster-token': Flags.string({ description: 'names the cluster (with the node ids); a data dir never joins another', default: 'paxos' }),
    'state-machine': Flags.string({
      description: 'ES module whose default export makes the deterministic state machine to replicate (default: the built-in key-value store); every node must run the same one',
      helpValue: 'path',
    }),
    'initial-cluster-state': Flags.string({
      description:
        'for a data dir that belongs to no cluster yet: by default it founds one with the other --peers once every one of them answers and is fresh, or joins the cluster one of them belongs to; new lets a majority of fresh nodes found it (the silent ones join later); existing never founds, only joins. Ignored once the data dir belongs to a cluster',
      options: ['new', 'existing'],
    }),
    'auto-replace': Flags.boolean({
      description: 'as leader, replace a member whose data dir was wiped (same id, new incarnation) once the new one has caught up',
      default: true,
      allowNo: true,
    }),
    'log-level': Flags.string({ options: ['debug', 'info', 'warn', 'error'], default: 'info' }),
    'log-format': Flags.string({ options: ['json', 'pretty'], default: 'pretty' }),
    'metrics-port': Flags.integer({ description: 'also serve Prometheus metrics at http://<listen host>:PORT/metrics', min: 0, max: 65_535 }),
    'secret-file': Flags.string({
      description: 'file holding the cluster\'s shared secret (default $PAXOS_SECRET_FILE): peers and clients must prove they hold it',
      helpValue: 'path',
    }),
    'tls-cert': Flags.string({ description: 'PEM certificate this node presents to peers and clients (with --tls-key and --tls-ca: every connection is TLS)', helpValue: 'path' }),
    'tls-key': Flags.string({ description: 'PEM private key of --tls-cert', helpValue: 'path' }),
    'tls-ca': Flags.string({ description: 'PEM CA certificate: peers must present a certificate it signed (mutual TLS)', helpValue: 'path' }),
    'tls-client-certs': Flags.string({
      description: 'whether clients must present a certificate signed by --tls-ca (default optional; peers always must)',
      options: [...clientCertPolicies],
    }),
    'tls-peer-name-pattern': Flags.string({
      description: `the name (CN or DNS subjectAltName) a peer's certificate must carry for the node id it claims, {id} standing for the id (default ${peerNamePatternDefault}); checked on both sides, so a client's certificate or another node's cannot pose as a node`,
      helpValue: 'pattern',
    }),
    // Every limit, from the one table in src/node/config.ts: its default, bounds and relations are checked there.
    ...limitFlags(),
    'enable-faults': Flags.boolean({ description: 'accept `paxos fault` requests (partition, delay, drop): local testing only' }),
    // Deliberately broken modes, only for showing that scripts/chaos catches them; hidden from --help.
    'unsafe-ack-before-fsync': Flags.boolean({ hidden: true, description: 'UNSAFE: acknowledge before records are written; write them late, never fsync' }),
    'unsafe-local-reads': Flags.boolean({ hidden: true, description: 'UNSAFE: a leader answers get from local state at once, without the log or a confirming heartbeat round (and registrations once proposed)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NodeStart);
    const level = flags['log-level'];
    if (!isLogLevel(level)) this.error(`invalid --log-level ${level}`, { exit: 2 });
    const log = createLogger({ level, format: flags['log-format'] as LogFormat, fields: { node: flags.id } });
    let peers;
    let listen;
    let limits: NodeConfigInput;
    let clusterId: string | undefined;
    if (flags.peers === undefined && flags.join === undefined) this.error('give --peers (a new cluster) or --join (a running one)', { exit: 2 });
    if (flags.join !== undefined && flags.listen === undefined) this.error('--join needs --listen: where the members will dial this node', { exit: 2 });
    try {
      listen = flags.listen === undefined ? undefined : parseEndpoint(flags.listen);
      if (flags.join !== undefined) {
        const plan = await joinPlan(parseClusterAddresses(flags.join), flags.id, 5_000).catch((error: Error) => this.error(`--join: ${error.message}`, { exit: 1 }));
        clusterId = plan.clusterId;
        peers = new Map([...plan.peers].map(([id, address]) => [id, parseEndpoint(address)]));
        for (const [id, endpoint] of flags.peers === undefined ? [] : parsePeers(flags.peers)) peers.set(id, endpoint); // this node's own view wins
        peers.set(flags.id, listen!);
        log.info('joining a running cluster', { cluster: clusterId, members: [...peers.keys()].join(',') });
      } else peers = parsePeers(flags.peers!);
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    const fsync = flags.fsync as FsyncPolicy;
    try {
      // Every limit checked before anything is loaded or touched; startNode checks the same again.
      limits = limitsFromFlags(flags, parseDuration);
      resolveNodeConfig({ ...limits, fsync, builtinStateMachine: flags['state-machine'] === undefined });
    } catch (error) {
      this.configError(error);
    }
    if (!peers.has(flags.id)) this.error(`--id ${flags.id} is not one of the nodes in --peers`, { exit: 2 });
    const machinePath = flags['state-machine'];
    const machine = machinePath === undefined ? undefined : await loadStateMachine(machinePath).catch((error: Error) => this.error(error.message, { exit: 2 }));
    let tls;
    try {
      tls = loadNodeTls(
        { cert: flags['tls-cert'], key: flags['tls-key'], ca: flags['tls-ca'] },
        { clientCerts: flags['tls-client-certs'], peerNamePattern: flags['tls-peer-name-pattern'] },
      );
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    let fatal: (error: Error) => void = () => undefined;
    const node = await startNode({
      id: flags.id,
      peers,
      listen,
      dataDir: flags['data-dir'],
      // The broken mode writes late and never fsyncs: the WAL need not either.
      fsync: flags['unsafe-ack-before-fsync'] ? 'never' : fsync,
      clusterToken: flags['cluster-token'],
      clusterId,
      initialClusterState: flags.join !== undefined ? 'existing' : (flags['initial-cluster-state'] as InitialClusterState | undefined),
      autoReplace: flags['auto-replace'],
      ...limits,
      stateMachine: machine?.factory,
      stateMachineIdentity: machine?.identity,
      log,
      onFatal: (error) => fatal(error),
      metricsPort: flags['metrics-port'],
      secret: await loadSecret(flags['secret-file'], { warn: (message) => log.warn(message) }).catch((error: Error) => this.error(error.message, { exit: 2 })),
      tls,
      enableFaults: flags['enable-faults'],
      unsafe: { ackBeforeFsync: flags['unsafe-ack-before-fsync'], localReads: flags['unsafe-local-reads'] },
    }).catch((error: Error & { code?: string }) => {
      if (error instanceof NodeConfigError) this.configError(error);
      // This log line is what cluster start reads to explain a node that failed; the error after it says what to do.
      log.error('could not start', { error: error.message, ...(error.code === undefined ? {} : { code: error.code }) });
      const listenPort = (listen ?? peers.get(flags.id))?.port ?? 0;
      return this.error(nodeStartFailure(flags.id, error, { listenPort, metricsPort: flags['metrics-port'] }), { exit: 1 });
    });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info('stopping', { signal });
        node.stop().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      fatal = (error) => {
        log.error('stopping after a fatal error', { error: error.message });
        node.stop().finally(() => process.exit(1));
      };
    });
  }

  /** A limit that cannot work: exit 2, whichever limit it is, with the one error class's code. */
  private configError(error: unknown): never {
    if (!(error instanceof NodeConfigError)) throw error;
    this.error(error.message, { exit: 2, code: error.code });
  }
}

/** One string flag per limit in the table: parsed and checked by resolveNodeConfig, not by oclif, so every bad value fails alike. */
function limitFlags(): Record<string, Interfaces.OptionFlag<string | undefined>> {
  return Object.fromEntries(
    flaggedLimits().map((row) => [
      row.flag.slice(2),
      Flags.string({ description: `${row.meaning} (default ${defaultText(row)}; ${rangeText(row)})`, helpValue: row.duration === true ? 'duration' : 'N' }),
    ]),
  );
}
