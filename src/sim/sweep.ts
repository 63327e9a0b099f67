// Many seeds of `paxos sim`: in worker threads when there are many and the
// machine has cores to spare, else in this thread. Seeds are handed out in
// order and the sweep stops handing out at the first failure, then waits for
// the seeds still running: the failure reported is the smallest failing seed,
// whatever the number of workers, so a sweep's verdict is a function of its
// options.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runUserSeed, type UserSimOptions, type UserSimRun } from './user-sim.js';

/** Below this many seeds, threads cost more to start than they save. */
export const seedsPerThreadMin = 8;
/**
 * Seeds one worker runs before it is replaced: every run imports the module
 * a few times per replica (user-sim.ts, instancesPerNodeMax), and Node keeps
 * every module it imported for the life of the thread.
 */
export const seedsPerWorkerMax = 100;

export interface SweepOptions extends Omit<UserSimOptions, 'seed'> {
  firstSeed: number;
  seeds: number;
  /** Worker threads; default: the machine's cores when seeds >= seedsPerThreadMin, else none. */
  threads?: number;
  onProgress?: (done: number, total: number, run: UserSimRun) => void;
}

export interface SweepResult {
  /** Runs that finished, by seed. */
  passed: number;
  failure: UserSimRun | null;
  threads: number;
}

export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const threads = options.threads ?? (options.seeds >= seedsPerThreadMin ? Math.min(availableParallelism(), options.seeds) : 0);
  // Threads run the built worker (dist/sim/sweep-worker.js); from TypeScript sources (tests, tsx) this thread runs them.
  const built = import.meta.url.endsWith('.js');
  return threads > 1 && built ? sweepInThreads(options, threads) : sweepHere(options);
}

async function sweepHere(options: SweepOptions): Promise<SweepResult> {
  const { firstSeed, seeds, onProgress, threads: _threads, ...base } = options;
  let passed = 0;
  for (let seed = firstSeed; seed < firstSeed + seeds; seed += 1) {
    const run = await runUserSeed({ ...base, seed });
    onProgress?.(seed - firstSeed + 1, seeds, run);
    if (!run.ok) return { passed, failure: run, threads: 0 };
    passed += 1;
  }
  return { passed, failure: null, threads: 0 };
}

interface WorkerReply {
  seed: number;
  run?: UserSimRun;
  error?: { name: string; message: string };
}

/** An error a worker hit that is not a divergence (a module that cannot load, a bad command): the sweep stops with it. */
export class SweepWorkerError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

function sweepInThreads(options: SweepOptions, threads: number): Promise<SweepResult> {
  const { firstSeed, seeds, onProgress, threads: _threads, ...base } = options;
  const end = firstSeed + seeds;
  let next = firstSeed;
  let done = 0;
  let passed = 0;
  let stopping = false;
  let failure: UserSimRun | null = null;
  let error: SweepWorkerError | null = null;
  let running = 0;
  return new Promise((resolve, reject) => {
    const finish = () => {
      if (running > 0) return;
      if (error !== null) reject(error);
      else resolve({ passed, failure, threads });
    };
    const startWorker = () => {
      const worker = new Worker(new URL('./sweep-worker.js', import.meta.url), { workerData: base });
      let ran = 0;
      running += 1;
      const handOut = () => {
        if (stopping || next >= end || ran >= seedsPerWorkerMax) {
          void worker.terminate();
          return;
        }
        ran += 1;
        worker.postMessage(next);
        next += 1;
      };
      worker.on('message', (reply: WorkerReply) => {
        done += 1;
        if (reply.error !== undefined) {
          error ??= new SweepWorkerError(reply.error.name, reply.error.message);
          stopping = true;
        } else if (reply.run !== undefined) {
          onProgress?.(done, seeds, reply.run);
          if (reply.run.ok) passed += 1;
          else {
            stopping = true;
            if (failure === null || reply.run.seed < failure.seed) failure = reply.run;
          }
        }
        handOut();
      });
      worker.on('error', (thrown) => {
        error ??= new SweepWorkerError(thrown.name, thrown.message);
        stopping = true;
      });
      worker.on('exit', () => {
        running -= 1;
        if (!stopping && next < end) startWorker();
        finish();
      });
      handOut();
    };
    for (let index = 0; index < threads; index += 1) startWorker();
  });
}
