import { describe, expect, it } from 'vitest';
import { CoalescingWriter, type CorkableStream } from '../../../src/wire/coalesce.js';

/** Records what reaches the "kernel": each uncork (or uncorked write) is one system call's worth. */
function fakeStream(): CorkableStream & { syscalls: string[][] } {
  let corked = 0;
  const pending: string[] = [];
  const syscalls: string[][] = [];
  return {
    syscalls,
    destroyed: false,
    cork: () => {
      corked += 1;
    },
    uncork: () => {
      corked -= 1;
      if (corked === 0 && pending.length > 0) syscalls.push(pending.splice(0));
    },
    write: (chunk) => {
      pending.push(Buffer.from(chunk).toString());
      if (corked === 0) syscalls.push(pending.splice(0));
      return true;
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CoalescingWriter', () => {
  it('sends everything written in one turn, promise reactions included, in one write', async () => {
    const stream = fakeStream();
    const writer = new CoalescingWriter(stream);
    writer.write(Buffer.from('a'));
    writer.write(Buffer.from('b'));
    void Promise.resolve().then(() => writer.write(Buffer.from('c')));
    expect(stream.syscalls).toEqual([]);
    await tick();
    expect(stream.syscalls).toEqual([['a', 'b', 'c']]);
  });

  it('corks again on the next turn', async () => {
    const stream = fakeStream();
    const writer = new CoalescingWriter(stream);
    writer.write(Buffer.from('a'));
    await tick();
    writer.write(Buffer.from('b'));
    writer.write(Buffer.from('c'));
    await tick();
    expect(stream.syscalls).toEqual([['a'], ['b', 'c']]);
  });
});
