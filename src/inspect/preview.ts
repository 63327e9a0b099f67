// One-line previews of chosen and accepted values, for people: `paxos log
// inspect`'s VALUE column, the messages of its --verify and --diff. A preview
// is a hint, not the value: bounded in length however large the batch.
import type { Command, Value } from '../node/core/messages.js';

/** A preview is a hint, not the value: long enough to recognise a command, short enough for one line. */
export const previewCharsMax = 60;
/** Elements of an array or object a preview renders before it gives up (a batch may hold thousands). */
const previewItemsMax = 8;
/** Nesting a preview follows into an opaque state-machine command. */
const previewDepthMax = 4;

/** `2 cmds: c1#4 set x 1; c2#9 get y`, cut to previewCharsMax; `no-op` for the empty batch a new leader fills holes with. */
export function valuePreview(value: Value): string {
  const count = value.commands.length;
  if (count === 0) return 'no-op';
  let text = `${count} ${count === 1 ? 'cmd' : 'cmds'}: `;
  // Stops early: only the first few commands of a large batch can show.
  for (let position = 0; position < count && text.length <= previewCharsMax; position += 1) {
    text += `${position === 0 ? '' : '; '}${commandPreview(value.commands[position])}`;
  }
  return clip(text);
}

function commandPreview(command: Command): string {
  return `${wordPreview(command.client)}#${command.seq} ${opPreview(command.op)}`;
}

/** The built-in store's commands are arrays of words: show them as typed (`set x 1`); anything else as compact JSON. */
function opPreview(op: unknown): string {
  if (Array.isArray(op) && op.length > 0 && op.every((word) => typeof word === 'string' || typeof word === 'number')) {
    return withEllipsis(op.slice(0, previewItemsMax).map(wordPreview), op.length).join(' ');
  }
  return JSON.stringify(previewable(op, 0)) ?? String(op);
}

/** A word that would break the line (spaces, control characters, quotes) or vanish (empty) is quoted. */
function wordPreview(word: string | number): string {
  if (typeof word === 'number') return String(word);
  return /^[^\s"\\\p{C}]+$/u.test(word) ? clip(word) : clip(JSON.stringify(word));
}

/** A JSON-able stand-in for an opaque value, bounded in size: bytes become `<n bytes>`, long lists are cut. */
function previewable(value: unknown, depth: number): unknown {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return clip(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= previewDepthMax) return '…';
  if (Array.isArray(value)) return withEllipsis(value.slice(0, previewItemsMax).map((item: unknown) => previewable(item, depth + 1)), value.length);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Object.fromEntries(entries.slice(0, previewItemsMax).map(([key, item]: [unknown, unknown]) => [String(key), previewable(item, depth + 1)]));
}

/** Marks a list cut to previewItemsMax items, so a preview never looks complete when it is not. */
function withEllipsis<T>(items: T[], lengthBefore: number): (T | string)[] {
  return lengthBefore > items.length ? [...items, '…'] : items;
}

/** `text`, cut to previewCharsMax characters with a final `…` when longer. */
export function clip(text: string): string {
  return text.length <= previewCharsMax ? text : `${text.slice(0, previewCharsMax - 1)}…`;
}
