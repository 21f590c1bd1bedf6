import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths.js';

// The docs are many pages that link to each other and to the code. A page moved or a heading
// renamed breaks links silently on GitHub, so every relative link and image of every Markdown
// file must name a file that exists and, for a Markdown file with #anchor, one of its headings.

/** One link or image target found in a Markdown file. */
interface Link {
  readonly line: number;
  readonly target: string;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

/** The file's lines with fenced code blocks blanked, so their contents are never read as Markdown. */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = FENCE.exec(line)?.[1];
    if (fence === undefined) {
      if (marker) fence = marker;
      return marker ? '' : line;
    }
    // A fence closes with a run of the same character at least as long as the one that opened it.
    if (marker?.startsWith(fence)) fence = undefined;
    return '';
  });
}

/** Removes inline code spans, whose brackets and parentheses are not links. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)[^`]*?\1/g, '');
}

/** Inline links and images `[x](target "title")` and reference definitions `[x]: target`. */
function findLinks(text: string): Link[] {
  const links: Link[] = [];
  proseLines(text).forEach((raw, index) => {
    const line = withoutCodeSpans(raw);
    for (const match of line.matchAll(/\]\(\s*(?:<([^>]*)>|([^)\s]+))(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g))
      links.push({ line: index + 1, target: match[1] ?? match[2] ?? '' });
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line);
    if (definition?.[1]) links.push({ line: index + 1, target: definition[1] });
  });
  return links;
}

/** GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped, spaces as hyphens. */
function headingSlug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a Markdown file defines: its ATX headings (repeats numbered as GitHub does) and HTML ids. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = headingSlug(heading);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) if (match[1]) anchors.add(match[1]);
  }
  return anchors;
}

/** What is wrong with one link of `file` (absolute path) inside `root`, or undefined when it resolves. */
async function linkProblem(root: string, file: string, target: string): Promise<string | undefined> {
  // http:, https:, mailto: and the like leave the repository.
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  // GitHub resolves a leading slash against the repository's root.
  const path =
    pathPart === '' ? file : pathPart.startsWith('/') ? join(root, pathPart) : resolve(dirname(file), pathPart);
  if (relative(root, path).startsWith('..')) return `${target} leaves the repository`;
  if (!existsSync(path)) return `${target}: no such file`;
  if (anchor === undefined || anchor === '' || !path.endsWith('.md') || statSync(path).isDirectory()) return undefined;
  const anchors = anchorsOf(await readFile(path, 'utf8'));
  return anchors.has(anchor) ? undefined : `${target}: ${relative(root, path)} has no heading #${anchor}`;
}

/** Every broken link of the given Markdown files (paths relative to root), as `file:line: problem`. */
async function brokenLinks(root: string, files: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    const absolute = join(root, file);
    for (const { line, target } of findLinks(await readFile(absolute, 'utf8'))) {
      const problem = await linkProblem(root, absolute, target);
      if (problem) problems.push(`${file}:${line}: ${problem}`);
    }
  }
  return problems;
}

/** The repository's Markdown files: tracked ones and new ones not ignored (so a page not yet added counts). */
async function markdownFiles(): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', '*.md'],
    { cwd: repoRoot },
  );
  return [...new Set(stdout.split('\0').filter(Boolean))].filter((file) => existsSync(join(repoRoot, file))).sort();
}

describe('Markdown links', () => {
  it('resolve, in every Markdown file of the repository', async () => {
    const files = await markdownFiles();
    expect(files).toContain('README.md');
    expect(await brokenLinks(repoRoot, files)).toEqual([]);
  });

  describe('the checker', () => {
    let root = '';

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'flotilla-markdown-links-'));
      await mkdir(join(root, 'docs'));
      await writeFile(join(root, 'picture.png'), '');
      await writeFile(
        join(root, 'docs', 'page.md'),
        [
          '# A page',
          '## Local in one command — `npm start`',
          '## Notes',
          '## Notes',
          '<a id="custom"></a>',
          '```md',
          '# Not a heading',
          '```',
        ].join('\n'),
      );
    });

    afterAll(async () => {
      await rm(root, { recursive: true, force: true });
    });

    async function problems(markdown: string): Promise<string[]> {
      await writeFile(join(root, 'README.md'), markdown);
      return await brokenLinks(root, ['README.md']);
    }

    it('accepts links and images that resolve, and leaves other sites alone', async () => {
      const markdown = [
        '![a picture](picture.png) and [a page](docs/page.md "title") and [the folder](docs/)',
        '[anchor](docs/page.md#local-in-one-command--npm-start), [repeat](docs/page.md#notes-1),',
        '[html](docs/page.md#custom), [root](/docs/page.md), [web](https://example.com/x.md), [mail](mailto:a@b.c)',
        '[ref]: docs/page.md',
        '`[not a link](missing.md)`',
        '```',
        '[not a link either](missing.md)',
        '```',
      ].join('\n');
      expect(await problems(markdown)).toEqual([]);
    });

    it('reports a missing file, a missing heading and a path out of the repository, with the line', async () => {
      const markdown = [
        'Intro.',
        '[gone](docs/gone.md) ![gone too](docs/gone.png)',
        '[no heading](docs/page.md#not-a-heading) [fenced](docs/page.md#not-a-heading-1)',
        '[outside](../elsewhere.md)',
        '[ref]: docs/missing.md',
      ].join('\n');
      expect(await problems(markdown)).toEqual([
        'README.md:2: docs/gone.md: no such file',
        'README.md:2: docs/gone.png: no such file',
        'README.md:3: docs/page.md#not-a-heading: docs/page.md has no heading #not-a-heading',
        'README.md:3: docs/page.md#not-a-heading-1: docs/page.md has no heading #not-a-heading-1',
        'README.md:4: ../elsewhere.md leaves the repository',
        'README.md:5: docs/missing.md: no such file',
      ]);
    });

    it("checks a page's own anchors", async () => {
      expect(await problems('# Title\n[up](#title) [down](#nowhere)')).toEqual([
        'README.md:2: #nowhere: README.md has no heading #nowhere',
      ]);
    });
  });
});
