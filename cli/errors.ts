/** Exit codes of every command: 0 ok, 1 failed (a sweep or a runtime fault), 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** An error the user caused or can fix; printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_BAD_INPUT,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Wrap a command handler: errors become a message on stderr and an exit code, never an unhandled rejection. */
export function handler<A>(fn: (args: A) => Promise<number | void>): (args: A) => Promise<void> {
  return async (args: A) => {
    try {
      process.exitCode = (await fn(args)) ?? EXIT_OK;
    } catch (err) {
      if (err instanceof CliError) {
        process.stderr.write(`${err.message}\n`);
        process.exitCode = err.exitCode;
      } else {
        const e = err instanceof Error ? err : new Error(String(err));
        const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
        process.stderr.write(`sweep: ${e.message}${cause}\n${process.env.DEBUG ? `${e.stack}\n` : ''}`);
        process.exitCode = EXIT_FAILED;
      }
    }
  };
}
