import type { Readable, Writable } from 'node:stream';
import type { ReadStream } from 'node:tty';

import { CliError, UsageError } from './cli-error.js';

/** Input longer than this without a line break is not a password; reading stops there. */
const maxLineBytes = 4096;

/**
 * Reads the first line of a stream, without its line ending, as `docker login --password-stdin` does.
 * The rest of the input is left unread.
 */
export async function readFirstLine(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;

  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    const newline = bytes.indexOf(0x0a);

    chunks.push(newline === -1 ? bytes : bytes.subarray(0, newline));
    size += bytes.length;

    if (newline !== -1) {
      break;
    }

    if (size > maxLineBytes) {
      throw new UsageError(`standard input has no line break in its first ${maxLineBytes} bytes`);
    }
  }

  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}

/**
 * Prompts on a terminal for a password twice, without echo. The prompts go to `output` (standard
 * error), so that standard output never shows them.
 */
export async function promptNewPassword(input: ReadStream, output: Writable): Promise<string> {
  const lines = new HiddenLineReader(input);

  try {
    output.write('Password: ');

    const password = await lines.next();

    output.write('\nRetype password: ');

    const repeated = await lines.next();

    output.write('\n');

    if (password !== repeated) {
      throw new UsageError('the passwords do not match');
    }

    return password;
  } finally {
    lines.close();
  }
}

/**
 * Reads lines from a terminal in raw mode, so that the terminal shows nothing of them. Backspace
 * deletes, Enter ends a line, Ctrl-C and Ctrl-D cancel. Characters typed ahead of a prompt are kept
 * for it.
 */
class HiddenLineReader {
  private readonly lines: string[] = [];
  private characters: string[] = [];
  private cancelled = false;
  private waiter: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly input: ReadStream) {
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', this.onData);
    input.resume();
  }

  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  close(): void {
    this.input.off('data', this.onData);
    this.input.setRawMode(false);
    this.input.pause();
  }

  private readonly onData = (text: string) => {
    for (const character of text) {
      if (character === '\r' || character === '\n') {
        this.lines.push(this.characters.join(''));
        this.characters = [];
      } else if (character === '\u0003' || character === '\u0004') {
        this.cancelled = true;
      } else if (character === '\u007f' || character === '\b') {
        this.characters.pop();
      } else {
        this.characters.push(character);
      }
    }

    this.deliver();
  };

  private deliver(): void {
    const waiter = this.waiter;

    if (waiter === undefined) {
      return;
    }

    if (this.lines.length > 0) {
      this.waiter = undefined;
      waiter.resolve(this.lines.shift() as string);
    } else if (this.cancelled) {
      this.waiter = undefined;
      waiter.reject(new CliError('cancelled; no password was set'));
    }
  }
}
