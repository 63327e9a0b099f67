// The linearizability checker for key-value histories (SPEC: paxos check, History format).
export { checkHistory, type CheckOptions, type CheckResult, type CheckVerdict, type ExplainedOperation, type KeyViolation, type UndecidedKey } from './check.js';
export { HistoryParseError, HistoryReadError } from './errors.js';
export { HistoryParser, parseHistory, parseHistoryLines, type JsonValue, type Operation, type OperationFunction, type Outcome, type ProcessId } from './history.js';
export { explainedKeysMax, searchStatesMax, shrinkStatesMax } from './limits.js';
export { checkExitCode, checkExitCodes, renderCheckReport, renderSummary } from './report.js';
export { checkHistoryFile, type CheckRun } from './run.js';
export { searchLinearization, type SearchOperation, type SearchResult } from './search.js';
export { ReportWriteError, buildReportModel, renderReportPage, reportOperationsMax, writeCheckReportPage, type ReportModel } from './html/index.js';
