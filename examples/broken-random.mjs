// DELIBERATELY BROKEN: a raffle that draws its winner with Math.random() inside apply, so every
// replica draws its own winner.   npx paxos sim --state-machine examples/broken-random.mjs
// The fix: let the client pick (or send a seed in the command), or derive the draw from the state.
export const name = 'broken-random';
export const version = '1';

export default function createRaffle() {
  let tickets = [];
  return {
    apply([verb, who]) {
      if (verb === 'enter') return tickets.push(String(who));
      if (verb === 'draw') return tickets.length === 0 ? null : tickets[Math.floor(Math.random() * tickets.length)];
      throw new Error('enter NAME | draw');
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify(tickets)),
    restore: (bytes) => { tickets = JSON.parse(new TextDecoder().decode(bytes)); },
  };
}

export function generate(random) {
  return random() < 0.7 ? ['enter', ['ada', 'bob', 'cy'][Math.floor(random() * 3)]] : ['draw'];
}
