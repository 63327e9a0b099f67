#!/usr/bin/env node
// A long sweep of the deterministic simulation on every core: one worker
// process per core, seeds handed out in chunks, progress saved after every
// chunk so an interrupted sweep resumes where it stopped. Prints each failing
// seed as it is found (rerun one with `SEED=<n> npm run sim`) and a summary.
//
//   node scripts/sim-sweep.mjs --seeds 100000 [--from 1] [--workers N] [--state FILE] [--chunk 250]
//
// It runs the built simulator (dist/sim), so `npm run build` first.
import { fork } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const simulator = path.join(root, 'dist/sim/simulation.js');

if (process.argv[2] === '--worker') {
  const { runSimulation } = await import(pathToFileURL(simulator).href);
  process.on('message', (chunk) => {
    const failures = [];
    let acknowledged = 0;
    for (let seed = chunk.from; seed < chunk.to; seed += 1) {
      try {
        acknowledged += runSimulation({ seed }).acknowledged;
      } catch (error) {
        failures.push({ seed, message: String(error?.message ?? error).split('\n').slice(0, 8).join('\n') });
      }
    }
    process.send({ chunk, failures, acknowledged });
  });
} else {
  await main();
}

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = process.argv[index + 1];
  if (value === undefined) usage(`--${name} needs a value`);
  return value;
}

function usage(problem) {
  console.error(`sim-sweep: ${problem}\nusage: node scripts/sim-sweep.mjs --seeds N [--from 1] [--workers N] [--state FILE] [--chunk 250]`);
  process.exit(2);
}

function count(name, fallback) {
  const value = Number(option(name, fallback));
  if (!Number.isSafeInteger(value) || value < 1) usage(`--${name} must be a positive integer`);
  return value;
}

async function main() {
  if (!existsSync(simulator)) usage(`${simulator} is missing: run \`npm run build\` first`);
  const seeds = count('seeds', undefined);
  const from = count('from', 1);
  const workers = count('workers', availableParallelism());
  const chunkSize = count('chunk', 250);
  const stateFile = path.resolve(option('state', path.join(root, `.sim-sweep-${from}-${from + seeds - 1}.json`)));
  const state = existsSync(stateFile)
    ? JSON.parse(readFileSync(stateFile, 'utf8'))
    : { from, seeds, done: [], failures: [], acknowledged: 0, elapsedMs: 0 };
  if (state.from !== from || state.seeds !== seeds) usage(`${stateFile} belongs to another sweep (--from ${state.from} --seeds ${state.seeds})`);
  const done = new Set(state.done);
  const chunks = [];
  for (let start = from; start < from + seeds; start += chunkSize) {
    if (!done.has(start)) chunks.push({ from: start, to: Math.min(start + chunkSize, from + seeds) });
  }
  if (done.size > 0) console.error(`resuming ${stateFile}: ${done.size} chunks done, ${chunks.length} to go, ${state.failures.length} failures so far`);
  const started = Date.now();
  const elapsedBefore = state.elapsedMs;
  const save = () => {
    state.done = [...done];
    state.elapsedMs = elapsedBefore + (Date.now() - started);
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  let seedsRun = done.size * chunkSize;
  await Promise.all(
    Array.from({ length: Math.min(workers, chunks.length) }, () =>
      new Promise((resolve, reject) => {
        const child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const next = () => {
          const chunk = chunks.shift();
          if (chunk === undefined) {
            child.disconnect();
            return resolve();
          }
          child.send(chunk);
        };
        child.on('message', ({ chunk, failures, acknowledged }) => {
          for (const failure of failures) console.log(`FAILED seed ${failure.seed}: ${failure.message}\n  reproduce with SEED=${failure.seed} npm run sim`);
          state.failures.push(...failures);
          state.acknowledged += acknowledged;
          done.add(chunk.from);
          seedsRun += chunk.to - chunk.from;
          save();
          process.stderr.write(`\r${Math.min(seedsRun, seeds)}/${seeds} seeds, ${state.failures.length} failed, ${Math.round((Date.now() - started) / 1000)} s`);
          next();
        });
        child.on('exit', (code) => (code === 0 || code === null ? resolve() : reject(new Error(`a worker exited with ${code}`))));
        next();
      }),
    ),
  );
  save();
  const summary = {
    seeds: `${from}..${from + seeds - 1}`,
    count: seeds,
    workers,
    failures: state.failures.length,
    failingSeeds: state.failures.map((failure) => failure.seed),
    acknowledgedCommands: state.acknowledged,
    seconds: Math.round(state.elapsedMs / 1000),
  };
  process.stderr.write('\n');
  console.log(JSON.stringify(summary));
  process.exit(state.failures.length === 0 ? 0 : 1);
}
