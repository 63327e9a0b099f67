// What `paxos snapshot save` and `inspect` print: a summary of a backup, and a progress bar.
import type { BackupSummary } from './backup-file.js';

export const snapshotExitCodes = Object.freeze({ ok: 0, usage: 2, damaged: 3, failed: 4 });

export function renderBackupSummary(summary: BackupSummary): string[] {
  return [
    `file           ${summary.file}`,
    `cluster        ${summary.clusterId}`,
    `slot           ${summary.slot} (every slot up to it is applied in the snapshot)`,
    `state machine  ${summary.stateMachine}`,
    `voters         ${summary.voters.join(', ') || '(none)'}`,
    `learners       ${summary.learners.join(', ') || '(none)'}`,
    `snapshot       ${summary.snapshotBytes} bytes; file ${summary.fileBytes} bytes`,
    `sha256         ${summary.sha256}`,
    `saved          ${summary.savedAt} from node ${summary.from.node} (${summary.from.address})`,
  ];
}

/** Width of the bar in characters. */
const barWidth = 30;

/** One line (to overwrite with \r): `[#####.....]  42% 4.2 MiB of 10 MiB`. */
export function progressLine(received: number, total: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, received / total);
  const filled = Math.round(fraction * barWidth);
  const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${mib(received)} of ${mib(total)}`;
}
