// From a finished check to the page on disk: what `paxos check --html` calls.
import type { CheckRun } from '../run.js';
import { buildReportModel } from './model.js';
import { renderReportPage } from './page.js';
import { writeReportFile } from './write.js';

/** Writes the page of `run` to `file` atomically; returns its size in bytes. Throws RangeError or ReportWriteError. */
export async function writeCheckReportPage(run: CheckRun, options: { source: string; file: string }): Promise<number> {
  const model = buildReportModel({ source: options.source, operations: run.operations, result: run.result, elapsedMs: run.elapsedMs });
  const page = renderReportPage(model);
  await writeReportFile(options.file, page);
  return Buffer.byteLength(page, 'utf8');
}
