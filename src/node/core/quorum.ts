import type { NodeId } from './messages.js';

/** The smallest number of nodes any two of which overlap: floor(n/2) + 1. */
export function majority(clusterSize: number): number {
  return Math.floor(clusterSize / 2) + 1;
}

/** Collects distinct votes until a majority of the cluster has answered. */
export class Quorum {
  private readonly voters = new Set<NodeId>();

  constructor(private readonly needed: number) {}

  add(node: NodeId): boolean {
    this.voters.add(node);
    return this.reached();
  }

  has(node: NodeId): boolean {
    return this.voters.has(node);
  }

  reached(): boolean {
    return this.voters.size >= this.needed;
  }

  get size(): number {
    return this.voters.size;
  }
}
