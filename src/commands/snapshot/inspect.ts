import { Args, Command } from '@oclif/core';
import { BackupFileError, inspectBackupFile, type BackupSummary } from '../../ops/backup-file.js';
import { renderBackupSummary, snapshotExitCodes } from '../../ops/backup-report.js';

export default class SnapshotInspect extends Command {
  static override summary = 'Check a backup file and show its cluster id, slot, state machine, members, size and checksum.';

  static override description = `Reads the whole file (a chunk at a time) and checks its sha256, its header and the embedded snapshot's header; it only reads.

Exit codes: 0 the file is whole; 3 it is damaged or not a backup (what is wrong is printed).`;

  static override examples = ['<%= config.bin %> snapshot inspect backup.snap', '<%= config.bin %> snapshot inspect backup.snap --json'];

  static override enableJsonFlag = true;

  static override args = { file: Args.string({ description: 'A file written by paxos snapshot save.', required: true }) };

  async run(): Promise<BackupSummary | { error: string; file: string }> {
    const { args } = await this.parse(SnapshotInspect);
    try {
      const summary = await inspectBackupFile(args.file);
      if (!this.jsonEnabled()) for (const line of renderBackupSummary(summary)) this.log(line);
      return summary;
    } catch (error) {
      if (!(error instanceof BackupFileError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = snapshotExitCodes.damaged;
      return { error: error.message, file: args.file };
    }
  }
}
