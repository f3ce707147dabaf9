import type { Command } from 'commander';
import { spinnerAllowed } from '../spinner.js';
import { WarmflowError } from '../../errors.js';
import { profile, type ProfileOptions } from '../../profiler/profile.js';
import { formatDcp } from '../../profiler/format-dcp.js';
import type { SourceFormat } from '../../sources/source.js';
import { profileLive } from '../../profiler/profile-live.js';
import { isLiveUrl, parseDuration } from '../../sources/live/live-url.js';

interface ProfileFlags {
  json?: boolean;
  sample?: number;
  reservoir?: number;
  seed?: number;
  timeField?: string;
  window?: number;
  format?: SourceFormat;
  maxRecordBytes?: number;
  duration?: number;
  from?: 'now' | 'start';
}

function durationFlag(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new WarmflowError(
      'E_INVALID_OPTION',
      `--duration must be a duration like 30s, got "${value}"`,
    );
  return ms;
}

function fromFlag(value: string): 'now' | 'start' {
  if (value === 'now' || value === 'start') return value;
  throw new WarmflowError('E_INVALID_OPTION', `--from must be now or start, got "${value}"`);
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new WarmflowError(
        'E_INVALID_OPTION',
        `${flag} must be a positive integer, got "${value}"`,
      );
    }
    return n;
  };
}

function format(value: string): SourceFormat {
  if (value === 'jsonl' || value === 'csv' || value === 'tsv' || value === 'json') return value;
  throw new WarmflowError(
    'E_INVALID_OPTION',
    `--format must be jsonl, csv, tsv or json, got "${value}"`,
  );
}

/**
 * A progress line on a terminal: shown only once the input has taken a second, with
 * bytes read and records per second; never when piped or with --json.
 */
async function withProgress<T>(
  enabled: boolean,
  run: (
    onBytes: (read: number, total: number | undefined) => void,
    onRecords: (n: number) => void,
  ) => Promise<T>,
): Promise<T> {
  if (!enabled)
    return run(
      () => undefined,
      () => undefined,
    );
  const { default: ora } = await import('ora');
  const started = Date.now();
  let read = 0;
  let total: number | undefined;
  let records = 0;
  let spinner: ReturnType<typeof ora> | undefined;
  const render = () => {
    const seconds = (Date.now() - started) / 1000;
    const mb = (read / 1024 ** 2).toFixed(1);
    const of = total === undefined ? '' : ` of ${(total / 1024 ** 2).toFixed(1)}`;
    return `profiling: ${mb}${of} MiB read, ${records.toLocaleString('en-US')} records, ${Math.round(records / seconds).toLocaleString('en-US')} records/s`;
  };
  const timer = setInterval(() => {
    if (Date.now() - started < 1000) return;
    // One line, never wider than the terminal: ora clears by counting wrapped lines.
    const width = Math.max(20, (process.stderr.columns || 80) - 4);
    spinner ??= ora({ stream: process.stderr, discardStdin: false }).start();
    spinner.text = render().slice(0, width);
  }, 200);
  try {
    return await run(
      (r, t) => {
        read = r;
        total = t;
      },
      (n) => {
        records = n;
      },
    );
  } finally {
    clearInterval(timer);
    spinner?.stop();
  }
}

/** `warmflow profile SOURCE`: the Data Characteristic Profile of a file or standard input. */
export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description(
      'profile a data source (JSON Lines, CSV/TSV, JSON array, .gz, "-" for stdin) and print its DCP',
    )
    .argument(
      '<source>',
      'file to read, "-" for standard input, or a live stream URL (nats://HOST:PORT/STREAM?subject=…, redis://HOST:PORT/DB?stream=KEY)',
    )
    .option(
      '--duration <time>',
      'live stream: how long to read (e.g. 30s; default 30s)',
      durationFlag,
    )
    .option(
      '--from <where>',
      'live stream: now (only what arrives, default) or start (from the first stored message)',
      fromFlag,
    )
    .option('--json', 'print the DCP document as JSON')
    .option('--sample <n>', 'profile only the first N records', positiveInt('--sample'))
    .option(
      '--reservoir <n>',
      'profile a uniform random sample of N records over the whole input',
      positiveInt('--reservoir'),
    )
    .option('--seed <n>', 'seed of the reservoir sample (reproducible runs)', positiveInt('--seed'))
    .option(
      '--time-field <path>',
      'event-time field (dotted path) for records_per_second; detected when clear',
    )
    .option(
      '--window <n>',
      'records per schema window for schema_evolution_probability',
      positiveInt('--window'),
      1000,
    )
    .option(
      '--format <format>',
      'jsonl, csv, tsv or json (default: from the extension, else sniffed)',
      format,
    )
    .option(
      '--max-record-bytes <n>',
      'longest record (line) accepted; a longer one stops the read with E_RECORD_TOO_LONG (default 64 MiB, or WARMFLOW_MAX_RECORD_BYTES)',
      positiveInt('--max-record-bytes'),
    )
    .action(async (source: string, flags: ProfileFlags) => {
      if (flags.sample !== undefined && flags.reservoir !== undefined) {
        throw new WarmflowError('E_INVALID_OPTION', '--sample and --reservoir cannot be combined', {
          hint: '--sample N takes the first N records, --reservoir N a uniform sample of the whole input',
        });
      }
      if (isLiveUrl(source)) {
        const live = await profileLive(source, {
          durationMs: flags.duration ?? 30_000,
          from: flags.from ?? 'now',
          window: flags.window ?? 1000,
          ...(flags.sample !== undefined ? { maxRecords: flags.sample } : {}),
          ...(flags.timeField !== undefined ? { timeField: flags.timeField } : {}),
        });
        const shown = live.lag === undefined ? live.dcp : { ...live.dcp, lag: live.lag };
        process.stdout.write(
          flags.json === true
            ? JSON.stringify(shown, null, 2) + '\n'
            : formatDcp(live.dcp, source) +
                (live.lag === undefined ? '' : `consumer lag: ${live.lag} messages\n`),
        );
        return;
      }
      if (flags.duration !== undefined || flags.from !== undefined)
        throw new WarmflowError(
          'E_INVALID_OPTION',
          '--duration and --from apply to live stream URLs only',
          {
            hint: 'a file is read to its end (or to --sample N records)',
          },
        );
      const options: ProfileOptions = { window: flags.window ?? 1000 };
      if (flags.sample !== undefined) options.sample = flags.sample;
      if (flags.reservoir !== undefined) options.reservoir = flags.reservoir;
      if (flags.seed !== undefined) options.seed = flags.seed;
      if (flags.timeField !== undefined) options.timeField = flags.timeField;
      if (flags.format !== undefined) options.format = flags.format;
      if (flags.maxRecordBytes !== undefined) options.maxRecordBytes = flags.maxRecordBytes;
      // A terminal that reports 0 columns (some pseudo-terminals) would make ora count
      // infinitely many wrapped lines to clear: no progress there.
      const tty = spinnerAllowed() && flags.json !== true;
      const dcp = await withProgress(tty, (onProgress, onRecords) =>
        profile(source, { ...options, onProgress, onRecords }),
      );
      process.stdout.write(
        flags.json === true
          ? JSON.stringify(dcp, null, 2) + '\n'
          : formatDcp(dcp, source === '-' ? 'stdin' : source),
      );
    });
}
