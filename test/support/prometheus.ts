// A strict reader of the Prometheus text format (version 0.0.4), written from
// the format's description: it refuses what the format does not allow (a
// sample before its family's HELP and TYPE, a sample name that does not belong
// to its family, malformed labels or values), which the lenient npm parser the
// integration test also uses would let through. Used on renderPrometheus's
// output and on what curl reads from a live node's /metrics.
import { expect } from 'vitest';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const suffixesOf: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  let current: Family | null = null;
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      const [, name, ...help] = line.split(' ').slice(1);
      if (!metricName.test(name)) throw new Error(`bad metric name in ${where}`);
      if (families.has(name)) throw new Error(`family ${name} appears twice (${where})`);
      current = { name, type: 'untyped', help: help.join(' '), samples: [] };
      families.set(name, current);
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = line.split(' ').slice(2);
      if (current?.name !== name || current.samples.length > 0) throw new Error(`TYPE must follow its HELP, before samples (${where})`);
      if (!types.has(type)) throw new Error(`unknown type in ${where}`);
      current.type = type;
    } else if (line.startsWith('#') || line === '') {
      throw new Error(`unexpected comment or blank line: ${where}`);
    } else {
      if (current === null) throw new Error(`sample before any family: ${where}`);
      const sample = parseSample(line, where);
      const suffix = sample.name.slice(current.name.length);
      if (!sample.name.startsWith(current.name) || !(suffixesOf[current.type] ?? ['']).includes(suffix)) {
        throw new Error(`sample ${sample.name} does not belong to ${current.type} ${current.name} (${where})`);
      }
      current.samples.push(sample);
    }
  }
  return families;
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
  if (match === null) throw new Error(`malformed sample: ${where}`);
  return { name: match[1], labels: parseLabels(match[3] ?? '', where), value: parseValue(match[4], where) };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (match === null || !labelName.test(match[1])) throw new Error(`malformed labels: ${where}`);
    if (match[1] in labels) throw new Error(`label ${match[1]} twice: ${where}`);
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

export function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return Number.NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value: ${where}`);
  return Number(text);
}

/** What the format requires of a histogram: buckets with `le`, cumulative, +Inf last and equal to _count. */
export function checkHistogram(family: Family): void {
  const buckets = family.samples.filter((sample) => sample.name.endsWith('_bucket'));
  const bounds = buckets.map((bucket) => parseValue(bucket.labels.le, `${family.name} le`));
  for (let i = 1; i < buckets.length; i++) {
    expect(bounds[i]).toBeGreaterThan(bounds[i - 1]);
    expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
  }
  expect(bounds[bounds.length - 1]).toBe(Infinity);
  const count = family.samples.find((sample) => sample.name === `${family.name}_count`);
  expect(buckets[buckets.length - 1].value).toBe(count?.value);
}

export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}, sampleName = name): number | undefined {
  const family = families.get(name);
  const sample = family?.samples.find((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return sample?.value;
}

