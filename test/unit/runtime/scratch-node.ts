// One in-process node per test on a scratch data dir, stopped and removed after each test.
import { afterEach, beforeEach } from 'vitest';
import type { RunningNode } from '../../../src/node/runtime/node.js';
import { temporaryDirectory } from '../storage/helpers.js';

export interface ScratchNode {
  /** The scratch directory of the current test. */
  readonly dir: string;
  /** Hands over the node the test started, to be stopped after it. */
  track(node: RunningNode): RunningNode;
}

/** Registers the hooks; call at the top of a test file. */
export function scratchNodes(): ScratchNode {
  let scratch: ReturnType<typeof temporaryDirectory>;
  let node: RunningNode | null = null;
  beforeEach(() => {
    scratch = temporaryDirectory();
  });
  afterEach(async () => {
    await node?.stop();
    node = null;
    scratch.remove();
  });
  return {
    get dir() {
      return scratch.dir;
    },
    track(started) {
      node = started;
      return started;
    },
  };
}
