import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  ClientConnectionGuard,
  ConnectionsPerAddress,
  defaultAdmissionLimits,
  exposureWarning,
  FrameRate,
  isLoopbackHost,
  LogThrottle,
  ReadGate,
} from '../../../src/node/runtime/admission.js';

class FakeSocket extends EventEmitter {
  paused = false;
  writableLength = 0;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

describe('admission limits', () => {
  it('counts connections per address and frees them on close', () => {
    const limit = new ConnectionsPerAddress(2);
    expect([limit.admit('a'), limit.admit('a'), limit.admit('a'), limit.admit('b')]).toEqual([true, true, false, true]);
    limit.release('a');
    expect(limit.admit('a')).toBe(true);
    expect(limit.count('a')).toBe(2);
  });

  it('a frame rate allows a burst of one second, then asks for pauses that keep the average', () => {
    const rate = new FrameRate(100, 0);
    expect(rate.charge(100, 0)).toBe(0);
    expect(rate.charge(50, 0)).toBe(500);
    expect(rate.charge(0, 500)).toBe(0);
  });

  it('a read gate resumes only when every reason is gone', () => {
    const socket = new FakeSocket();
    const gate = new ReadGate(socket);
    gate.hold('rate');
    gate.hold('buffer');
    gate.release('rate');
    expect(socket.paused).toBe(true);
    gate.release('buffer');
    expect(socket.paused).toBe(false);
  });

  it('a client with too many requests in flight, or too many unread answers, is paused until they clear', () => {
    const socket = new FakeSocket();
    const guard = new ClientConnectionGuard(socket, { ...defaultAdmissionLimits, clientRequestsInFlightMax: 2, connectionBufferBytesMax: 100 }, () => 0);
    guard.onRequest(1);
    expect(socket.paused).toBe(false);
    guard.onRequest(2);
    expect(socket.paused).toBe(true);
    guard.onReply(1);
    expect(socket.paused).toBe(false);
    socket.writableLength = 1000;
    guard.onReply(2);
    expect(socket.paused).toBe(true);
    socket.writableLength = 0;
    socket.emit('drain');
    expect(socket.paused).toBe(false);
    guard.close();
  });

  it('a client over its frame rate is paused, then resumed by a timer', async () => {
    const socket = new FakeSocket();
    let now = 0;
    const guard = new ClientConnectionGuard(socket, { ...defaultAdmissionLimits, clientFramesPerSecondMax: 1000 }, () => now);
    guard.onFrames(1010);
    expect(socket.paused).toBe(true);
    now = 20;
    await new Promise((done) => setTimeout(done, 40));
    expect(socket.paused).toBe(false);
    guard.close();
  });

  it('throttles refusal log lines per code and reports how many it dropped', () => {
    const throttle = new LogThrottle(2);
    const seen = [0, 0, 0, 0].map(() => throttle.allow('decode_failed', 0).log);
    expect(seen).toEqual([true, true, false, false]);
    expect(throttle.allow('wrong_cluster', 0).log).toBe(true);
    expect(throttle.allow('decode_failed', 1000)).toEqual({ log: true, suppressed: 2 });
  });

  it('warns about a non-loopback listener without authentication', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(exposureWarning({ host: '127.0.0.1', port: 7401 }, false)).toBeNull();
    expect(exposureWarning({ host: '0.0.0.0', port: 7401 }, true)).toBeNull();
    expect(exposureWarning({ host: '0.0.0.0', port: 7401 }, false)).toMatch(/every network interface without authentication.*pose as a peer/);
    expect(exposureWarning({ host: '10.0.0.1', port: 7401 }, false)).toMatch(/on 10\.0\.0\.1, which is not loopback/);
  });
});
