// A worker thread of a `paxos sim` sweep (sweep.ts): runs the seeds it is
// handed, one at a time, and answers each with its run. Only a failing run
// carries its command list (the shrink starts from it).
import { parentPort, workerData } from 'node:worker_threads';
import { runUserSeed, type UserSimOptions } from './user-sim.js';

const base = workerData as Omit<UserSimOptions, 'seed'>;
parentPort?.on('message', (seed: number) => {
  runUserSeed({ ...base, seed }).then(
    (run) => parentPort?.postMessage({ seed, run: run.ok ? { ...run, submitted: [] } : run }),
    (error: unknown) => parentPort?.postMessage({ seed, error: error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) } }),
  );
});
