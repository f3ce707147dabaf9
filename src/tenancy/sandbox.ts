import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WarmflowError } from '../errors.js';

/**
 * How a process that runs tenant code is confined:
 * - `bwrap`: bubblewrap — own user, PID, network, IPC, UTS and mount namespaces, no
 *   capabilities; the file system is the system's `/usr` (read-only), warmflow's installation
 *   and the granted code (read-only) and the tenant's writable folders, nothing else.
 * - `none`: no confinement (the local CLI: one user running their own code).
 */
export type SandboxMechanism = 'bwrap' | 'none';

/** One confined process: what it may read and write, where it starts, as whom. */
export interface SandboxSpec {
  mechanism: SandboxMechanism;
  /** Folders mounted read-write (the tenant's area). */
  writable: string[];
  /** Folders (or files) mounted read-only: code, shared roots, warmflow itself. */
  readable: string[];
  /** Working directory, inside a writable folder. */
  cwd: string;
}

/** The uid and gid a confined process has inside its user namespace (it maps to the server's outside). */
export const SANDBOX_UID = 1000;

/** Where a system tool is, if installed. */
function findTool(name: string): string | null {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin', '/usr/sbin']) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** The system's programs and libraries, read-only: all a confined process sees of the host's `/`. */
const SYSTEM_MOUNTS = [
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/bin',
  '/bin',
  '--symlink',
  'usr/lib',
  '/lib',
] as const;

let probed: { bwrap: string | null; works: boolean } | undefined;

/** Whether bubblewrap is installed and can make namespaces on this machine (probed once). */
export function bwrapAvailable(): boolean {
  if (probed === undefined) {
    const bwrap = findTool('bwrap');
    let works = false;
    if (bwrap !== null) {
      try {
        execFileSync(
          bwrap,
          [
            '--unshare-all',
            ...SYSTEM_MOUNTS,
            '--symlink',
            'usr/lib64',
            '/lib64',
            '--',
            '/usr/bin/true',
          ],
          { stdio: 'ignore', timeout: 5000 },
        );
        works = true;
      } catch {
        works = false;
      }
    }
    probed = { bwrap, works };
  }
  return probed.works;
}

/**
 * Resolves the mechanism asked for: `auto` is bwrap when it works here, else none; asking for
 * `bwrap` where it does not work is an error naming what to install.
 */
export function resolveMechanism(wanted: SandboxMechanism | 'auto'): SandboxMechanism {
  if (wanted === 'none') return 'none';
  if (bwrapAvailable()) return 'bwrap';
  if (wanted === 'auto') return 'none';
  throw new WarmflowError('E_SANDBOX', 'bubblewrap is not available on this machine', {
    hint: 'install it (Debian: apt-get install bubblewrap), or start the server with --sandbox none',
  });
}

/**
 * The folders a confined process needs to run warmflow's worker at all: the installation
 * (compiled or source tree) and its `node_modules` (followed through symlinks), and Node.
 */
export function installPaths(): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // src/tenancy/ or dist/src/tenancy/: the package root is where package.json is.
  let root = here;
  while (!existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root)
    root = path.dirname(root);
  const paths = new Set<string>([root]);
  const modules = path.join(root, 'node_modules');
  if (existsSync(modules)) paths.add(realpathSync(modules));
  paths.add(path.dirname(realpathSync(process.execPath)));
  return [...paths];
}

/** The environment a process running tenant code starts with: nothing from the server's. */
export function minimalEnv(
  cwd: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: cwd,
    TMPDIR: cwd,
    LANG: 'C.UTF-8',
    NODE_ENV: 'production',
  };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

/**
 * Wraps `command args` so it runs confined as `spec` says. With `none` the command is returned
 * as is. The caller still passes `cwd` and the minimal environment to `spawn`; bwrap keeps the
 * inherited file descriptors, so an IPC channel to the parent survives.
 */
export function confineCommand(
  command: string,
  args: string[],
  spec: SandboxSpec,
): { command: string; args: string[] } {
  if (spec.mechanism === 'none') return { command, args };
  if (!bwrapAvailable() || probed?.bwrap == null) {
    throw new WarmflowError('E_SANDBOX', 'bubblewrap is not available on this machine', {
      hint: 'install it (Debian: apt-get install bubblewrap)',
    });
  }
  const wrap: string[] = [
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--cap-drop',
    'ALL',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    ...SYSTEM_MOUNTS,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
  ];
  if (existsSync('/usr/lib64')) wrap.push('--symlink', 'usr/lib64', '/lib64');
  // Name resolution and time zones only; no secrets live in these.
  for (const file of ['/etc/hosts', '/etc/localtime', '/etc/nsswitch.conf'])
    if (existsSync(file)) wrap.push('--ro-bind', file, file);
  const readable = [...new Set(spec.readable.map((p) => path.resolve(p)))].filter((p) =>
    existsSync(p),
  );
  // Longer paths after shorter ones, so a bind inside another one is not hidden by it.
  for (const p of readable.sort((a, b) => a.length - b.length)) wrap.push('--ro-bind', p, p);
  for (const p of spec.writable) wrap.push('--bind', p, p);
  wrap.push('--chdir', spec.cwd, '--');
  return { command: probed.bwrap, args: [...wrap, command, ...args] };
}
