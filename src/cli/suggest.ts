// What a mistyped command line probably meant: the closest command or flag
// name by edit distance, and a clear usage error for words a command does not
// take. Pure functions of the typed words and the known names, so the hooks
// that use them (src/hooks) stay one call each and the rules are unit-tested.

/**
 * One edit (a letter added, dropped, changed, or two neighbours swapped) is
 * allowed per this many letters of the candidate, and always one: `stauts`
 * finds `status` and `jsno` finds `json`, while an unrelated word of the same
 * length does not.
 */
const lettersPerEdit = 3;

/** Edits between two words, a swap of neighbours counting as one (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const distance: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < columns; j += 1) {
      const change = a[i - 1] === b[j - 1] ? 0 : 1;
      distance[i][j] = Math.min(distance[i - 1][j] + 1, distance[i][j - 1] + 1, distance[i - 1][j - 1] + change);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance[i][j] = Math.min(distance[i][j], distance[i - 2][j - 2] + 1);
    }
  }
  return distance[a.length][b.length];
}

/** The candidate closest to `typed` if it is close enough to be a typo of it (ties: the first in order). */
export function closest(typed: string, candidates: readonly string[]): string | null {
  let best: { name: string; edits: number } | null = null;
  for (const name of candidates) {
    const edits = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (edits > Math.max(1, Math.floor(name.length / lettersPerEdit))) continue;
    if (best === null || edits < best.edits) best = { name, edits };
  }
  return best?.name ?? null;
}

/** What the CLI knows of its commands, as oclif ids (`node:start`). */
export interface CommandNames {
  commandIds: readonly string[];
  topicIds: readonly string[];
  /** The binary's name, for messages (`paxos`). */
  bin: string;
}

/** The names of oclif's loaded config that suggestions choose from (hidden commands are never suggested). */
export function commandNames(config: {
  commands: readonly { id: string; hidden?: boolean }[];
  topics: readonly { name: string }[];
  bin: string;
}): CommandNames {
  return {
    commandIds: config.commands.filter((command) => command.hidden !== true).map((command) => command.id),
    topicIds: config.topics.map((topic) => topic.name),
    bin: config.bin,
  };
}

/** A usage error for a command line that names no command, with what the user probably meant. */
export interface UnknownCommand {
  message: string;
  /** 2: a usage error, as oclif's own parse errors. */
  exit: 2;
}

/**
 * Explains an id oclif found no command for. With topics separated by spaces,
 * oclif joins every leading word of a command that takes no arguments into the
 * id (`paxos status extra` looks for `status:extra`), so a known command
 * followed by more words is a command given arguments it does not take.
 */
export function explainUnknownCommand(id: string, names: CommandNames): UnknownCommand {
  const words = id.split(':').filter((word) => word !== '');
  const spoken = (commandId: string) => `${names.bin} ${commandId.replaceAll(':', ' ')}`;
  for (let length = words.length - 1; length > 0; length -= 1) {
    const command = words.slice(0, length).join(':');
    if (!names.commandIds.includes(command)) continue;
    const extra = words.slice(length);
    return {
      message: `Unexpected argument${extra.length === 1 ? '' : 's'}: ${extra.join(' ')}. ${spoken(command)} takes no arguments; see ${spoken(command)} --help`,
      exit: 2,
    };
  }
  const typed = words.join(' ');
  const best = closestCommand(words, names.commandIds);
  if (best !== null) return { message: `Unknown command: ${typed}. Did you mean ${spoken(best)}? (${names.bin} --help lists every command)`, exit: 2 };
  // A command's last word alone (`paxos start`): the topic was left out.
  const endingSo = names.commandIds.filter((commandId) => commandId.split(':').at(-1) === words[0] && commandId !== words[0]);
  if (words.length === 1 && endingSo.length > 0) {
    return { message: `Unknown command: ${typed}. Did you mean ${endingSo.map(spoken).join(' or ')}?`, exit: 2 };
  }
  const topic = words[0];
  if (names.topicIds.includes(topic)) {
    const under = names.commandIds.filter((commandId) => commandId.startsWith(`${topic}:`)).map(spoken);
    return { message: `Unknown command: ${typed}. The ${topic} commands: ${under.join(', ')}`, exit: 2 };
  }
  return { message: `Unknown command: ${typed}. ${names.bin} --help lists every command`, exit: 2 };
}

/**
 * The command whose words are each a typo of the typed word in its place (so
 * `node strat` finds `node start`, but `node stop` does not), fewest edits first.
 * A command is compared with as many typed words as it has: `stauts extra` finds status.
 */
function closestCommand(words: readonly string[], commandIds: readonly string[]): string | null {
  let best: { commandId: string; edits: number } | null = null;
  for (const commandId of commandIds) {
    const expected = commandId.split(':');
    if (words.length < expected.length) continue;
    const typed = words.slice(0, expected.length);
    if (!typed.every((word, i) => closest(word, [expected[i]]) !== null)) continue;
    const edits = typed.reduce((sum, word, i) => sum + editDistance(word.toLowerCase(), expected[i].toLowerCase()), 0);
    if (best === null || edits < best.edits) best = { commandId, edits };
  }
  return best?.commandId ?? null;
}

/** A flag as oclif's parser knows it: its name, its one-letter alias, and whether `--no-NAME` exists. */
export interface KnownFlag {
  name: string;
  char?: string;
  allowNo?: boolean;
  hidden?: boolean;
}

/** The flag names a typed flag could have meant: every visible flag, its `--no-` form, and --help. */
function flagNames(flags: readonly KnownFlag[]): string[] {
  const names = ['help'];
  for (const flag of flags) {
    if (flag.hidden === true) continue;
    names.push(flag.name);
    if (flag.allowNo === true) names.push(`no-${flag.name}`);
  }
  return names;
}

/** `--name` for a nonexistent flag as typed (`--jsno`, `-jsno`, `--tiemout=5s`), or null when nothing is close. */
export function suggestFlag(typed: string, flags: readonly KnownFlag[]): string | null {
  const name = typed.replace(/^-+/, '').split('=')[0];
  // A single letter is a short flag: any other letter is one edit away, so a guess would be noise.
  if (name.length < 2) return null;
  const found = closest(name, flagNames(flags));
  return found === null ? null : `--${found}`;
}

/**
 * oclif's "Nonexistent flag: --jsno" message with a guess after each flag it
 * can place (`--jsno (did you mean --json?)`); the lines after the first
 * (oclif's "See more help with --help") are kept.
 */
export function withFlagSuggestions(message: string, typed: readonly string[], flags: readonly KnownFlag[]): string {
  const [, ...rest] = message.split('\n');
  const described = typed.map((flag) => {
    const suggestion = suggestFlag(flag, flags);
    return suggestion === null ? flag : `${flag} (did you mean ${suggestion}?)`;
  });
  return [`Nonexistent flag${typed.length === 1 ? '' : 's'}: ${described.join(', ')}`, ...rest].join('\n');
}
