// What one remote may cost a node: connections per address, frames per second
// and requests in flight per client connection, and a log that a flood of bad
// connections cannot fill. Each limit ends in backpressure (stop reading the
// socket, so TCP slows the sender) or a refusal with a stable code, never in
// an unbounded buffer.
import { admissionLimitsDefault } from '../config.js';

export interface AdmissionLimits {
  /**
   * Open connections from one remote address (peers and clients together).
   * Loopback counts as one address, so a local cluster's peers, `paxos bench`
   * clients and tools all share it: the default leaves room for them.
   */
  connectionsPerAddressMax: number;
  /** Frames a client connection may send per second before the node stops reading it for a while. */
  clientFramesPerSecondMax: number;
  /** Requests a client connection may have waiting for an answer before the node stops reading it. */
  clientRequestsInFlightMax: number;
  /**
   * Answers queued in the kernel and in Node for one connection that does not
   * read them; beyond it the node stops reading that connection's requests.
   */
  connectionBufferBytesMax: number;
  /** Refusal log lines per second per reason; the rest are counted and summarised. */
  refusalLogLinesPerSecondMax: number;
}

/** The defaults, from the table of every node limit in src/node/config.ts. */
export const defaultAdmissionLimits: AdmissionLimits = admissionLimitsDefault;

/** Checks how the limits relate, at start: a limit of 0 would refuse everyone. */
export function checkAdmissionLimits(limits: AdmissionLimits): AdmissionLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  return limits;
}

/** Counts open connections per remote address. */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts the connection in and returns true, or returns false (and counts nothing) at the limit. */
  admit(address: string): boolean {
    const count = this.open.get(address) ?? 0;
    if (count >= this.max) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = (this.open.get(address) ?? 0) - 1;
    if (count <= 0) this.open.delete(address);
    else this.open.set(address, count);
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}

/**
 * A token bucket of frames: one second's worth of burst, refilled at the rate.
 * `charge` returns how long to stop reading so the average stays at the rate.
 */
export class FrameRate {
  private tokens: number;
  private atMs: number;

  constructor(
    private readonly perSecond: number,
    nowMs: number,
  ) {
    this.tokens = perSecond;
    this.atMs = nowMs;
  }

  /** Takes `frames` tokens (going into debt if need be); returns the pause in ms that pays the debt back, or 0. */
  charge(frames: number, nowMs: number): number {
    this.tokens = Math.min(this.perSecond, this.tokens + ((nowMs - this.atMs) * this.perSecond) / 1000);
    this.atMs = nowMs;
    this.tokens -= frames;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}

/**
 * Pauses a socket while any reason holds and resumes it when none does, so
 * independent limits (rate, in flight, buffered answers) cannot resume each other.
 */
export class ReadGate {
  private readonly reasons = new Set<string>();

  constructor(private readonly stream: { pause(): unknown; resume(): unknown }) {}

  hold(reason: string): void {
    if (this.reasons.size === 0) this.stream.pause();
    this.reasons.add(reason);
  }

  release(reason: string): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) this.stream.resume();
  }

  get held(): boolean {
    return this.reasons.size > 0;
  }
}

/**
 * Lets through at most `perSecond` lines per key each second and counts the
 * rest, so a flood of garbage connections costs the log one summary line a
 * second instead of one line per connection.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { startMs: number; lines: number; suppressed: number }>();

  constructor(private readonly perSecond: number) {}

  /** Whether to log now; `suppressed` is how many lines of this key were dropped since the last one logged. */
  allow(key: string, nowMs: number): { log: boolean; suppressed: number } {
    let window = this.windows.get(key);
    if (window === undefined || nowMs - window.startMs >= 1000) {
      const suppressed = window?.suppressed ?? 0;
      window = { startMs: nowMs, lines: 0, suppressed: 0 };
      this.windows.set(key, window);
      window.lines += 1;
      return { log: true, suppressed };
    }
    if (window.lines >= this.perSecond) {
      window.suppressed += 1;
      return { log: false, suppressed: 0 };
    }
    window.lines += 1;
    return { log: true, suppressed: 0 };
  }
}

/** The socket surface a guard needs (a net.Socket or tls.TLSSocket; a fake in tests). */
export interface GuardedSocket {
  pause(): unknown;
  resume(): unknown;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Backpressure for one client connection. Reading stops while the client
 * sends faster than its frame rate, while it has too many requests waiting,
 * or while it leaves too many answer bytes unread; it resumes by itself when
 * the cause is gone. A client that never reads just stalls its own connection.
 */
export class ClientConnectionGuard {
  private readonly gate: ReadGate;
  private readonly rate: FrameRate;
  private readonly waiting = new Set<number>();
  private rateTimer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;

  constructor(
    private readonly socket: GuardedSocket,
    private readonly limits: AdmissionLimits,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.gate = new ReadGate(socket);
    this.rate = new FrameRate(limits.clientFramesPerSecondMax, nowMs());
  }

  /** After a chunk's frames were handled: pause reading long enough to keep the frame rate. */
  onFrames(count: number): void {
    const pauseMs = this.rate.charge(count, this.nowMs());
    if (pauseMs === 0 || this.rateTimer !== null) return;
    this.gate.hold('rate');
    this.rateTimer = setTimeout(() => {
      this.rateTimer = null;
      this.gate.release('rate');
    }, pauseMs);
    this.rateTimer.unref();
  }

  onRequest(id: number): void {
    this.waiting.add(id);
    if (this.waiting.size >= this.limits.clientRequestsInFlightMax) this.gate.hold('in_flight');
  }

  /** After an answer was written. */
  onReply(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size < this.limits.clientRequestsInFlightMax) this.gate.release('in_flight');
    if (this.waitingForDrain || this.socket.writableLength <= this.limits.connectionBufferBytesMax) return;
    this.waitingForDrain = true;
    this.gate.hold('buffer');
    this.socket.once('drain', () => {
      this.waitingForDrain = false;
      this.gate.release('buffer');
    });
  }

  get paused(): boolean {
    return this.gate.held;
  }

  close(): void {
    if (this.rateTimer !== null) clearTimeout(this.rateTimer);
    this.rateTimer = null;
  }
}

/** Loopback hosts: only processes on this machine can connect to them. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\./.test(bare) || /^::ffff:127\./.test(bare);
}

/**
 * The warning for a node that anyone on the network can reach and that asks
 * nobody for proof of who they are, or null when it is loopback-only or authenticated.
 */
export function exposureWarning(listen: { host: string; port: number }, authenticated: boolean): string | null {
  if (authenticated || isLoopbackHost(listen.host)) return null;
  const everywhere = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const where = everywhere ? 'on every network interface' : `on ${listen.host}, which is not loopback,`;
  return (
    `listening ${where} without authentication: anyone who can reach port ${listen.port} can submit commands, ` +
    'read status, and pose as a peer node to vote in Paxos and corrupt the replicated log. ' +
    'Set --secret-file (and --tls-cert/--tls-key/--tls-ca), or --listen 127.0.0.1:PORT behind a firewall'
  );
}
