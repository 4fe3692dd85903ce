var __typeError = (msg) => {
  throw TypeError(msg);
};
var __accessCheck = (obj, member, msg) => member.has(obj) || __typeError("Cannot " + msg);
var __privateGet = (obj, member, getter) => (__accessCheck(obj, member, "read from private field"), getter ? getter.call(obj) : member.get(obj));
var __privateAdd = (obj, member, value) => member.has(obj) ? __typeError("Cannot add the same private member more than once") : member instanceof WeakSet ? member.add(obj) : member.set(obj, value);
var __privateSet = (obj, member, value, setter) => (__accessCheck(obj, member, "write to private field"), setter ? setter.call(obj, value) : member.set(obj, value), value);
var __privateMethod = (obj, member, method) => (__accessCheck(obj, member, "access private method"), method);

// guest-js/index.ts
import { Channel, invoke, Resource } from "@tauri-apps/api/core";
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
function headerPairs(headers) {
  if (headers === void 0) return [];
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    const pairs = [];
    headers.forEach((value, name) => pairs.push([name, value]));
    return pairs;
  }
  if (Array.isArray(headers)) {
    return headers.map((pair) => [String(pair[0]), String(pair[1])]);
  }
  return Object.entries(headers).map(([name, value]) => [
    name,
    String(value)
  ]);
}
function rawOptions(options) {
  if (options === void 0) return void 0;
  return {
    headers: headerPairs(options.headers),
    timeout: options.timeout,
    proxy: options.proxy,
    target: options.target,
    allowDowngrades: options.allowDowngrades
  };
}
var NO_RESOURCE = -1;
function progressChannel(onEvent) {
  const channel = new Channel();
  if (onEvent) {
    channel.onmessage = onEvent;
  }
  return channel;
}
var _closed, _Update_instances, target_fn;
var Update = class extends Resource {
  /**
   * Wraps metadata returned by the plugin: with the resource id `check` returned, or without
   * one (the `update-available` event), naming the update the last check with the app's own
   * settings found.
   */
  constructor(metadata, rid = NO_RESOURCE) {
    super(rid);
    __privateAdd(this, _Update_instances);
    /** Always `true` (tauri-plugin-updater's `available`). */
    this.available = true;
    __privateAdd(this, _closed, false);
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
    this.rawJson = metadata.rawJson ?? {};
  }
  /** Downloads and verifies the update without installing it. */
  async download(onEvent) {
    await call("download", { ...__privateMethod(this, _Update_instances, target_fn).call(this), onEvent: progressChannel(onEvent) });
  }
  /** Installs the downloaded update; it runs after `relaunch()`. */
  async install() {
    await call("install", __privateMethod(this, _Update_instances, target_fn).call(this));
  }
  /** Downloads, verifies and installs the update; it runs after `relaunch()`. */
  async downloadAndInstall(onEvent) {
    await call("download_and_install", { ...__privateMethod(this, _Update_instances, target_fn).call(this), onEvent: progressChannel(onEvent) });
  }
  /** Releases what the Rust side keeps for this update; its methods fail afterwards. */
  async close() {
    if (__privateGet(this, _closed)) return;
    __privateSet(this, _closed, true);
    if (this.rid !== NO_RESOURCE) {
      await super.close();
    }
  }
};
_closed = new WeakMap();
_Update_instances = new WeakSet();
/** What names this update to the Rust side. */
target_fn = function() {
  if (__privateGet(this, _closed)) {
    throw new UpdaterError({
      kind: "other",
      message: "This update was closed: check again.",
      detail: `update ${this.version} was closed: check again`
    });
  }
  return this.rid === NO_RESOURCE ? { version: this.version } : { rid: this.rid, version: this.version };
};
async function checkStatus(options) {
  const { rid, ...raw } = await call("check", { options: rawOptions(options) });
  if (raw.status === "available") {
    return { status: "available", update: new Update(raw.update, rid ?? NO_RESOURCE) };
  }
  return raw;
}
async function check(options) {
  const result = await checkStatus(options);
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
