// Runs an ink app on the terminal's alternate screen, the way top and less
// do, and always leaves it: on q, Ctrl-C, SIGTERM, SIGHUP, or an error, the
// terminal gets back the screen and scrollback it had before.
import type React from 'react';
import { render } from 'ink';

const enterAlternateScreen = '\u001B[?1049h\u001B[H';
const leaveAlternateScreen = '\u001B[?1049l';
const quitSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface FullScreenOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** Resolves once the app has exited (useApp().exit, Ctrl-C or a signal) and the terminal is restored. */
export async function runFullScreen(app: React.ReactNode, options: FullScreenOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  stdout.write(enterAlternateScreen);
  const instance = render(app, { stdout, stdin, exitOnCtrlC: true, patchConsole: true });
  // Without raw mode (stdin not a terminal) Ctrl-C is a SIGINT: unmount instead of dying on the alternate screen.
  const quit = (): void => instance.unmount();
  for (const signal of quitSignals) process.on(signal, quit);
  try {
    await instance.waitUntilExit();
  } finally {
    for (const signal of quitSignals) process.off(signal, quit);
    stdout.write(leaveAlternateScreen);
  }
}
