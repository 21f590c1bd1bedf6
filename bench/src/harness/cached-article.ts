/**
 * Creates an article through the web's API and requests its page until the web serves it from
 * its cache; resolves with the page's path and the HIT response, body unread.
 */
export async function cacheArticlePage(
  webUrl: string,
  title: string,
  body: string,
): Promise<{ path: string; hit: Response }> {
  const created = await fetch(`${webUrl}/api/articles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, body }),
  });
  if (created.status !== 201)
    throw new Error(`creating the article answered ${created.status}: ${await created.text()}`);
  const path = `/articles/${((await created.json()) as { id: number }).id}`;
  await fetch(webUrl + path).then((r) => r.arrayBuffer());
  const hit = await fetch(webUrl + path);
  if (hit.headers.get('x-cache') !== 'HIT')
    throw new Error(`the page was not cached: X-Cache ${hit.headers.get('x-cache')}`);
  return { path, hit };
}
