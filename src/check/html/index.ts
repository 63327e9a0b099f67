// `paxos check --html`: the history on a time line, as one self-contained page.
export { buildReportModel, reportFunctions, reportOperationsMax, reportOutcomes, reportValueCharsMax, type ReportInput, type ReportKey, type ReportModel, type ReportOperations, type ReportViolation } from './model.js';
export { embedJson, escapeHtml, renderReportPage, reportDataElementId } from './page.js';
export { ReportWriteError, writeReportFile } from './write.js';
export { writeCheckReportPage } from './report.js';
