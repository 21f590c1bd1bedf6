import { request } from 'node:http';

/**
 * Status code of a GET on `url`, or undefined when nothing answers in time. Connections are
 * not kept alive, so polling leaves no sockets behind.
 */
export async function httpStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return await new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}
