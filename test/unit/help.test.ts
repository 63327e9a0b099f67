// --help text is written as paragraphs that oclif wraps to the terminal itself:
// a line break inside a paragraph renders as a ragged line on any other width.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

interface ManifestCommand {
  description?: string;
  summary?: string;
  flags: Record<string, { description?: string; summary?: string }>;
}

/** The built manifest (npm test builds first) holds every command's help text. */
const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, ManifestCommand> };

/** Single line breaks: a paragraph broken by hand. Blank lines between paragraphs are fine. */
function hardWraps(text: string | undefined): string[] {
  return (text ?? '').split(/\n{2,}/).filter((paragraph) => paragraph.includes('\n'));
}

describe('--help', () => {
  it('has no hand-wrapped paragraph in any command description, summary or flag', () => {
    const found: string[] = [];
    for (const [id, command] of Object.entries(manifest.commands)) {
      for (const paragraph of [...hardWraps(command.description), ...hardWraps(command.summary)]) found.push(`${id}: ${paragraph.split('\n')[0]}...`);
      for (const [name, flag] of Object.entries(command.flags)) {
        for (const paragraph of [...hardWraps(flag.description), ...hardWraps(flag.summary)]) found.push(`${id} --${name}: ${paragraph.split('\n')[0]}...`);
      }
    }
    expect(found).toEqual([]);
    expect(Object.keys(manifest.commands)).toContain('node:start');
  });
});
