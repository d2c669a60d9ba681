/**
 * Parses WWW-Authenticate challenges (RFC 9110 11.6.1): `Bearer realm="...",service="...",scope="..."`.
 * Several challenges may share one header; parameter names are case-insensitive.
 */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = typeof header === "string" ? header : header.join(", ");
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skip = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === ",")) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  while (i < text.length) {
    skip();
    const start = i;
    const name = token();
    if (name === undefined) break;
    while (text[i] === " ") i++;
    if (text[i] === "=") {
      // A parameter of the current challenge.
      i++;
      while (text[i] === " ") i++;
      const value = text[i] === '"' ? quoted() : bare();
      const current = out[out.length - 1];
      if (current) current.params[name.toLowerCase()] = value;
      continue;
    }
    if (i === start) break;
    out.push({ scheme: name.toLowerCase(), params: {} });
  }
  return out;

  /** Unquoted values are read leniently up to the next comma: some servers send bare URLs. */
  function bare(): string {
    const startValue = i;
    while (i < text.length && text[i] !== "," && text[i] !== " ") i++;
    return text.slice(startValue, i);
  }

  function quoted(): string {
    let value = "";
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\" && i + 1 < text.length) i++;
      value += text[i];
      i++;
    }
    i++;
    return value;
  }
}

export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme.toLowerCase());
}
