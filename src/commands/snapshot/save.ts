import { Args, Command, Flags } from '@oclif/core';
import { applyClientAuthFlags, clientAuthFlags } from '../../client/auth-flags.js';
import { clusterFlag, clusterSettings } from '../../client/cluster-flag.js';
import { InvalidOptionError } from '../../client/errors.js';
import type { BackupSummary } from '../../ops/backup-file.js';
import { progressLine, renderBackupSummary, snapshotExitCodes } from '../../ops/backup-report.js';
import { saveBackup, SaveError } from '../../ops/save.js';

export default class SnapshotSave extends Command {
  static override summary = 'Save a consistent snapshot of the running cluster to a file (a backup).';

  static override description = `Finds the leader and asks it for a backup: it confirms with a majority that it still leads (as for a linearizable read), waits until it has applied every slot chosen before the request, snapshots its applied state at that slot and sends it a chunk at a time. So the file holds every write acknowledged before the save began. The file (header with cluster id, slot, state machine, members; the snapshot; a sha256 over all of it) is written to a temporary file beside FILE, fsynced and renamed: FILE is either the old file or the whole new backup, never half of one.

A progress bar goes to stderr when it is a terminal. Check a file with paxos snapshot inspect; seed a new cluster from it with paxos snapshot restore.

Exit codes: 0 saved; 2 usage error; 4 not saved (no leader, the node refused, the fetch failed: the reason is printed; FILE is untouched).`;

  static override examples = ['<%= config.bin %> snapshot save backup.snap', '<%= config.bin %> snapshot save backup.snap -c 10.0.0.1:7401 --secret-file /etc/paxos/secret --json'];

  static override enableJsonFlag = true;

  static override args = { file: Args.string({ description: 'Where to write the backup.', required: true }) };

  static override flags = {
    ...clusterFlag,
    timeout: Flags.string({ summary: 'Limit per request (finding the leader, each chunk), connect included.', default: '10s', helpValue: 'duration' }),
    ...clientAuthFlags,
  };

  async run(): Promise<BackupSummary | { error: string; code: string }> {
    const { args, flags } = await this.parse(SnapshotSave);
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: snapshotExitCodes.usage }));
    let settings;
    try {
      settings = clusterSettings(flags);
    } catch (error) {
      if (error instanceof InvalidOptionError) this.error(error.message, { exit: snapshotExitCodes.usage });
      throw error;
    }
    const showProgress = !this.jsonEnabled() && process.stderr.isTTY === true;
    try {
      const summary = await saveBackup({
        ...settings,
        file: args.file,
        onProgress: showProgress ? (received, total) => process.stderr.write(`\r${progressLine(received, total)}`) : undefined,
      });
      if (showProgress) process.stderr.write('\n');
      if (!this.jsonEnabled()) for (const line of ['saved', ...renderBackupSummary(summary)]) this.log(line);
      return summary;
    } catch (error) {
      if (showProgress) process.stderr.write('\n');
      const code = error instanceof SaveError ? error.code : 'save_failed';
      process.stderr.write(`not saved (${args.file} is untouched): ${(error as Error).message}\n`);
      process.exitCode = snapshotExitCodes.failed;
      return { error: (error as Error).message, code };
    }
  }
}
