import { runSimulation } from '../work/main/src/sim/simulation.js';
const seed = Number(process.argv[2]);
const filter = process.argv[3];
try {
  console.log(JSON.stringify(runSimulation({ seed, log: (line) => { if (!filter || line.includes(filter)) console.log(line); } })));
} catch (e) { console.log((e as Error).message); }
