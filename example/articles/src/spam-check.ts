const MAX_LINKS = 2;
const BLOCKED = [/\bviagra\b/i, /\bcasino\b/i, /\bcrypto ?giveaway\b/i, /\bfree money\b/i];

/**
 * Why a comment looks like spam, or an empty list. Deliberately simple: the example shows the
 * shape of an asynchronous moderation step, not a classifier.
 */
export function spamReasons(text: string): string[] {
  const reasons: string[] = [];
  const links = text.match(/https?:\/\//gi)?.length ?? 0;
  if (links > MAX_LINKS) reasons.push(`${links} links (at most ${MAX_LINKS})`);
  for (const pattern of BLOCKED) {
    const found = pattern.exec(text);
    if (found) reasons.push(`blocked phrase "${found[0]}"`);
  }
  return reasons;
}
