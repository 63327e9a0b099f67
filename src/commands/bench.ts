import { Command, Flags } from '@oclif/core';
import { benchClientsMax, benchValueBytesMax, runBench, type BenchProgress, type BenchResult } from '../client/bench.js';
import { HistoryRecorder } from '../client/history.js';
import { parseDuration, resolveCluster } from '../client/options.js';
import { applyClientAuthFlags, clientAuthFlags } from '../client/auth-flags.js';

export default class Bench extends Command {
  static override summary = 'Closed-loop load against a running cluster.';

  static override description = `Each client keeps one \`set\` in flight at a time (sequence-numbered, retried across leader changes) for --duration, on random keys among --keys. Prints throughput and latency percentiles from an HDR histogram; progress goes to stderr.

--reads R makes a fraction R (0..1) of the operations \`get\`s, answered as --consistency says: linearizable (default; the leader, without the log), log (through the log, like a set), local (the first replica that answers, possibly stale).`;

  static override examples = [
    '<%= config.bin %> bench',
    '<%= config.bin %> bench --clients 1 --duration 5s',
    '<%= config.bin %> bench --clients 256 --value-size 64 --json',
    '<%= config.bin %> bench --clients 256 --connections 32',
    '<%= config.bin %> bench --clients 8 --duration 30s --history bench.jsonl && <%= config.bin %> check bench.jsonl',
    '<%= config.bin %> bench --reads 0.9',
    '<%= config.bin %> bench --reads 1 --consistency local',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    cluster: Flags.string({ char: 'c', description: 'node addresses host:port,... (default: $PAXOS_CLUSTER, else the local cluster)' }),
    clients: Flags.integer({ description: 'concurrent closed-loop clients', default: 64, min: 1, max: benchClientsMax }),
    connections: Flags.integer({ description: 'sockets the clients share, client i on socket i mod N (default: one per client)', min: 1, max: benchClientsMax }),
    duration: Flags.string({ description: 'how long to run', default: '10s' }),
    'value-size': Flags.integer({ description: 'bytes per written value', default: 64, min: 1, max: benchValueBytesMax }),
    keys: Flags.integer({ description: 'distinct keys written', default: 1000, min: 1 }),
    timeout: Flags.string({ description: 'per-command timeout', default: '10s' }),
    reads: Flags.string({ description: 'fraction of operations that are gets, 0..1', default: '0', helpValue: 'fraction' }),
    consistency: Flags.string({ description: 'how the reads are answered', options: ['linearizable', 'log', 'local'], default: 'linearizable' }),
    ...clientAuthFlags,
    history: Flags.string({ description: 'record every operation to this file (SPEC history format; check it with `paxos check`)' }),
  };

  async run(): Promise<BenchResult> {
    const { flags } = await this.parse(Bench);
    let durationMs: number;
    let timeoutMs: number;
    let addresses;
    const reads = Number(flags.reads);
    if (flags.reads.trim() === '' || !(reads >= 0 && reads <= 1)) this.error(`--reads must be a fraction from 0 to 1 (0.9: nine reads in ten), got ${flags.reads}`, { exit: 2 });
    try {
      durationMs = parseDuration(flags.duration);
      timeoutMs = parseDuration(flags.timeout);
      addresses = resolveCluster(flags.cluster);
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    await applyClientAuthFlags(flags).catch((error: Error) => this.error(error.message, { exit: 2 }));
    const history = flags.history === undefined ? undefined : new HistoryRecorder(flags.history);
    const result = await runBench({
      addresses,
      clients: flags.clients,
      connections: flags.connections,
      durationMs,
      valueBytes: flags['value-size'],
      keys: flags.keys,
      timeoutMs,
      reads,
      consistency: flags.consistency as 'linearizable' | 'log' | 'local',
      history,
      onProgress: (progress) => process.stderr.write(progressLine(progress)),
    }).finally(() => history?.close());
    process.stderr.write(process.stderr.isTTY ? '\n' : '');
    if (result.applied === 0) process.exitCode = 4;
    if (!this.jsonEnabled()) this.printResult(result);
    return result;
  }

  private printResult(result: BenchResult): void {
    const { latencyMs: l } = result;
    const mix = result.reads > 0 ? `, ${Math.round(result.reads * 100)}% ${result.consistency} reads` : '';
    this.log(`clients ${result.clients} over ${result.connections} connection${result.connections === 1 ? '' : 's'}, ${(result.durationMs / 1000).toFixed(1)}s, ${result.valueBytes}-byte values${mix}`);
    this.log(`throughput  ${result.opsPerSecond.toLocaleString('en-US')} ops/s (${result.applied.toLocaleString('en-US')} applied, ${result.notApplied} not applied, ${result.unknown} unknown)`);
    this.log(`latency ms  p50 ${fmt(l.p50)}  p90 ${fmt(l.p90)}  p99 ${fmt(l.p99)}  max ${fmt(l.max)}  mean ${fmt(l.mean)}`);
  }
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

/** A progress bar on a terminal, a plain line a second otherwise (stdout stays data). */
function progressLine(progress: BenchProgress): string {
  const fraction = Math.min(1, progress.elapsedMs / progress.durationMs);
  const width = 30;
  const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
  const text = `[${bar}] ${(progress.elapsedMs / 1000).toFixed(0)}s/${(progress.durationMs / 1000).toFixed(0)}s  ${progress.applied.toLocaleString('en-US')} applied  ${progress.opsPerSecond.toLocaleString('en-US')} ops/s`;
  return process.stderr.isTTY ? `\r${text}` : `${text}\n`;
}
