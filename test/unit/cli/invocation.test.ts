// Hints say `npx paxos` only where npx finds this package: inside its checkout.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliCommand } from '../../../src/cli/invocation.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'paxos-invocation-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('cliCommand', () => {
  it('is npx paxos in this checkout, the directory the tests run in', () => {
    expect(cliCommand()).toBe('npx paxos');
  });

  it('is npx paxos in and under a checkout, paxos outside it or in an installed package', () => {
    const checkout = path.join(scratch, 'checkout');
    const installed = path.join(scratch, 'lib/node_modules/paxos-rsm');
    mkdirSync(path.join(checkout, 'examples'), { recursive: true });
    mkdirSync(installed, { recursive: true });
    writeFileSync(path.join(checkout, 'tsconfig.json'), '{}');
    expect(cliCommand(checkout, checkout)).toBe('npx paxos');
    expect(cliCommand(path.join(checkout, 'examples'), checkout)).toBe('npx paxos');
    expect(cliCommand(`${checkout}-other`, checkout)).toBe('paxos');
    expect(cliCommand(scratch, checkout)).toBe('paxos');
    expect(cliCommand(installed, installed)).toBe('paxos');
  });
});
