import { Args, Command, loadHelpClass } from '@oclif/core';
import { commandNames, explainUnknownCommand } from '../cli/suggest.js';

export default class HelpCommand extends Command {
  static override summary = 'Show help for paxos, or for one command or topic.';

  static override description = 'The same text as --help (or -h) after the command: `paxos help node start` is `paxos node start --help`.';

  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help node start', '<%= config.bin %> help fault'];

  static override args = {
    command: Args.string({ description: 'the command or topic, in words (node start)', required: false }),
  };

  // The command's words are any number of arguments.
  static override strict = false;

  async run(): Promise<void> {
    const { argv } = await this.parse(HelpCommand);
    const words = argv as string[];
    const id = words.join(':');
    if (id !== '' && this.config.findCommand(id) === undefined && this.config.findTopic(id) === undefined) {
      const unknown = explainUnknownCommand(id, commandNames(this.config));
      this.error(unknown.message, { exit: unknown.exit });
    }
    const HelpClass = await loadHelpClass(this.config);
    const help = new HelpClass(this.config, this.config.pjson.oclif.helpOptions);
    // oclif's help skips the word help (it would show the root help): this command's own help is asked for by name.
    const own = id === this.id ? this.config.findCommand(id) : undefined;
    await (own === undefined ? help.showHelp(words) : help.showCommandHelp(own, this.config.topics));
  }
}
