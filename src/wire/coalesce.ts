// Frames written in one turn of the event loop leave in one system call. A
// leader that applies a slot answers every client session waiting on it at
// once; over a shared connection that is one write instead of one per answer,
// and on loopback a write costs as much as the rest of the command's path.
// No sockets here: anything with cork/uncork/write will do.

/** The part of a net.Socket (or tls.TLSSocket) the coalescer uses. */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
  readonly destroyed: boolean;
}

/**
 * Writes through `stream`, corking it on the first write of a turn and
 * uncorking on the next tick, after the synchronous work (and the promise
 * reactions) of the turn that wrote: no timer, so nothing waits longer than
 * that turn did.
 */
export class CoalescingWriter {
  private corked = false;

  constructor(private readonly stream: CorkableStream) {}

  write(frame: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => this.flush());
    }
    this.stream.write(frame);
  }

  private flush(): void {
    this.corked = false;
    if (!this.stream.destroyed) this.stream.uncork();
  }
}
