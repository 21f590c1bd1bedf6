type CommandArgs = readonly unknown[];

// Script calls carry whole job payloads (BullMQ) and cache values as arguments.
const SCRIPT_COMMANDS = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i;

/**
 * What a Redis span records as its statement: the command and the key it works on, never the
 * values. The instrumentation's default keeps every argument of EVALSHA, which for BullMQ
 * means job data — user input — in every trace, and makes spans large.
 */
export function redisStatement(command: string, args: CommandArgs): string {
  if (SCRIPT_COMMANDS.test(command) || args.length === 0) return command;
  const [key] = args;
  const rest = args.length - 1;
  const shown = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : String(key);
  return rest > 0 ? `${command} ${shown} [${rest} other arguments]` : `${command} ${shown}`;
}
