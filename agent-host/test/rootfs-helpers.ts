/**
 * A container without a container engine, for the Dockerfile rehearsal (dockerfile-rehearsal.test.ts,
 * REHEARSE_IN=rootfs): the image's base rebuilt from Debian's own packages, and commands run inside a
 * stage's root as `docker build` and `docker run` would run them, with Linux's own tools.
 *
 * - The base, node:20-bookworm-slim, is what its official Dockerfile makes: Debian bookworm
 *   (debootstrap, minbase, from deb.debian.org), Node 20 and npm in /usr/local (the official image
 *   unpacks nodejs.org's tarball, which this machine cannot reach; this machine's own Node 20, the
 *   same major version, is copied instead), and the `node` user, uid and gid 1000. It is built once
 *   into .tools/rootfs/ and copied for each stage.
 * - A command runs in its own mount and PID namespaces (`unshare`): /proc of its own, /dev, /sys,
 *   the machine's resolv.conf and hosts bound in as Docker binds them, then the stage becomes the
 *   root with `pivot_root` (as runc does; a chroot would not do: the kernel refuses user namespaces,
 *   and so Chromium's sandbox, to a chrooted process), the machine's root is detached, and the command
 *   runs as the image's USER, with exactly the image's environment, in its WORKDIR. The first process
 *   is PID 1 there, as the ENTRYPOINT is in a container. Mounts vanish with the namespace. The network
 *   is the machine's (`docker run --network host`).
 *
 * Needs root, util-linux (unshare, nsenter, pivot_root), coreutils' chroot and env, and debootstrap.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** The base images the rehearsal can rebuild, by the name a FROM line gives. */
const BASES: Record<string, { suite: string; nodeMajor: number }> = {
  'node:20-bookworm-slim': { suite: 'bookworm', nodeMajor: 20 },
};

/** PATH, and the variables the official node image sets, as every RUN and `docker run` sees them. */
export const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  NODE_VERSION: process.versions.node,
};

/** What rootfs mode needs that this machine may lack; empty when it can run. */
export async function rootfsMissing(): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (chroot, mounts)');
  for (const tool of ['debootstrap', 'unshare', 'nsenter', 'pivot_root', 'chroot']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).then(
      () => true,
      () => false,
    );
    if (!found) missing.push(tool);
  }
  return missing;
}

/**
 * The base image's root folder, built on first use (about a minute, ~200 MB from the Debian mirror)
 * and kept in .tools/rootfs/<name>. DEBIAN_MIRROR picks another mirror.
 */
export async function ensureBaseRootfs(image: string): Promise<string> {
  const base = BASES[image];
  if (!base) throw new Error(`FROM ${image}: the rehearsal can rebuild only ${Object.keys(BASES).join(', ')}`);
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== base.nodeMajor) throw new Error(`FROM ${image} needs Node ${base.nodeMajor} to copy in; this machine runs ${process.versions.node}`);
  const dir = join(ROOT, '.tools/rootfs', `${image.replace(/[^\w.-]+/g, '-')}-node-${process.versions.node}`);
  if (existsSync(join(dir, '.complete'))) return dir;

  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(dirname(partial), { recursive: true });
  const mirror = process.env.DEBIAN_MIRROR ?? (await aptMirror()) ?? 'http://deb.debian.org/debian';
  await run('debootstrap', ['--variant=minbase', base.suite, partial, mirror], { maxBuffer: 64 * 1024 * 1024 });
  // Apt's sources as debian:bookworm-slim has them: the release, its updates and security updates.
  await rm(join(partial, 'etc/apt/sources.list'), { force: true });
  await writeFile(
    join(partial, 'etc/apt/sources.list.d/debian.sources'),
    [
      `Types: deb\nURIs: ${mirror}\nSuites: ${base.suite} ${base.suite}-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
      `Types: deb\nURIs: ${mirror.replace(/\/debian\/?$/, '/debian-security')}\nSuites: ${base.suite}-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    ].join('\n'),
  );
  // Docker gives every container its own resolv.conf and hosts; the image carries none of the machine's.
  await writeFile(join(partial, 'etc/resolv.conf'), '');
  // Node in /usr/local as the official image has it: the binary, npm, and npm's two commands.
  await copyFile(process.execPath, join(partial, 'usr/local/bin/node'));
  const npmDir = dirname(dirname(await realNpmCli()));
  await mkdir(join(partial, 'usr/local/lib/node_modules'), { recursive: true });
  await run('cp', ['-a', npmDir, join(partial, 'usr/local/lib/node_modules/npm')]);
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(partial, 'usr/local/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(partial, 'usr/local/bin/npx'));
  // The official image's user, same ids.
  await run('chroot', [partial, '/bin/sh', '-c', 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node']);
  await run('chroot', [partial, '/usr/local/bin/node', '--version']);
  await writeFile(join(partial, '.complete'), `${image}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}

/** The Debian mirror this machine's apt uses, if it names one (a local mirror or proxy is used the same way). */
async function aptMirror(): Promise<string | undefined> {
  const sources = await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => '');
  return /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(sources)?.[1];
}

async function realNpmCli(): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'readlink -f "$(command -v npm)"']);
  const cli = stdout.trim();
  if (!cli.endsWith('/bin/npm-cli.js')) throw new Error(`cannot find npm's own folder from ${cli}`);
  return cli;
}

/** A user of the root's /etc/passwd by name or number, as USER names it. */
export async function userIn(root: string, user: string): Promise<{ uid: number; gid: number; home: string }> {
  const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === user || uid === user) return { uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  }
  throw new Error(`USER ${user}: not in the image's /etc/passwd`);
}

/**
 * The argv that runs `argv` inside `root` as a container would: its own mount and PID namespaces,
 * `uid:gid`, exactly `env`, in `workdir`. `binds` mounts machine folders inside it for this run only.
 */
export function inRootfs(
  root: string,
  argv: string[],
  options: { workdir: string; env: Record<string, string>; uid?: number; gid?: number; binds?: [string, string][] },
): string[] {
  // $1 the root; then pairs of bind source and target up to "--"; then the command.
  const script = [
    'set -e',
    'root=$1; shift',
    // pivot_root wants the new root to be a mount point of its own.
    'mount --bind "$root" "$root"',
    'mount -t proc proc "$root/proc"',
    'mount --rbind /dev "$root/dev"',
    'mount --rbind /sys "$root/sys"',
    'for f in resolv.conf hosts; do [ -e "$root/etc/$f" ] || : > "$root/etc/$f"; mount --bind "/etc/$f" "$root/etc/$f"; done',
    'while [ "$1" != "--" ]; do mkdir -p "$root$2"; mount --bind "$1" "$root$2"; shift 2; done; shift',
    // The stage becomes / and the machine's root, stacked on it by `pivot_root . .`, is detached; the
    // chroot that follows is into / itself, only to take the USER (the image's own chroot and env).
    'cd "$root"',
    'pivot_root . .',
    'umount -l .',
    `exec chroot --userspec=${options.uid ?? 0}:${options.gid ?? 0} / /usr/bin/env -i -C "${options.workdir}" "$@"`,
  ].join('\n');
  const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
  const binds = (options.binds ?? []).flat();
  return ['unshare', '--mount', '--pid', '--fork', '--', '/bin/sh', '-c', script, 'rootfs', root, ...binds, '--', ...env, ...argv];
}

/**
 * The argv that runs `argv` beside a running container's first process (host pid `pid`), in its
 * namespaces, root and working folder, as `docker exec` (and Docker's HEALTHCHECK) does.
 */
export function execIn(pid: number, argv: string[], options: { env: Record<string, string>; uid?: number; gid?: number }): string[] {
  const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
  return [
    'nsenter',
    '-t',
    String(pid),
    '-m',
    '-p',
    '-r',
    '-w',
    '-S',
    String(options.uid ?? 0),
    '-G',
    String(options.gid ?? 0),
    '--',
    '/usr/bin/env',
    '-i',
    ...env,
    ...argv,
  ];
}

/** The host pid of the container's first process: the one child of the `unshare` that started it. */
export async function firstProcess(unsharePid: number): Promise<number> {
  const children = (await readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`expected one process under unshare ${unsharePid}, found ${children.length}`);
  return Number(children[0]);
}
