// guest-js/index.ts
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
var PLUGIN = "plugin:updater-tauri|";
var EVENT = "updater-tauri://";
function progressChannel(onEvent) {
  const channel = new Channel();
  if (onEvent) {
    channel.onmessage = onEvent;
  }
  return channel;
}
var Update = class {
  /** Wraps metadata returned by the plugin (`check`, the `update-available` event). */
  constructor(metadata) {
    this.version = metadata.version;
    this.currentVersion = metadata.currentVersion;
    this.date = metadata.date;
    this.body = metadata.body;
    this.channel = metadata.channel;
    this.critical = metadata.critical;
    this.size = metadata.size;
    this.downloadSize = metadata.downloadSize;
    this.direction = metadata.direction;
    this.heldBack = metadata.heldBack;
  }
  /** Downloads and verifies the update without installing it. */
  async download(onEvent) {
    await invoke(`${PLUGIN}download`, {
      version: this.version,
      onEvent: progressChannel(onEvent)
    });
  }
  /** Installs the downloaded update; it runs after `relaunch()`. */
  async install() {
    await invoke(`${PLUGIN}install`, { version: this.version });
  }
  /** Downloads, verifies and installs the update; it runs after `relaunch()`. */
  async downloadAndInstall(onEvent) {
    await invoke(`${PLUGIN}download_and_install`, {
      version: this.version,
      onEvent: progressChannel(onEvent)
    });
  }
};
async function checkStatus() {
  const raw = await invoke(`${PLUGIN}check`);
  return raw.status === "available" ? { status: "available", update: new Update(raw.update) } : raw;
}
async function check() {
  const result = await checkStatus();
  return result.status === "available" ? result.update : null;
}
async function relaunch() {
  await invoke(`${PLUGIN}restart`);
}
async function getChannel() {
  return await invoke(`${PLUGIN}get_channel`);
}
async function setChannel(channel) {
  return await invoke(`${PLUGIN}set_channel`, { channel });
}
async function policyStatus() {
  return await invoke(`${PLUGIN}policy_status`);
}
async function status() {
  return await invoke(`${PLUGIN}status`);
}
async function onUpdateAvailable(cb) {
  return await listen(`${EVENT}update-available`, (event) => {
    cb(new Update(event.payload));
  });
}
async function onDownloadProgress(cb) {
  return await listen(`${EVENT}download-progress`, (event) => {
    cb(event.payload);
  });
}
async function onInstalled(cb) {
  return await listen(`${EVENT}installed`, (event) => {
    cb(event.payload);
  });
}
async function onRolledBack(cb) {
  return await listen(`${EVENT}rolled-back`, (event) => {
    cb(event.payload);
  });
}
async function onError(cb) {
  return await listen(`${EVENT}error`, (event) => {
    cb(event.payload);
  });
}
export {
  Update,
  check,
  checkStatus,
  getChannel,
  onDownloadProgress,
  onError,
  onInstalled,
  onRolledBack,
  onUpdateAvailable,
  policyStatus,
  relaunch,
  setChannel,
  status
};
