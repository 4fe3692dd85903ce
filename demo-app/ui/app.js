// The demo page: everything goes through the plugin's API, which Tauri puts on
// window.__TAURI__.tufUpdater (app.withGlobalTauri). An app with a bundler imports the
// same functions from 'tauri-plugin-tuf-updater-api'.
const updater = window.__TAURI__.tufUpdater;

const $ = (id) => document.getElementById(id);
let current = null; // the Update found by the last check

function setState(state, text) {
  document.body.dataset.state = state;
  if (text !== undefined) $('status').textContent = text;
  if (state !== 'error') show('error-detail', false);
}

// The user reads the plain sentence (`message`); the chain of causes (`detail`, spec
// sections and paths included) is there for a bug report, folded away.
function showError(what, e) {
  setState('error', `${what}: ${e?.message ?? String(e)}`);
  $('error-detail-text').textContent = e?.detail ?? String(e);
  show('error-detail', true);
}

function show(id, visible) {
  $(id).hidden = !visible;
}

function formatBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

function showChannel(info) {
  $('channel').textContent = info.channel;
  $('beta-toggle').checked = info.channel === 'beta';
  $('beta-toggle').disabled = info.locked;
  $('channel-note').textContent = info.note ?? '';
  show('channel-note', Boolean(info.note));
}

async function refreshPolicy() {
  const policy = await updater.policyStatus();
  showChannel(policy.channel);
  $('policy-line').textContent = policy.message ?? '';
  show('policy-line', Boolean(policy.message));
  $('check-button').disabled = !policy.enabled;
  if (!policy.enabled) setState('disabled', policy.disabledReason);
}

function heldText(held) {
  return held.map((h) => `${h.version} is held back: ${h.reasons.join('; ')}`).join('. ');
}

async function check() {
  current = null;
  show('update-panel', false);
  show('progress-panel', false);
  $('check-button').disabled = true;
  setState('checking', 'Checking for updates…');
  try {
    const result = await updater.checkStatus();
    switch (result.status) {
      case 'available': {
        current = result.update;
        const u = current;
        const kind = u.critical ? 'Critical update' : 'Update';
        setState('available', `Version ${u.version} is available`);
        // A patch from the installed version makes the download smaller than the release.
        const size = u.downloadSize < u.size
          ? `${formatBytes(u.downloadSize)} to download for ${formatBytes(u.size)}`
          : formatBytes(u.size);
        $('update-title').textContent =
          `${kind} ${u.version} (${u.channel}, ${size}, ${u.date.slice(0, 10)})`;
        $('notes').textContent = u.body || 'No release notes.';
        show('update-panel', true);
        $('install-button').disabled = false;
        break;
      }
      case 'upToDate':
        setState('up-to-date', `You are up to date (${result.channel})`);
        break;
      case 'heldBack':
        setState('held-back', `No update offered. ${heldText(result.held)}`);
        break;
      case 'disabled':
        setState('disabled', result.reason);
        break;
    }
  } catch (e) {
    showError('Check failed', e);
  } finally {
    $('check-button').disabled = false;
  }
}

function onProgress(event, total) {
  switch (event.event) {
    case 'Started':
      total.length = event.data.contentLength;
      $('progress').max = Math.max(total.length, 1);
      $('progress').value = event.data.resumedFrom;
      $('progress-text').textContent = `Downloading ${formatBytes(total.length)}…`;
      break;
    case 'Progress':
      $('progress').value = event.data.downloaded;
      $('progress-text').textContent =
        `${formatBytes(event.data.downloaded)} of ${formatBytes(total.length)}`;
      break;
    case 'Verifying':
      $('progress-text').textContent = 'Verifying the signed hashes…';
      break;
    case 'Finished':
      $('progress').value = $('progress').max;
      $('progress-text').textContent = 'Downloaded and verified';
      break;
    case 'Installing':
      setState('installing', current ? `Installing ${current.version}…` : 'Installing the update…');
      $('progress-text').textContent = 'Installing…';
      break;
  }
}

async function install() {
  if (!current) return;
  const update = current;
  $('install-button').disabled = true;
  $('check-button').disabled = true;
  show('progress-panel', true);
  setState('downloading', `Downloading ${update.version}…`);
  const total = { length: 0 };
  try {
    await update.downloadAndInstall((event) => onProgress(event, total));
    setState('installed', `Version ${update.version} is installed. Restart to use it.`);
    show('update-panel', false);
    show('restart-button', true);
  } catch (e) {
    showError('Update failed', e);
    $('progress-text').textContent = 'Nothing was installed.';
    $('install-button').disabled = false;
  } finally {
    $('check-button').disabled = false;
  }
}

async function toggleBeta() {
  const wantBeta = $('beta-toggle').checked;
  try {
    const info = await updater.setChannel(wantBeta ? 'beta' : null);
    showChannel(info);
    show('update-panel', false);
    setState('idle', `Channel ${info.channel}: check for updates to see its releases.`);
  } catch (e) {
    showError('Cannot change the channel', e);
  }
}

function showRollback(r) {
  $('rollback-line').textContent =
    `Version ${r.failedVersion} did not start and was rolled back to ${r.restoredVersion}.`;
  show('rollback-line', true);
}

async function init() {
  $('check-button').addEventListener('click', check);
  $('install-button').addEventListener('click', install);
  $('restart-button').addEventListener('click', () => updater.relaunch());
  $('beta-toggle').addEventListener('change', toggleBeta);

  // Updates driven from Rust (the auto-update mode, the native prompt) show here too.
  const total = { length: 0 };
  await updater.onDownloadProgress((event) => {
    if (document.body.dataset.state !== 'downloading' && document.body.dataset.state !== 'installing') {
      show('progress-panel', true);
      setState('downloading', 'Downloading an update…');
    }
    onProgress(event, total);
  });
  await updater.onInstalled((p) => {
    setState('installed', `Version ${p.version} is installed. Restart to use it.`);
    $('progress-text').textContent = 'Installed';
    show('restart-button', true);
  });
  await updater.onRolledBack(showRollback);

  const status = await updater.status();
  $('current-version').textContent = status.currentVersion;
  document.title = `Demo app ${status.currentVersion}`;
  if (status.lastRollback) showRollback(status.lastRollback);
  if (!status.configured) {
    setState('disabled', `Updates are off: ${status.error}`);
    $('check-button').disabled = true;
    return;
  }
  if (status.installed) {
    setState('installed', `Version ${status.installed} is installed. Restart to use it.`);
    show('restart-button', true);
  }
  await refreshPolicy();
}

// Run-time switches of the demo (src/main.rs): in the manual launch confirmation
// (DEMO_APP_CONFIRM=manual) the page confirms this version itself once it is up; a version
// whose page never gets here is rolled back. Then the page reports its load.
async function afterInit() {
  const core = window.__TAURI__.core;
  const switches = await core.invoke('demo_switches');
  if (switches.callConfirm) await updater.confirm();
  await core.invoke('demo_page_loaded');
}

init()
  .then(afterInit)
  .catch((e) => showError('The update page could not start', e));
