// A lock service with leases, replicated by paxos (npx paxos cluster start --state-machine examples/lock-service.mjs):
//   npx paxos submit acquire printer ada 1000 50   # {"granted":true,"owner":"ada","until":1050,"op":1}
//   npx paxos submit acquire printer bob 1010 50   # {"granted":false,"owner":"ada","until":1050,"op":2}
//   npx paxos submit release printer ada           # {"released":true,"op":3}
// Time is logical: NOW comes from the clients (e.g. their clock in ms) and apply never reads a clock, so
// every replica decides alike. The service's time is the largest NOW seen, so a slow client cannot move it
// back. `op` numbers the commands applied: the order all replicas agree on, and a fencing token.
export const name = 'lock-service';
export const version = '1';

export default function createLockService() {
  let [now, op, locks] = [0, 0, new Map()]; // locks: name -> { owner, until }
  const fail = (message) => { throw new Error(message); };
  const text = (word, what) => (typeof word === 'string' && word !== '' ? word : fail(`${what} must be a non-empty string`));
  const time = (word, what) => (/^[0-9]{1,15}$/.test(String(word)) ? Number(word) : fail(`${what} must be a whole number, got ${word}`));
  const holder = (lock) => (locks.get(lock)?.until > now ? locks.get(lock) : undefined);
  const commands = {
    acquire: (lock, owner, at, lease) => {
      [lock, owner, at, lease] = [text(lock, 'LOCK'), text(owner, 'OWNER'), time(at, 'NOW'), time(lease, 'LEASE')];
      now = Math.max(now, at);
      const held = holder(lock);
      if (held !== undefined && held.owner !== owner) return { granted: false, owner: held.owner, until: held.until };
      locks.set(lock, { owner, until: now + lease });
      return { granted: true, owner, until: now + lease };
    },
    release: (lock, owner) => {
      const released = holder(text(lock, 'LOCK'))?.owner === text(owner, 'OWNER');
      if (released) locks.delete(lock);
      return { released };
    },
    holder: (lock, at) => {
      [lock, now] = [text(lock, 'LOCK'), Math.max(now, time(at, 'NOW'))];
      return { owner: holder(lock)?.owner ?? null, until: holder(lock)?.until ?? null };
    },
  };
  return {
    apply(command) {
      const [verb, ...args] = Array.isArray(command) ? command : [];
      if (!Object.hasOwn(commands, verb)) fail('usage: acquire LOCK OWNER NOW LEASE | release LOCK OWNER | holder LOCK NOW');
      const result = commands[verb](...args); // each validates its arguments before it changes anything
      return { ...result, op: ++op };
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify({ now, op, locks: [...locks].sort(([a], [b]) => (a < b ? -1 : 1)) })),
    restore(bytes) {
      const state = JSON.parse(new TextDecoder().decode(bytes));
      [now, op, locks] = [state.now, state.op, new Map(state.locks)];
    },
  };
}
