import { Args, Command, Flags } from '@oclif/core';
import { parsePeers } from '../../node/runtime/config.js';
import { loadStateMachine } from '../../node/statemachine/loader.js';
import { createKeyValueStore } from '../../node/statemachine/kv.js';
import { builtinStateMachineIdentity } from '../../wire/protocol.js';
import { snapshotExitCodes } from '../../ops/backup-report.js';
import { restoreDataDir, RestoreRefusal, type RestoreResult } from '../../ops/restore.js';

export default class SnapshotRestore extends Command {
  static override summary = 'Seed the data dir of one member of a new cluster from a backup file.';

  static override description = `Run it once per member, each with its own --id and --data-dir and the same FILE, --peers and --cluster-token. Each dir gets the backup's snapshot at its slot S and a new identity; then start every member with paxos node start and the same --peers (the line to run is printed). They found the new cluster together once all of them answer, and its first slot is S + 1: every replica starts from the same state, so their digests agree. A restored dir founds only with dirs restored from the same file and never joins a running cluster.

The new cluster gets a new cluster id (from --cluster-token, the node ids and the file's sha256, the same on every member), so a node of the old cluster that is still running can never exchange messages with the new one. --keep-cluster-id keeps the backup's id instead, for clients and tools that pin it: use it only when the old cluster is gone for good, since an old node would then pass the new cluster's handshake.

Refused, with nothing written: a damaged file (any flipped byte fails its sha256), a state machine other than the backup's (pass the module it was taken with as --state-machine, or none for the built-in store), a state the state machine cannot restore, and a --data-dir that exists and is not empty.

Exit codes: 0 restored; 2 usage error; 3 the file is damaged or not a backup; 4 refused (the reason is printed).`;

  static override examples = [
    '<%= config.bin %> snapshot restore backup.snap --data-dir ./restored/n1 --id 1 --peers 1=127.0.0.1:7501,2=127.0.0.1:7502,3=127.0.0.1:7503',
    '<%= config.bin %> snapshot restore backup.snap --data-dir /var/lib/paxos --id 2 --peers 1=10.0.0.1:7401,2=10.0.0.2:7401,3=10.0.0.3:7401 --state-machine ledger.mjs',
  ];

  static override enableJsonFlag = true;

  static override args = { file: Args.string({ description: 'A backup written by paxos snapshot save.', required: true }) };

  static override flags = {
    'data-dir': Flags.string({ description: 'the new member\'s data dir: must not exist, or be empty', required: true }),
    id: Flags.integer({ description: 'the new member\'s node id (one of --peers)', required: true, min: 1 }),
    peers: Flags.string({ description: 'every member of the new cluster as ID=HOST:PORT,..., as paxos node start will be given them', required: true }),
    'cluster-token': Flags.string({ description: 'the token the new cluster\'s nodes are started with', default: 'paxos' }),
    'state-machine': Flags.string({ description: 'the module the backup\'s cluster ran (default: the built-in key-value store)', helpValue: 'path' }),
    'keep-cluster-id': Flags.boolean({ description: 'keep the backup\'s cluster id instead of a new one (only once the old cluster is gone for good)' }),
  };

  async run(): Promise<RestoreResult | { error: string; code: string }> {
    const { args, flags } = await this.parse(SnapshotRestore);
    let peers;
    try {
      peers = parsePeers(flags.peers);
    } catch (error) {
      this.error(`--peers: ${(error as Error).message}`, { exit: snapshotExitCodes.usage });
    }
    const machinePath = flags['state-machine'];
    const machine =
      machinePath === undefined
        ? { identity: builtinStateMachineIdentity, factory: createKeyValueStore }
        : await loadStateMachine(machinePath).catch((error: Error) => this.error(error.message, { exit: snapshotExitCodes.usage }));
    try {
      const result = await restoreDataDir({
        file: args.file,
        dataDir: flags['data-dir'],
        id: flags.id,
        peers: [...peers.keys()],
        clusterToken: flags['cluster-token'],
        keepClusterId: flags['keep-cluster-id'],
        stateMachine: { identity: machine.identity, factory: machine.factory },
      });
      if (!this.jsonEnabled()) {
        const start = [
          this.config.bin,
          'node start',
          `--id ${flags.id}`,
          `--peers ${flags.peers}`,
          `--data-dir ${flags['data-dir']}`,
          ...(flags['cluster-token'] === 'paxos' ? [] : [`--cluster-token ${flags['cluster-token']}`]),
          ...(machinePath === undefined ? [] : [`--state-machine ${machinePath}`]),
        ].join(' ');
        this.log(`restored node ${result.id} of a new cluster ${result.clusterId}${result.keptClusterId ? ' (the backup\'s id, kept)' : ''} from ${args.file}`);
        this.log(`  state at slot ${result.slot} of cluster ${result.fromClusterId}, state machine ${result.stateMachine}, sha256 ${result.sha256}`);
        this.log(`  data dir ${result.dataDir}, incarnation ${result.incarnation}`);
        this.log(`restore the same file for every node in --peers (${result.peers.join(', ')}), then start each; for this one:`);
        this.log(`  ${start}`);
        this.log(`they found the new cluster once all of them answer; its first slot is ${result.slot + 1}`);
      }
      return result;
    } catch (error) {
      if (!(error instanceof RestoreRefusal)) throw error;
      process.stderr.write(`not restored: ${error.message}\n`);
      process.exitCode = error.code === 'damaged' ? snapshotExitCodes.damaged : error.code === 'not_in_peers' ? snapshotExitCodes.usage : snapshotExitCodes.failed;
      return { error: error.message, code: error.code };
    }
  }
}
