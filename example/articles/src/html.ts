import escapeHtml from 'escape-html';
import type { Article, ArticleSummary, Comment } from './schemas.js';

// Server-rendered HTML with no template engine: the pages are small, and every interpolated
// value goes through escapeHtml.

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
a{color:#0b5cad}header a{text-decoration:none;color:inherit}.card{border-bottom:1px solid #ddd;padding:.5rem 0}
aside{background:#f5f5f5;padding:.5rem 1rem;margin:1rem 0}.meta{color:#666;font-size:.9em}
form{display:grid;gap:.5rem;margin-top:1rem}textarea{min-height:5rem}`;

/** A whole HTML document around `main`. */
export function renderLayout(title: string, main: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Flotilla</title><style>${STYLE}</style></head>
<body><header><h1><a href="/">Flotilla</a></h1></header>
<main>${main}</main>
<footer class="meta"><a href="/cache">cache statistics</a> · <a href="/openapi.json">API</a></footer>
</body></html>
`;
}

/** The card of one article on the home page: a fragment cached on its own. */
export function renderCard(summary: ArticleSummary): string {
  const comments = summary.commentCount === 1 ? '1 comment' : `${summary.commentCount} comments`;
  return `<article class="card"><h2><a href="/articles/${summary.id}">${escapeHtml(summary.title)}</a></h2>
<p>${escapeHtml(summary.excerpt)}</p><p class="meta">${comments} · updated ${escapeHtml(summary.updatedAt)}</p></article>`;
}

/** The "most discussed" box: an aggregate over every article, refreshed in the background. */
export function renderMostDiscussed(top: readonly ArticleSummary[], computedAt: string): string {
  const items = top
    .map((s) => `<li><a href="/articles/${s.id}">${escapeHtml(s.title)}</a> (${s.commentCount})</li>`)
    .join('');
  return `<aside><h3>Most discussed</h3><ol>${items}</ol><p class="meta">as of ${escapeHtml(computedAt)}</p></aside>`;
}

/** The home page from its fragments. */
export function renderHome(cards: readonly string[], mostDiscussed: string): string {
  const list = cards.length > 0 ? cards.join('\n') : '<p>No articles yet.</p>';
  return renderLayout('Articles', `${mostDiscussed}\n${list}`);
}

/** An article with its comments and a form to add one. */
export function renderArticlePage(article: Article, comments: readonly Comment[]): string {
  const paragraphs = article.body
    .split(/\n\s*\n/)
    .map((p) => `<p>${escapeHtml(p.trim())}</p>`)
    .join('\n');
  const list = comments
    .map(
      (c) =>
        `<li id="comment-${c.id}"><strong>${escapeHtml(c.author)}</strong> <span class="meta">${escapeHtml(c.createdAt)}</span><br>${escapeHtml(c.text)}</li>`,
    )
    .join('\n');
  return renderLayout(
    article.title,
    `<article><h2>${escapeHtml(article.title)}</h2><p class="meta">version ${article.version} · updated ${escapeHtml(article.updatedAt)}</p>
${paragraphs}</article>
<section><h3>Comments (${comments.length})</h3><ul>${list}</ul>
<form method="post" action="/articles/${article.id}/comments">
<input name="author" placeholder="Your name" maxlength="80" required>
<textarea name="text" placeholder="Your comment" maxlength="2000" required></textarea>
<button>Post comment</button></form></section>`,
  );
}
