// guest-js/index.ts
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
var PLUGIN = "plugin:tuf-updater|";
var EVENT = "tuf-updater://";
function isRawError(value) {
  if (typeof value !== "object" || value === null) return false;
  const raw = value;
  return typeof raw["kind"] === "string" && typeof raw["message"] === "string" && typeof raw["detail"] === "string";
}
var UpdaterError = class extends Error {
  /** Wraps what a command rejected with (the plugin's error object, or a string from Tauri). */
  constructor(rejection) {
    const raw = isRawError(rejection) ? rejection : { kind: "other", message: String(rejection), detail: String(rejection) };
    super(raw.message);
    this.name = "UpdaterError";
    this.kind = raw.kind;
    this.detail = raw.detail;
  }
  /** The whole chain of causes (`detail`). */
  toString() {
    return this.detail;
  }
};
async function call(command, args) {
  try {
    return await invoke(`${PLUGIN}${command}`, args);
  } catch (rejection) {
    throw new UpdaterError(rejection);
  }
}
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
    await call("download", {
      version: this.version,
      onEvent: progressChannel(onEvent)
    });
  }
  /** Installs the downloaded update; it runs after `relaunch()`. */
  async install() {
    await call("install", { version: this.version });
  }
  /** Downloads, verifies and installs the update; it runs after `relaunch()`. */
  async downloadAndInstall(onEvent) {
    await call("download_and_install", {
      version: this.version,
      onEvent: progressChannel(onEvent)
    });
  }
};
async function checkStatus() {
  const raw = await call("check");
  return raw.status === "available" ? { status: "available", update: new Update(raw.update) } : raw;
}
async function check() {
  const result = await checkStatus();
  return result.status === "available" ? result.update : null;
}
async function relaunch() {
  await call("restart");
}
async function getChannel() {
  return await call("get_channel");
}
async function setChannel(channel) {
  return await call("set_channel", { channel });
}
async function policyStatus() {
  return await call("policy_status");
}
async function status() {
  return await call("status");
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
async function confirm() {
  return await call("confirm");
}
export {
  Update,
  UpdaterError,
  check,
  checkStatus,
  confirm,
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
