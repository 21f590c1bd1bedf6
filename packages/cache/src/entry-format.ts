/**
 * The layout of one entry in Redis: a short ASCII header, then the codec's bytes, in ONE string
 * so a value is one key and a multi-key read is one command.
 *
 *   FC1,<storedAt>,<freshUntil>,<staleUntil>,<tagCount>,{<tagByteLength>:<tag><generation>,}<value>
 *
 * Times are epoch milliseconds; each tag carries the generation its counter had when the entry
 * was written. The header is text so the Lua scripts can read it with plain string functions;
 * the byte length before each tag lets a tag contain any character, including `,` and `:`.
 */
export interface StoredEntry {
  readonly storedAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly tags: readonly string[];
  /** The codec's bytes (a view into the raw reply, not a copy). */
  readonly value: Buffer;
}

const MAGIC = 'FC1,';
const COMMA = 0x2c;
const COLON = 0x3a;

/** Reads an entry written by the write script; undefined when the bytes are not one. */
export function parseEntry(raw: Buffer): StoredEntry | undefined {
  if (raw.length < MAGIC.length || raw.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  let pos = MAGIC.length;
  const readNumber = (): number => {
    const end = raw.indexOf(COMMA, pos);
    if (end < 0) return Number.NaN;
    const value = Number(raw.toString('latin1', pos, end));
    pos = end + 1;
    return value;
  };
  const storedAt = readNumber();
  const freshUntil = readNumber();
  const staleUntil = readNumber();
  const tagCount = readNumber();
  if (
    !Number.isFinite(storedAt) ||
    !Number.isFinite(freshUntil) ||
    !Number.isFinite(staleUntil) ||
    !Number.isInteger(tagCount)
  ) {
    return undefined;
  }
  const tags: string[] = [];
  for (let i = 0; i < tagCount; i++) {
    const colon = raw.indexOf(COLON, pos);
    if (colon < 0) return undefined;
    const length = Number(raw.toString('latin1', pos, colon));
    const tagEnd = colon + 1 + length;
    const genEnd = raw.indexOf(COMMA, tagEnd);
    if (!Number.isInteger(length) || genEnd < 0) return undefined;
    tags.push(raw.toString('utf8', colon + 1, tagEnd));
    pos = genEnd + 1;
  }
  return { storedAt, freshUntil, staleUntil, tags, value: raw.subarray(pos) };
}

/**
 * Lua helpers shared by the scripts, the counterpart of {@link parseEntry}:
 * `entry_tags(raw)` returns a flat list {tag1, generation1, tag2, …} or nil for foreign bytes;
 * `entry_header(storedAt, freshUntil, staleUntil, tags, generations)` builds a header.
 */
export const ENTRY_FORMAT_LUA = `
local function entry_tags(raw)
  if string.sub(raw, 1, 4) ~= 'FC1,' then return nil end
  local pos = 5
  for _ = 1, 3 do
    local comma = string.find(raw, ',', pos, true)
    if not comma then return nil end
    pos = comma + 1
  end
  local comma = string.find(raw, ',', pos, true)
  if not comma then return nil end
  local count = tonumber(string.sub(raw, pos, comma - 1))
  if not count then return nil end
  pos = comma + 1
  local out = {}
  for _ = 1, count do
    local colon = string.find(raw, ':', pos, true)
    if not colon then return nil end
    local length = tonumber(string.sub(raw, pos, colon - 1))
    if not length then return nil end
    local tag = string.sub(raw, colon + 1, colon + length)
    pos = colon + length + 1
    comma = string.find(raw, ',', pos, true)
    if not comma then return nil end
    out[#out + 1] = tag
    out[#out + 1] = string.sub(raw, pos, comma - 1)
    pos = comma + 1
  end
  return out
end

local function entry_header(storedAt, freshUntil, staleUntil, tags, generations)
  local parts = {'FC1,', storedAt, ',', freshUntil, ',', staleUntil, ',', tostring(#tags), ','}
  for i = 1, #tags do
    parts[#parts + 1] = tostring(string.len(tags[i])) .. ':' .. tags[i] .. generations[i] .. ','
  end
  return table.concat(parts)
end
`;
