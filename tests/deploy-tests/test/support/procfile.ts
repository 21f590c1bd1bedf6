import { readRepoText } from './paths.js';

/** Process type → command line of a Procfile (Heroku and Elastic Beanstalk syntax). */
export function parseProcfile(text: string): Map<string, string> {
  const processes = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const match = /^([A-Za-z0-9_-]+):[ \t]*(\S.*)$/.exec(line);
    if (!match?.[1] || !match[2]) throw new Error(`Procfile line ${index + 1} is not "process: command": ${line}`);
    if (processes.has(match[1])) throw new Error(`Procfile declares ${match[1]} twice`);
    processes.set(match[1], match[2].trim());
  }
  return processes;
}

/** A command line split into words; quoting, variables and shell syntax are refused. */
export function splitCommand(command: string): string[] {
  if (/["'`$\\|&;<>(){}*?]/.test(command))
    throw new Error(`command uses shell syntax, which not every platform runs through a shell: ${command}`);
  return command.split(/\s+/).filter(Boolean);
}

/** The repository Procfile's web and worker commands as argv. */
export async function procfileCommands(): Promise<{ web: string[]; worker: string[] }> {
  const processes = parseProcfile(await readRepoText('Procfile'));
  const web = processes.get('web');
  const worker = processes.get('worker');
  if (!web || !worker) throw new Error('the Procfile must declare web and worker');
  return { web: splitCommand(web), worker: splitCommand(worker) };
}
