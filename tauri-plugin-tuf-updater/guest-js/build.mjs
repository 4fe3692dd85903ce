// Builds dist-js/ from guest-js/index.ts:
//   index.js     ES module, @tauri-apps/api left as an external import
//   index.d.ts   types (tsc)
//   api-iife.js  self-contained, minified; Tauri injects it into every page when
//                `app.withGlobalTauri` is on, and it defines `window.__TAURI__.tufUpdater`
// The output is deterministic: same inputs, byte-identical files.
//
// `node guest-js/build.mjs --check` builds into a temporary directory instead and fails
// when dist-js/ differs from it (stale or hand-edited output); it needs no git.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const entry = 'guest-js/index.ts'
const distDir = join(root, 'dist-js')
const outputs = ['api-iife.js', 'index.d.ts', 'index.js']
const globalName = '__TAURI_PLUGIN_TUF_UPDATER__'
const target = 'es2020'

const check = process.argv.includes('--check')
const outDir = check ? mkdtempSync(join(tmpdir(), 'tuf-updater-dist-')) : distDir

try {
  mkdirSync(outDir, { recursive: true })
  await buildInto(outDir)
  if (check) {
    compare(outDir)
  } else {
    for (const name of outputs) {
      console.log(`dist-js/${name}  ${readFileSync(join(outDir, name)).length} bytes`)
    }
  }
} finally {
  if (check) rmSync(outDir, { recursive: true, force: true })
}

async function buildInto(dir) {
  // Types. tsc also type-checks (strict, see tsconfig.json).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.json', '--declaration', '--emitDeclarationOnly', '--outDir', dir],
    { cwd: root, stdio: 'inherit' }
  )

  const common = {
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    target,
    platform: 'browser',
    charset: 'utf8',
    logLevel: 'warning',
    write: true
  }

  // ES module for bundlers: the Tauri API stays an import, so the app shares one copy.
  await build({
    ...common,
    outfile: join(dir, 'index.js'),
    format: 'esm',
    external: ['@tauri-apps/api', '@tauri-apps/api/*']
  })

  // IIFE for `withGlobalTauri`: bundles what it uses of @tauri-apps/api, and defines
  // the API on window.__TAURI__ only when Tauri's global API is there.
  await build({
    ...common,
    outfile: join(dir, 'api-iife.js'),
    format: 'iife',
    globalName,
    minify: true,
    legalComments: 'inline',
    banner: { js: "if ('__TAURI__' in window) {" },
    footer: {
      js: `Object.defineProperty(window.__TAURI__, 'tufUpdater', { value: ${globalName} }) }`
    }
  })
}

function compare(dir) {
  // CRLF/LF differences (git autocrlf on Windows) are not staleness.
  const read = (path) => readFileSync(path, 'utf8').replace(/\r\n/g, '\n')
  const problems = []
  let committed = []
  try {
    committed = readdirSync(distDir)
  } catch {
    problems.push('dist-js/ is missing')
  }
  for (const name of committed) {
    if (!outputs.includes(name)) problems.push(`dist-js/${name} is not a build output`)
  }
  for (const name of outputs) {
    if (!committed.includes(name)) {
      if (committed.length) problems.push(`dist-js/${name} is missing`)
    } else if (read(join(distDir, name)) !== read(join(dir, name))) {
      problems.push(`dist-js/${name} differs from a fresh build`)
    }
  }
  if (problems.length) {
    for (const p of problems) console.error(p)
    console.error('dist-js/ is out of date: run `npm run build` in tauri-plugin-tuf-updater/ and commit dist-js/.')
    process.exitCode = 1
  } else {
    console.log('dist-js/ is up to date.')
  }
}
