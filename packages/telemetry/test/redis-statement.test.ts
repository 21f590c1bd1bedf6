import { describe, expect, it } from 'vitest';
import { redisStatement } from '../src/redis-statement.js';

describe('redisStatement', () => {
  it('keeps the command and its key, and counts the rest', () => {
    expect(redisStatement('set', ['cache:{pages}:/', '<html>secret</html>', 'PX', 1000])).toBe(
      'set cache:{pages}:/ [3 other arguments]',
    );
    expect(redisStatement('get', ['cache:{pages}:/'])).toBe('get cache:{pages}:/');
    expect(redisStatement('hgetall', [Buffer.from('job:1')])).toBe('hgetall job:1');
    expect(redisStatement('ping', [])).toBe('ping');
  });

  it('records only the name of a script call, whose arguments carry job payloads', () => {
    expect(redisStatement('evalsha', ['0123abcd', 2, 'k1', 'k2', '{"comment":"private"}'])).toBe('evalsha');
    expect(redisStatement('EVAL', ['return 1', 0])).toBe('EVAL');
  });
});
