// Structured logs on stderr: one JSON object per line (--log-format json) or a
// short human line (pretty). stdout stays free for data.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
import { silentLogger, type LogFields, type Logger } from '../driver/log.js';

export { silentLogger, type LogFields, type Logger };

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };


export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  write?: (line: string) => void;
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (levelRank[level] < levelRank[options.level]) return;
    const all = { ...base, ...fields };
    write(options.format === 'json' ? jsonLine(level, message, all) : prettyLine(level, message, all));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger({ ...options, write, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (library use without logs). */

function jsonLine(level: LogLevel, message: string, fields: LogFields): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`;
}

function prettyLine(level: LogLevel, message: string, fields: LogFields): string {
  const time = new Date().toISOString().slice(11, 23);
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}\n`;
}

export function isLogLevel(text: string): text is LogLevel {
  return text in levelRank;
}
