/**
 * Commands a tenant's connection may never send, whatever its Redis user may do: the ones that
 * change who the connection is or which database it works in (AUTH, HELLO … AUTH, RESET, SELECT),
 * and the server's administration. The tenant's ACL user refuses far more (every key outside its
 * prefix, every `@dangerous`/`@admin` command); this list holds even if that user were widened.
 */
const REFUSED = new Set([
  'auth',
  'reset',
  'select',
  'swapdb',
  'move',
  'acl',
  'config',
  'module',
  'debug',
  'migrate',
  'monitor',
  'sync',
  'psync',
  'replconf',
  'replicaof',
  'slaveof',
  'failover',
  'shutdown',
  'flushall',
  'flushdb',
  'cluster',
  'function',
  'save',
  'bgsave',
  'bgrewriteaof',
  'latency',
  'slowlog',
  'memory',
  'keys',
  'scan',
  'randomkey',
  'dbsize',
  'info',
  'pubsub',
]);

/** CLIENT subcommands a tenant may send (drivers name their connections). */
const CLIENT_ALLOWED = new Set(['setinfo', 'setname', 'getname', 'id']);
/** SCRIPT subcommands a tenant may send (the cache is shared: no FLUSH, no KILL). */
const SCRIPT_ALLOWED = new Set(['load', 'exists']);

/** Longest `*<n>` / `$<len>` header line and longest inline command (Redis's own inline limit). */
const MAX_HEADER = 24;
const MAX_INLINE = 64 * 1024;
/** Most arguments one command may have (Redis's own limit). */
const MAX_ARGS = 1024 * 1024;
/** Longest argument (Redis's default proto-max-bulk-len). */
const MAX_BULK = 512 * 1024 * 1024;
/** Bytes of an argument kept to decide on the command (a name, a subcommand, a HELLO option). */
const KEEP = 64;
/** Most bytes of an undecided command held back (a HELLO is a few dozen). */
const MAX_HELD = 64 * 1024;

/** What a chunk of the client's stream comes to: bytes to pass on, or why the connection ends. */
export type GuardResult = { forward: Buffer[] } | { refused: string };

type State =
  | { at: 'start' }
  | { at: 'inline'; line: number[] }
  | { at: 'count'; header: number[] }
  | { at: 'bulk-header'; header: number[] }
  | { at: 'bulk'; left: number }
  | { at: 'bulk-end'; seen: number };

/**
 * Reads the client → server half of a Redis connection (RESP arrays of bulk strings, and inline
 * commands) incrementally, in any split, and decides on every command before Redis sees it.
 * Framing is strict — exactly what Redis accepts and reads the same way, or a refusal — so the
 * guard and Redis can never disagree on where a command starts. Inline commands are passed on
 * re-encoded as arrays (after the guard's own split), so Redis runs exactly what was checked.
 * Allowed commands stream through without being held whole: only their first arguments are kept.
 */
export class RespGuard {
  #state: State = { at: 'start' };
  /** Arguments the current command still has, and those kept (cut to {@link KEEP} bytes). */
  #argsLeft = 0;
  #args: string[] = [];
  #current: number[] = [];
  /** The current command's bytes not yet passed on, while undecided. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #decided = false;

  /** Feeds one chunk from the client. */
  push(chunk: Buffer): GuardResult {
    const forward: Buffer[] = [];
    let from = 0;
    const release = (to: number) => {
      if (this.#decided) {
        if (to > from) forward.push(chunk.subarray(from, to));
      } else if (to > from) {
        this.#held.push(chunk.subarray(from, to));
        this.#heldBytes += to - from;
      }
      from = to;
    };
    for (let i = 0; i < chunk.length;) {
      const state = this.#state;
      const byte = chunk[i];
      switch (state.at) {
        case 'start':
          release(i);
          if (byte === 0x2a /* * */) {
            this.#state = { at: 'count', header: [] };
            this.#decided = false;
            this.#args = [];
            from = i;
          } else {
            this.#state = { at: 'inline', line: [] };
            from = i + 1; // inline bytes are never passed on as they came
            this.#state.line.push(byte);
          }
          i++;
          break;
        case 'inline': {
          if (byte !== 0x0a) {
            if (state.line.length >= MAX_INLINE) return { refused: 'inline command too long' };
            state.line.push(byte);
            i++;
            from = i;
            break;
          }
          i++;
          from = i;
          this.#state = { at: 'start' };
          const text = Buffer.from(state.line).toString('latin1').replace(/\r$/, '');
          if (/["'\0]/.test(text)) return { refused: 'quoted inline commands are not accepted' };
          const args = text.split(/[ \t\r\v\f]+/).filter((a) => a.length > 0);
          if (args.length === 0) break;
          const why = refusal(args);
          if (why !== null) return { refused: why };
          forward.push(encodeArray(args));
          break;
        }
        case 'count':
        case 'bulk-header': {
          const header = state.header;
          if (byte !== 0x0a) {
            if (header.length >= MAX_HEADER) return { refused: 'malformed command' };
            header.push(byte);
            i++;
            break;
          }
          i++;
          // `*<n>\r\n` / `$<len>\r\n`: digits only, the \r before the \n.
          const text = Buffer.from(header).toString('latin1');
          const digits = state.at === 'count' ? text.slice(0, -1) : text.slice(1, -1);
          if (
            text[text.length - 1] !== '\r' ||
            (state.at === 'bulk-header' && text[0] !== '$') ||
            !/^(?:0|[1-9][0-9]*)$/.test(digits)
          )
            return { refused: 'malformed command' };
          const n = Number(digits);
          if (state.at === 'count') {
            if (n < 1 || n > MAX_ARGS) return { refused: 'malformed command' };
            this.#argsLeft = n;
            this.#state = { at: 'bulk-header', header: [] };
          } else {
            if (n > MAX_BULK) return { refused: 'argument too long' };
            this.#current = [];
            this.#state = { at: 'bulk', left: n };
          }
          break;
        }
        case 'bulk': {
          const take = Math.min(state.left, chunk.length - i);
          if (!this.#decided && this.#current.length < KEEP)
            for (let k = 0; k < take && this.#current.length < KEEP; k++)
              this.#current.push(chunk[i + k]);
          state.left -= take;
          i += take;
          if (state.left === 0) this.#state = { at: 'bulk-end', seen: 0 };
          break;
        }
        case 'bulk-end': {
          if (byte !== (state.seen === 0 ? 0x0d : 0x0a)) return { refused: 'malformed command' };
          i++;
          if (state.seen === 0) {
            state.seen = 1;
            break;
          }
          this.#argsLeft--;
          if (!this.#decided) this.#args.push(Buffer.from(this.#current).toString('latin1'));
          this.#state = this.#argsLeft === 0 ? { at: 'start' } : { at: 'bulk-header', header: [] };
          // A command is decided on its name, CLIENT and SCRIPT on their subcommand, HELLO once complete
          // (its AUTH option may come anywhere).
          const complete = this.#argsLeft === 0;
          const name = this.#args[0].toLowerCase();
          const enough =
            complete ||
            (name === 'client' || name === 'script' ? this.#args.length >= 2 : name !== 'hello');
          if (!this.#decided && enough) {
            const why = refusal(this.#args, complete);
            if (why !== null) return { refused: why };
            this.#decided = true;
            forward.push(...this.#held);
            this.#held = [];
            this.#heldBytes = 0;
          }
          break;
        }
      }
    }
    if (this.#state.at !== 'inline') release(chunk.length);
    if (this.#heldBytes > MAX_HELD) return { refused: 'command too long' };
    return { forward };
  }
}

/** Why `args` (name first; `complete` when every argument is there) is refused, or null. */
function refusal(args: string[], complete = true): string | null {
  const name = args[0].toLowerCase();
  if (REFUSED.has(name)) return `${name.toUpperCase()} is not allowed`;
  if (name === 'client' && !CLIENT_ALLOWED.has((args[1] ?? '').toLowerCase()))
    return 'CLIENT is not allowed but to name the connection';
  if (name === 'script' && !SCRIPT_ALLOWED.has((args[1] ?? '').toLowerCase()))
    return 'SCRIPT is not allowed but LOAD and EXISTS';
  if (name === 'hello' && complete && args.slice(1).some((a) => a.toLowerCase() === 'auth'))
    return 'HELLO with AUTH is not allowed';
  return null;
}

/** `args` as a RESP array of bulk strings. */
export function encodeArray(args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'latin1');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
