// DELIBERATELY BROKEN: the bank ledger, plus the time each account was last touched, read from
// the clock inside apply. Every result is still right, so `submit` looks fine; but each replica
// applies a command at its own instant, so their states (and snapshots) drift apart, and the first
// command that shows the time (`touched`) answers differently on each.
//   npx paxos sim --state-machine examples/broken-clock.mjs      # exit 1: replicas' states differ
// The fix: take the time from the command (the client's clock), as examples/lock-service.mjs does.
export const name = 'broken-clock';
export const version = '1';

export default function createLedger() {
  let balances = new Map();
  let touched = new Map(); // account -> ms since the epoch, from Date.now(): not deterministic
  const balance = (account) => balances.get(account) ?? 0;
  const fail = (message) => { throw new Error(message); };
  const amount = (n) => (/^[1-9][0-9]{0,14}$/.test(n) ? Number(n) : fail(`not an amount: ${n}`));
  const touch = (account) => touched.set(account, Date.now());
  const commands = {
    deposit: (to, n) => (touch(to), balances.set(to, balance(to) + amount(n)).get(to)),
    balance: (of) => balance(of),
    touched: (of) => touched.get(of) ?? null,
    transfer(from, to, n) {
      if (balance(from) < amount(n)) fail(`insufficient funds: ${from} has ${balance(from)}`);
      touch(from), touch(to);
      balances.set(from, balance(from) - amount(n)).set(to, balance(to) + amount(n));
      return { [from]: balance(from), [to]: balance(to) };
    },
  };
  return {
    apply: ([verb, ...args]) => (Object.hasOwn(commands, verb) ? commands[verb](...args) : fail('deposit|transfer|balance|touched')),
    snapshot: () => new TextEncoder().encode(JSON.stringify({ balances: [...balances], touched: [...touched] })),
    restore: (bytes) => {
      const state = JSON.parse(new TextDecoder().decode(bytes));
      balances = new Map(state.balances);
      touched = new Map(state.touched);
    },
  };
}

export function generate(random) {
  const who = ['alice', 'bob', 'carol'][Math.floor(random() * 3)];
  const roll = random();
  if (roll < 0.5) return ['deposit', who, String(1 + Math.floor(random() * 50))];
  if (roll < 0.9) return ['balance', who];
  return ['touched', who];
}
