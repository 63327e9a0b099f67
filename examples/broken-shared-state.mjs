// DELIBERATELY BROKEN: an order book whose order ids come from a module-level counter, outside
// the state machine: not in its snapshot, and shared by every machine the module makes in one
// process (a replica makes a fresh one to restore a snapshot into). A restarted replica numbers
// orders from 1 again.   npx paxos sim --state-machine examples/broken-shared-state.mjs
let nextOrderId = 1; // BUG: belongs inside createOrders(), in the snapshot

export const name = 'broken-shared-state';
export const version = '1';

export default function createOrders() {
  let orders = {};
  return {
    apply([verb, item]) {
      if (verb !== 'order' || typeof item !== 'string') throw new Error('order ITEM');
      const id = nextOrderId++;
      orders[id] = item;
      return id;
    },
    snapshot: () => new TextEncoder().encode(JSON.stringify(orders)),
    restore: (bytes) => { orders = JSON.parse(new TextDecoder().decode(bytes)); },
  };
}

export function generate(random) {
  return ['order', ['tea', 'cake', 'jam'][Math.floor(random() * 3)]];
}
