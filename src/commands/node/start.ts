import { Command, Flags } from '@oclif/core';
import { isLogLevel, createLogger, type LogFormat } from '../../node/runtime/log.js';
import { checkTickMs, parseEndpoint, parsePeers } from '../../node/runtime/config.js';
import {
  clientsWaitingMaxDefault,
  commandBytesMaxDefault,
  compactionHoldSlotsMaxDefault,
  sessionCommandsInFlightMaxDefault,
  snapshotChunkBytesDefault,
  snapshotChunkBytesMax,
  snapshotEveryDefault,
  snapshotLogBytesDefault,
  snapshotsHeldForTransfersMaxDefault,
  startNode,
  tickMsDefault,
} from '../../node/runtime/node.js';
import { valueBytesMax } from '../../node/statemachine/verbs.js';
import { parseDuration } from '../../client/options.js';
import { loadStateMachine } from '../../node/statemachine/loader.js';
import type { FsyncPolicy } from '../../node/storage/wal.js';
import type { InitialClusterState } from '../../node/core/node.js';
import { loadSecret } from '../../net/secret.js';
import { defaultAdmissionLimits } from '../../node/runtime/admission.js';
import { nodeStartFailure } from '../../node/runtime/start-advice.js';
import { defaultTransportLimits } from '../../node/runtime/transport.js';
import { clientCertPolicies, loadNodeTls, peerNamePatternDefault } from '../../node/runtime/tls.js';

export default class NodeStart extends Command {
  static override summary = 'Run one replica node in the foreground.';

  static override description = `The node locks --data-dir, recovers its write-ahead log (promised ballot, accepted values, chosen log), replays the chosen log into the state machine, then joins its peers. Logs go to stderr. SIGINT/SIGTERM stop it gracefully; kill -9 at any instant loses no acknowledged write.

On an empty data dir the node takes itself for a replaced disk and does not vote until it has heard from a majority of the other nodes; for the first start of a brand-new cluster give every node --initial-cluster-state new, so that a majority can elect a leader at once (never for a replaced disk).`;

  static override examples = [
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1',
    '<%= config.bin %> node start --id 2 --peers 1=10.0.0.1:7401,2=10.0.0.2:7401,3=10.0.0.3:7401 --listen 0.0.0.0:7401 --data-dir /var/lib/paxos',
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1 --enable-faults',
    '<%= config.bin %> node start --id 1 --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403 --data-dir ./data/n1 --state-machine examples/bank-ledger.mjs',
  ];

  static override flags = {
    id: Flags.integer({ description: 'this node\'s id (must appear in --peers)', required: true, min: 1 }),
    peers: Flags.string({ description: 'every node of the cluster as ID=HOST:PORT,... (this one included)', required: true }),
    'data-dir': Flags.string({ description: 'where the write-ahead log and identity live (locked while running)', required: true }),
    listen: Flags.string({ description: 'HOST:PORT to listen on (default: this node\'s entry in --peers)' }),
    fsync: Flags.string({
      description: 'always: fsync before any promise, accept or reply; batch: group commit, same guarantee; never: benchmarks only',
      options: ['always', 'batch', 'never'],
      default: 'always',
    }),
    'cluster-token': Flags.string({ description: 'names the cluster (with the node ids); a data dir never joins another', default: 'paxos' }),
    'snapshot-every': Flags.integer({
      description: 'applied slots between snapshots; each lets older log segments be deleted (0: never)',
      default: snapshotEveryDefault,
      min: 0,
    }),
    'snapshot-log-bytes': Flags.integer({
      description: 'bytes of log appended since the last snapshot that also trigger one, whichever comes first with --snapshot-every (0: slots only); bounds memory and restart time however many commands a slot holds',
      default: snapshotLogBytesDefault,
      min: 0,
    }),
    'snapshot-chunk-bytes': Flags.integer({
      description: 'bytes per chunk when sending a snapshot to a peer that lags (one frame, one round trip each)',
      default: snapshotChunkBytesDefault,
      min: 1024,
      max: snapshotChunkBytesMax,
    }),
    'snapshots-held-for-transfers': Flags.integer({
      description: 'distinct snapshots kept in memory for peers still fetching them after newer ones were taken; beyond it new transfers wait',
      default: snapshotsHeldForTransfersMaxDefault,
      min: 1,
    }),
    'compaction-hold-slots': Flags.integer({
      description: 'slots behind the newest snapshot the log is kept for a peer fetching a snapshot or catching up after one',
      default: compactionHoldSlotsMaxDefault,
      min: 0,
    }),
    'state-machine': Flags.string({
      description: 'ES module whose default export makes the deterministic state machine to replicate (default: the built-in key-value store); every node must run the same one',
      helpValue: 'path',
    }),
    'initial-cluster-state': Flags.string({
      description:
        'on an empty data dir: existing takes it for a replaced disk, which does not vote until it has heard from a majority of the other nodes and caught up; new votes at once, for the first start of a brand-new cluster only (never for a replaced disk: it could vote against promises it forgot). Ignored when the data dir holds state',
      options: ['new', 'existing'],
      default: 'existing',
    }),
    tick: Flags.string({ description: 'length of one core tick, 1ms to 1s (heartbeat = 5 ticks, election timeout = 30-60 ticks)', default: `${tickMsDefault}ms` }),
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
    'connections-per-address': Flags.integer({
      description: 'open connections allowed from one remote address (peers and clients together)',
      default: defaultAdmissionLimits.connectionsPerAddressMax,
      min: 1,
    }),
    'client-frames-per-second': Flags.integer({
      description: 'frames one client connection may send per second; beyond it the node reads that connection more slowly',
      default: defaultAdmissionLimits.clientFramesPerSecondMax,
      min: 1,
    }),
    'client-requests-in-flight': Flags.integer({
      description: 'requests one client connection may have waiting for answers; beyond it the node stops reading it',
      default: defaultAdmissionLimits.clientRequestsInFlightMax,
      min: 1,
    }),
    'connection-buffer-bytes': Flags.integer({
      description: 'answer bytes queued for a client that does not read them before the node stops reading its requests',
      default: defaultAdmissionLimits.connectionBufferBytesMax,
      min: 1024,
    }),
    'max-frame-bytes': Flags.integer({
      description: 'largest frame accepted from any connection; a bigger one closes it (frame_too_large)',
      default: defaultTransportLimits.frameBytesMax,
      // A snapshot chunk (1 MiB) and a catch-up batch must still fit.
      min: 2 * 1024 * 1024,
      max: 0xffff_ffff,
    }),
    'connections-max': Flags.integer({
      description: 'open connections in all (peers and clients); beyond it a new one is refused (too_many_connections)',
      default: defaultTransportLimits.connectionsMax,
      min: 1,
    }),
    'handshake-timeout': Flags.string({
      description: 'time a new connection has to finish its handshake (TLS, hello, secret proof) before it is closed (handshake_required)',
      default: `${defaultTransportLimits.handshakeMsMax / 1000}s`,
      helpValue: 'duration',
    }),
    'commands-waiting-max': Flags.integer({
      description: 'client commands waiting in this node for their slot to apply; beyond it a submit is refused (overloaded), not proposed',
      default: clientsWaitingMaxDefault,
      min: 1,
    }),
    'session-commands-in-flight': Flags.integer({
      description: 'commands one client id may have waiting for their slot; beyond it the next is refused (session_busy), not proposed',
      default: sessionCommandsInFlightMaxDefault,
      min: 1,
    }),
    'command-bytes-max': Flags.integer({
      description: `largest command (msgpack bytes) the leader proposes; a larger one is refused (command_too_large), not proposed (default ${commandBytesMaxDefault}, or less to fit --max-frame-bytes)`,
      min: 1,
    }),
    'value-bytes-max': Flags.integer({
      description: `built-in store: largest value a set, cas or append may store, checked before proposing (value_too_large); at most the store's own ${valueBytesMax}, which every replica checks`,
      min: 1,
      max: valueBytesMax,
    }),
    'enable-faults': Flags.boolean({ description: 'accept `paxos fault` requests (partition, delay, drop): local testing only' }),
    // Deliberately broken modes, only for showing that scripts/chaos catches them; hidden from --help.
    'unsafe-ack-before-fsync': Flags.boolean({ hidden: true, description: 'UNSAFE: acknowledge before records are written; write them late, never fsync' }),
    'unsafe-local-reads': Flags.boolean({ hidden: true, description: 'UNSAFE: a leader answers get from local state, not through the log' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NodeStart);
    const level = flags['log-level'];
    if (!isLogLevel(level)) this.error(`invalid --log-level ${level}`, { exit: 2 });
    const log = createLogger({ level, format: flags['log-format'] as LogFormat, fields: { node: flags.id } });
    let peers;
    let listen;
    let tickMs;
    let handshakeMs;
    try {
      peers = parsePeers(flags.peers);
      listen = flags.listen === undefined ? undefined : parseEndpoint(flags.listen);
      tickMs = checkTickMs(parseDuration(flags.tick));
      handshakeMs = parseDuration(flags['handshake-timeout']);
      if (handshakeMs === 0) throw new Error('--handshake-timeout must be more than 0');
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
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
      fsync: flags['unsafe-ack-before-fsync'] ? 'never' : (flags.fsync as FsyncPolicy),
      clusterToken: flags['cluster-token'],
      initialClusterState: flags['initial-cluster-state'] as InitialClusterState,
      tickMs,
      snapshotEvery: flags['snapshot-every'],
      snapshotLogBytes: flags['snapshot-log-bytes'],
      snapshotChunkBytes: flags['snapshot-chunk-bytes'],
      snapshotsHeldForTransfersMax: flags['snapshots-held-for-transfers'],
      compactionHoldSlotsMax: flags['compaction-hold-slots'],
      stateMachine: machine?.factory,
      stateMachineIdentity: machine?.identity,
      log,
      onFatal: (error) => fatal(error),
      metricsPort: flags['metrics-port'],
      secret: await loadSecret(flags['secret-file'], { warn: (message) => log.warn(message) }).catch((error: Error) => this.error(error.message, { exit: 2 })),
      tls,
      transportLimits: { frameBytesMax: flags['max-frame-bytes'], connectionsMax: flags['connections-max'], handshakeMsMax: handshakeMs },
      clientsWaitingMax: flags['commands-waiting-max'],
      sessionCommandsInFlightMax: flags['session-commands-in-flight'],
      commandBytesMax: flags['command-bytes-max'],
      valueBytesMax: flags['value-bytes-max'],
      admissionLimits: {
        connectionsPerAddressMax: flags['connections-per-address'],
        clientFramesPerSecondMax: flags['client-frames-per-second'],
        clientRequestsInFlightMax: flags['client-requests-in-flight'],
        connectionBufferBytesMax: flags['connection-buffer-bytes'],
      },
      enableFaults: flags['enable-faults'],
      unsafe: { ackBeforeFsync: flags['unsafe-ack-before-fsync'], localReads: flags['unsafe-local-reads'] },
    }).catch((error: Error & { code?: string }) => {
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
}
