// DELIBERATELY BROKEN: the bank ledger with frozen accounts, whose restore() forgets which
// accounts are frozen. Nothing goes wrong until a replica restarts from its snapshot (or installs
// a peer's): from then on it lets a frozen account pay, and the others refuse. In production that
// is a silent divergence after a restart; `paxos sim` catches it at the first snapshot it checks.
//   npx paxos sim --state-machine examples/broken-restore.mjs    # exit 1: restore() loses state
export const name = 'broken-restore';
export const version = '1';

export default function createLedger() {
  let balances = new Map();
  let frozen = new Set();
  const balance = (account) => balances.get(account) ?? 0;
  const fail = (message) => { throw new Error(message); };
  const amount = (n) => (/^[1-9][0-9]{0,14}$/.test(n) ? Number(n) : fail(`not an amount: ${n}`));
  const commands = {
    deposit: (to, n) => balances.set(to, balance(to) + amount(n)).get(to),
    freeze: (account) => (frozen.add(account), true),
    transfer(from, to, n) {
      if (frozen.has(from)) fail(`${from} is frozen`);
      if (balance(from) < amount(n)) fail(`insufficient funds: ${from} has ${balance(from)}`);
      balances.set(from, balance(from) - amount(n)).set(to, balance(to) + amount(n));
      return { [from]: balance(from), [to]: balance(to) };
    },
  };
  return {
    apply: ([verb, ...args]) => (Object.hasOwn(commands, verb) ? commands[verb](...args) : fail('deposit|transfer|freeze')),
    snapshot: () => new TextEncoder().encode(JSON.stringify({ balances: [...balances], frozen: [...frozen].sort() })),
    restore: (bytes) => {
      const state = JSON.parse(new TextDecoder().decode(bytes));
      balances = new Map(state.balances);
      // BUG: frozen = new Set(state.frozen) is missing, so a restored replica forgets every freeze.
    },
  };
}

export function generate(random) {
  const who = () => ['alice', 'bob', 'carol'][Math.floor(random() * 3)];
  const roll = random();
  if (roll < 0.4) return ['deposit', who(), String(1 + Math.floor(random() * 50))];
  if (roll < 0.9) return ['transfer', who(), who(), String(1 + Math.floor(random() * 30))];
  return ['freeze', who()];
}
