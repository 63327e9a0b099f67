// Human units for the dashboard. Pure.
export { formatBytes, formatUptime } from '../client/status-report.js';

/** 850µs, 1.8ms, 12ms, 1.24s: three significant figures at most, the unit that keeps them short. */
export function formatMicros(micros: number): string {
  if (micros < 1_000) return `${Math.round(micros)}µs`;
  if (micros < 10_000) return `${(micros / 1_000).toFixed(1)}ms`;
  if (micros < 1_000_000) return `${Math.round(micros / 1_000)}ms`;
  return `${(micros / 1_000_000).toFixed(2)}s`;
}

/** 0, 8.5, 950, 12.3k, 1.2M: a rate that fits in six characters. */
export function formatRate(perSecond: number): string {
  if (perSecond < 10) return perSecond === 0 ? '0' : perSecond.toFixed(1);
  if (perSecond < 10_000) return String(Math.round(perSecond));
  if (perSecond < 1_000_000) return `${(perSecond / 1_000).toFixed(1)}k`;
  return `${(perSecond / 1_000_000).toFixed(1)}M`;
}

/** Local wall-clock time of day, as operators read event times: 14:03:27. */
export function formatClock(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
