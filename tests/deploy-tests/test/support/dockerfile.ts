import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { readRepoText } from './paths.js';

/** One instruction of a stage, ARG references resolved. */
export interface Instruction {
  readonly keyword: string;
  /** The arguments as one line (continuations joined), `${ARG}`s substituted. */
  readonly args: string;
  /** Exec form (`["node", "x"]`) as an argv, for CMD, ENTRYPOINT, RUN and HEALTHCHECK CMD. */
  readonly argv?: readonly string[];
  /** `--from=build` → `{ from: 'build' }` */
  readonly flags: Readonly<Record<string, string>>;
  /** 1-based line, for messages. */
  readonly line: number;
}

/** A build stage: FROM and what follows until the next FROM. */
export interface Stage {
  /** `AS name`, or the stage's index. */
  readonly name: string;
  /** The base image, or the stage it builds on. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

/** A Dockerfile read the way BuildKit reads it, as far as the tests need. */
export interface ParsedDockerfile {
  readonly text: string;
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
  /** The linter's findings (dockerfile-utils: the validator behind VS Code's Docker support). */
  readonly diagnostics: ReturnType<typeof validate>;
}

function substitute(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return name in args ? (args[name] ?? '') : whole;
  });
}

function execForm(args: string): string[] | undefined {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) return undefined;
  const parsed = JSON.parse(trimmed) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** Parses the repository's Dockerfile into stages. */
export async function readDockerfile(): Promise<ParsedDockerfile> {
  const text = await readRepoText('Dockerfile');
  const dockerfile = DockerfileParser.parse(text);
  const globalArgs: Record<string, string> = {};
  const stages: { name: string; base: string; instructions: Instruction[] }[] = [];
  let stageArgs: Record<string, string> = {};
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const raw = instruction.getArgumentsContent() ?? '';
    const line = instruction.getRange().start.line + 1;
    const current = stages.at(-1);
    if (keyword === 'ARG') {
      const [name = '', value = ''] = raw.split('=', 2);
      // A stage re-declaring a global ARG without a value inherits the global default.
      const resolved = raw.includes('=')
        ? substitute(value, { ...globalArgs, ...stageArgs })
        : (globalArgs[name] ?? '');
      if (current) stageArgs[name] = resolved;
      else globalArgs[name] = resolved;
    }
    if (keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(raw.trim());
      if (!match?.[1]) throw new Error(`Dockerfile line ${line}: cannot read FROM ${raw}`);
      stages.push({
        name: match[2] ?? String(stages.length),
        base: substitute(match[1], globalArgs),
        instructions: [],
      });
      stageArgs = {};
      continue;
    }
    if (!current) continue;
    const args = substitute(raw, { ...globalArgs, ...stageArgs });
    const flags: Record<string, string> = {};
    // COPY, ADD and RUN report their flags (--from, --chown, --mount…) apart from the arguments.
    const withFlags = instruction as Partial<{ getFlags(): { getName(): string; getValue(): string | null }[] }>;
    for (const flag of withFlags.getFlags?.() ?? []) flags[flag.getName()] = flag.getValue() ?? 'true';
    const rest = args;
    let argv: string[] | undefined;
    if (keyword === 'CMD' || keyword === 'ENTRYPOINT' || keyword === 'RUN') argv = execForm(rest);
    if (keyword === 'HEALTHCHECK') {
      const cmd = /(?:^|\s)CMD\s+(.*)$/s.exec(rest);
      if (cmd?.[1]) argv = execForm(cmd[1]);
    }
    current.instructions.push({ keyword, args: rest, ...(argv ? { argv } : {}), flags, line });
  }
  return { text, globalArgs, stages, diagnostics: validate(text) };
}

/** A stage by name; throws when it does not exist. */
export function stage(dockerfile: ParsedDockerfile, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage ${name}`);
  return found;
}

/** The stage and every stage it builds on, base first. */
export function stageChain(dockerfile: ParsedDockerfile, name: string): Stage[] {
  const chain: Stage[] = [];
  for (
    let current: Stage | undefined = stage(dockerfile, name);
    current;
    current = dockerfile.stages.find((s) => s.name === current?.base)
  ) {
    chain.unshift(current);
  }
  return chain;
}

/** The instructions of a stage with one keyword. */
export function instructions(stageOf: Stage, keyword: string): Instruction[] {
  return stageOf.instructions.filter((i) => i.keyword === keyword);
}
