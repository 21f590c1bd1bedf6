/** The URL with any password replaced by `***`, safe to print in a banner or a log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL we can parse; say nothing rather than risk printing a secret.
    return '<unparseable URL>';
  }
}
