/**
 * The exact fix for each reason a host cannot run sandboxes: commands to paste, files to
 * write, and how to keep the change after a reboot. Pure text, no I/O: hostReadiness picks
 * which fix applies, the server and the extension only show it.
 */
import { shellQuote } from './shellQuote';

export interface FixStep {
  /** What the step does, in a sentence. */
  say: string;
  /** One shell command to paste, when the step is one. */
  run?: string;
  /** A file the step writes or edits (shown in full). */
  file?: { path: string; content: string };
  /** Instead of the steps before it (another distribution, a broader switch, another way). */
  alternative?: boolean;
}

export interface Fix {
  summary: string;
  steps: FixStep[];
}

/**
 * The newest bwrap option the server passes is --size (the size of /dev/shm's tmpfs), added in
 * bubblewrap 0.7.0 (containers/bubblewrap commit 494b269); older versions refuse the command
 * line. (Ubuntu 22.04 ships 0.6.1; Debian 12 ships 0.8.0.)
 */
export const MIN_BWRAP_VERSION = '0.7.0';

export const APPARMOR_PROFILE_PATH = '/etc/apparmor.d/agentfense-bwrap';

export type SysctlName =
  'kernel.unprivileged_userns_clone' | 'user.max_user_namespaces' | 'kernel.apparmor_restrict_unprivileged_userns';

/** The value each switch needs for unprivileged user namespaces. */
const SYSCTL_ALLOWING: Record<SysctlName, string> = {
  'kernel.unprivileged_userns_clone': '1',
  // The kernel's default scales with memory; 10000 is far above what sandboxes use.
  'user.max_user_namespaces': '10000',
  'kernel.apparmor_restrict_unprivileged_userns': '0',
};

const REMOTE_SERVER_STEP: FixStep = {
  alternative: true,
  say: 'Or run the AgentFense server on a Linux host that can, and point the extension at it with the agentfense.endpoint setting.',
};

export function installBwrapFix(): Fix {
  return {
    summary: 'install bubblewrap (the package is called bubblewrap everywhere)',
    steps: [
      { say: 'Debian, Ubuntu:', run: 'sudo apt-get install -y bubblewrap' },
      { say: 'Fedora, RHEL, CentOS Stream:', run: 'sudo dnf install -y bubblewrap', alternative: true },
      {
        say: 'Then make sure the directory holding bwrap is on the PATH the server (or VS Code) starts with: the server looks for bwrap on PATH only.',
      },
      REMOTE_SERVER_STEP,
    ],
  };
}

export function upgradeBwrapFix(): Fix {
  return {
    summary: `upgrade bubblewrap to ${MIN_BWRAP_VERSION} or newer`,
    steps: [
      { say: 'Debian, Ubuntu:', run: 'sudo apt-get update && sudo apt-get install -y --only-upgrade bubblewrap' },
      { say: 'Fedora, RHEL, CentOS Stream:', run: 'sudo dnf upgrade -y bubblewrap', alternative: true },
      {
        say: `If the distribution has nothing newer, build bubblewrap ${MIN_BWRAP_VERSION}+ from https://github.com/containers/bubblewrap/releases into a directory earlier on PATH.`,
        alternative: true,
      },
      REMOTE_SERVER_STEP,
    ],
  };
}

export function sysctlFix(name: SysctlName): Fix {
  const value = SYSCTL_ALLOWING[name];
  const confFile = '/etc/sysctl.d/60-agentfense-userns.conf';
  return {
    summary: `set ${name}=${value}`,
    steps: [
      { say: 'Now:', run: `sudo sysctl -w ${name}=${value}` },
      {
        say: 'After every reboot too:',
        run: `echo ${shellQuote(`${name} = ${value}`)} | sudo tee -a ${confFile}`,
        file: { path: confFile, content: `${name} = ${value}\n` },
      },
      REMOTE_SERVER_STEP,
    ],
  };
}

/**
 * Ubuntu 23.10+ lets a program create user namespaces only when an AppArmor profile grants it
 * `userns`. This profile grants it to bwrap alone (the system-wide switch stays on for every
 * other program); profiles in /etc/apparmor.d are loaded again at boot.
 */
export function apparmorProfile(bwrapPath: string): string {
  const target = /[\s"]/.test(bwrapPath) ? `"${bwrapPath.replace(/"/g, '\\"')}"` : bwrapPath;
  return [
    'abi <abi/4.0>,',
    'include <tunables/global>',
    '',
    `profile agentfense-bwrap ${target} flags=(unconfined) {`,
    '  userns,',
    '}',
    '',
  ].join('\n');
}

export function apparmorFix(bwrapPath: string): Fix {
  const content = apparmorProfile(bwrapPath);
  const lines = content.replace(/\n$/, '').split('\n').map(shellQuote).join(' ');
  return {
    summary: `allow bwrap (${bwrapPath}) to create user namespaces with an AppArmor profile`,
    steps: [
      {
        say: `Write the profile to ${APPARMOR_PROFILE_PATH} (it is loaded again at every boot):`,
        run: `printf '%s\\n' ${lines} | sudo tee ${APPARMOR_PROFILE_PATH}`,
        file: { path: APPARMOR_PROFILE_PATH, content },
      },
      { say: 'Load it now:', run: `sudo apparmor_parser -r ${APPARMOR_PROFILE_PATH}` },
      {
        say: 'Or, less narrowly, lift the restriction for every program (add it to /etc/sysctl.d to keep it):',
        run: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
        alternative: true,
      },
    ],
  };
}

/** Docker's and Podman's defaults (seccomp, AppArmor, a masked /proc) stop bwrap inside. */
export function containerFix(): Fix {
  const opts = [
    '--security-opt seccomp=unconfined',
    '--security-opt apparmor=unconfined',
    '--security-opt systempaths=unconfined',
  ];
  return {
    summary: 'start the container with the options bubblewrap needs, or run the server outside it',
    steps: [
      {
        say: `Docker or Podman: start the container with ${opts.join(' ')}, e.g.`,
        run: `docker run ${opts.join(' ')} …`,
      },
      {
        say: 'A devcontainer: add them to its runArgs, then rebuild the container:',
        file: {
          path: '.devcontainer/devcontainer.json',
          content:
            '"runArgs": ["--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined"]\n',
        },
      },
      { say: "The host's own user-namespace switches apply inside too (see the sysctl checks)." },
      REMOTE_SERVER_STEP,
    ],
  };
}

export function remoteServerFix(reason: string): Fix {
  return { summary: reason, steps: [REMOTE_SERVER_STEP] };
}

/** One line for an error message: the summary, the commands in order, the first other way. */
export function fixInline(fix: Fix): string {
  const main = fix.steps.filter((s) => s.run && !s.alternative).map((s) => s.run);
  const other = fix.steps.find((s) => s.run && s.alternative)?.run;
  if (main.length === 0) return fix.summary;
  return `${fix.summary}: ${main.join(', then ')}${other ? ` (or: ${other})` : ''}`;
}
