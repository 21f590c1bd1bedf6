/**
 * The baseline of the page-cache benchmark, run as a process of its own like the web: a bare
 * node:http server answering every GET with the same bytes the web's cached page holds.
 * Configured by PAGE_FILE (the bytes), PAGE_TYPE (their content type) and PORT; with
 * PAGE_HEADERS_FILE (a JSON list of [name, value] pairs) it sends those headers instead of
 * PAGE_TYPE alone, so that its responses are byte for byte the web's.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const file = process.env['PAGE_FILE'];
const port = Number(process.env['PORT']);
if (!file || !Number.isInteger(port)) throw new Error('bare-page-server: PAGE_FILE and PORT must be set');
const body = readFileSync(file);
const type = process.env['PAGE_TYPE'] ?? 'text/html; charset=utf-8';
const headersFile = process.env['PAGE_HEADERS_FILE'];
const headers = headersFile
  ? (JSON.parse(readFileSync(headersFile, 'utf8')) as [string, string][]).flat()
  : ['content-type', type, 'content-length', String(body.length)];

const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 95_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
