// A bank ledger that never overdraws, replicated by paxos:
//   npx paxos cluster start --state-machine examples/bank-ledger.mjs
//   npx paxos submit deposit alice 100        # 100
//   npx paxos submit transfer alice bob 30    # {"alice":70,"bob":30}
//   npx paxos submit transfer alice bob 500   # insufficient funds (exit 3)
//   npx paxos submit balance bob              # 30
// apply must be deterministic: no clocks, no randomness, no I/O.
export const name = 'bank-ledger';
export const version = '1';

export default function createLedger() {
  let balances = new Map(); // account -> whole units; a missing account holds 0
  const balance = (account) => balances.get(account) ?? 0;
  const account = (word) => {
    if (typeof word !== 'string' || word === '') throw new Error('an account is a non-empty name');
    return word;
  };
  const amount = (word) => {
    if (!/^[1-9][0-9]{0,14}$/.test(String(word))) throw new Error(`amount must be a positive whole number, got ${word}`);
    return Number(word);
  };
  const commands = {
    deposit(to, n) {
      balances.set(account(to), balance(to) + amount(n));
      return balance(to);
    },
    transfer(from, to, n) {
      const [payer, payee, sum] = [account(from), account(to), amount(n)];
      if (balance(payer) < sum) throw new Error(`insufficient funds: ${payer} has ${balance(payer)}, needs ${sum}`);
      balances.set(payer, balance(payer) - sum);
      balances.set(payee, balance(payee) + sum);
      return { [payer]: balance(payer), [payee]: balance(payee) };
    },
    balance: (of) => balance(account(of)),
  };
  return {
    apply(command) {
      const [verb, ...args] = Array.isArray(command) ? command : [];
      if (!Object.hasOwn(commands, verb)) throw new Error('usage: deposit ACCOUNT N | transfer FROM TO N | balance ACCOUNT');
      return commands[verb](...args);
    },
    // Sorted, so that equal ledgers give equal bytes on every replica.
    snapshot: () => new TextEncoder().encode(JSON.stringify([...balances].sort(([a], [b]) => (a < b ? -1 : 1)))),
    restore(bytes) {
      balances = new Map(JSON.parse(new TextDecoder().decode(bytes)));
    },
  };
}

// Commands for `npx paxos sim --state-machine examples/bank-ledger.mjs`: random() is the
// simulation's seeded PRNG, so every seed replays the same commands. Some transfers overdraw
// (refused on every replica alike) and some name bad amounts.
const people = ['alice', 'bob', 'carol', 'dave'];
export function generate(random) {
  const who = () => people[Math.floor(random() * people.length)];
  const roll = random();
  if (roll < 0.35) return ['deposit', who(), String(1 + Math.floor(random() * 100))];
  if (roll < 0.8) return ['transfer', who(), who(), String(1 + Math.floor(random() * 120))];
  if (roll < 0.97) return ['balance', who()];
  return ['deposit', who(), '-5'];
}
