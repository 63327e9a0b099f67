// oclif found no command for the typed words: say which words it did not
// take, or which command was probably meant, as a usage error (exit 2).
import type { Hook } from '@oclif/core';
import { commandNames, explainUnknownCommand } from '../cli/suggest.js';

const hook: Hook<'command_not_found'> = async function ({ config, id }) {
  const unknown = explainUnknownCommand(id, commandNames(config));
  this.error(unknown.message, { exit: unknown.exit });
};

export default hook;
