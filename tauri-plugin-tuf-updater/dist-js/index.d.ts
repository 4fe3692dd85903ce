/**
 * TypeScript API of the `tuf-updater` plugin: TUF-verified updates, channels, the
 * administrator's policy, download progress and rollback.
 *
 * With `app.withGlobalTauri`, the same API is on `window.__TAURI__.tufUpdater`.
 * The contract with the Rust side is in `docs/tauri-plugin.md`.
 * @module
 */
import { Resource } from '@tauri-apps/api/core';
import { type UnlistenFn } from '@tauri-apps/api/event';
export type { UnlistenFn };
/** A newer release that is not offered, and why (e.g. pinned by policy, other channel). */
export interface HeldBack {
    /** The release's version. */
    version: string;
    /** Why it is held back, one line each. */
    reasons: string[];
}
/** Which way an update goes relative to the running version. */
export type UpdateDirection = 'upgrade' | 'downgrade' | 'rollbackToPin';
/** An update found by `check`, as the Rust side reports it (verified against TUF metadata). */
export interface UpdateMetadata {
    /** The version offered, e.g. `"1.1.0"`. */
    version: string;
    /** The running version, e.g. `"1.0.0"`. */
    currentVersion: string;
    /** When the release was published (RFC 3339). */
    date: string;
    /** Release notes (markdown). */
    body: string;
    /** The channel the update comes from. */
    channel: string;
    /** The release is marked critical. */
    critical: boolean;
    /** Size of the artifact in bytes. */
    size: number;
    /** Bytes the download will transfer: the patch's size when one applies to the installed
     * version (a patch that fails falls back to the full `size`). */
    downloadSize: number;
    /** Upgrade, downgrade, or a return to the version the policy pins. */
    direction: UpdateDirection;
    /** Newer releases not offered, and why. */
    heldBack: HeldBack[];
    /**
     * The release's custom data as signed in its TUF target (version, channel, notes, date and
     * the publisher's own fields), tauri-plugin-updater's `rawJson`; `{}` when it has none.
     */
    rawJson: Record<string, unknown>;
}
/**
 * Options of `check` and `checkStatus`, as tauri-plugin-updater's `CheckOptions`. They apply
 * to the check and to the download and install of the update it finds.
 */
export interface CheckOptions {
    /** Headers sent with every request, after the configured ones (an API key, say). */
    headers?: HeadersInit;
    /** Time to connect, and the longest wait for the next byte, in milliseconds (not 0). */
    timeout?: number;
    /** An `http`, `https` or `socks5` proxy URL for every request. */
    proxy?: string;
    /** The platform whose releases to look for, e.g. `linux-x86_64` (default: this machine's). */
    target?: string;
    /** Whether a channel that does not carry the running version may move the app down. */
    allowDowngrades?: boolean;
}
/**
 * Progress of a download and install, in order: Started, Progress…, Verifying, Finished,
 * Installing. `Started`, `Progress` and `Finished` are tauri-plugin-updater's, and the
 * `chunkLength`s after a `Started` add up to its `contentLength` (bytes resumed from an earlier
 * attempt come first, as one chunk). `resumedFrom`, `downloaded`, `Verifying` and `Installing`
 * are extra. A second `Started` comes only when a patch failed and the full release is
 * downloaded instead.
 */
export type DownloadEvent = {
    event: 'Started';
    data: {
        contentLength: number;
        resumedFrom: number;
    };
} | {
    event: 'Progress';
    data: {
        chunkLength: number;
        downloaded: number;
    };
} | {
    event: 'Verifying';
} | {
    event: 'Finished';
} | {
    event: 'Installing';
};
/** The channel in force and who chose it. */
export interface ChannelInfo {
    /** The channel in force. */
    channel: string;
    /** Who chose it: the administrator's policy, the user (`setChannel`) or the app's default. */
    source: 'policy' | 'user' | 'app';
    /** Why the requested channel is not the one in force, if it is not. */
    note: string | null;
    /** The policy forces the channel: `setChannel` cannot change it. */
    locked: boolean;
}
/** The administrator's update policy as it applies to this app. */
export interface PolicyStatus {
    /** Updates are allowed. */
    enabled: boolean;
    /** Why updates are disabled, when they are. */
    disabledReason: string | null;
    /** The version requirement the policy pins, e.g. `"~1.0"`. */
    pinnedVersion: string | null;
    /** The policy allows going back to an older version. */
    allowRollback: boolean;
    /** The mirror the policy imposes. */
    mirror: string | null;
    /** Seconds between background checks. */
    checkIntervalSecs: number;
    /** The channel in force. */
    channel: ChannelInfo;
    /** One line for the UI when the policy pins or blocks. */
    message: string | null;
    /**
     * Why a policy file was not used: it is not the administrator's (someone else owns or may
     * write it). Updates go on without it.
     */
    ignoredPolicy: string | null;
}
/** An automatic rollback: a new version did not start and the previous one was restored. */
export interface Rollback {
    /** The version that failed to start. */
    failedVersion: string;
    /** The version restored. */
    restoredVersion: string;
    /** Why the rollback happened. */
    reason: string;
}
/** The updater's state. */
export interface UpdaterStatus {
    /** The app's name in the repository. */
    app: string;
    /** The running version. */
    currentVersion: string;
    /** The updater is configured; when `false`, `error` says what is missing. */
    configured: boolean;
    /** What is wrong with the configuration. */
    error: string | null;
    /** The last automatic rollback, if any. */
    lastRollback: Rollback | null;
    /** This version is new and not yet confirmed by a successful start. */
    pendingConfirmation: boolean;
    /** A version installed and waiting for a restart. */
    installed: string | null;
}
/** Result of `checkStatus`: an update, or why there is none. */
export type CheckStatus = {
    status: 'available';
    update: Update;
} | {
    status: 'upToDate';
    channel: string;
} | {
    status: 'heldBack';
    channel: string;
    held: HeldBack[];
} | {
    status: 'disabled';
    reason: string;
};
/** Payload of the `installed` event. */
export interface InstalledPayload {
    /** The version installed: restart to run it. */
    version: string;
}
/**
 * What kind of failure an `UpdaterError` is; match on it, not on the message text.
 * - `repositoryExpired`: the update server's signed metadata expired: the publisher has not
 *   re-signed it (an outage of its signing job, or a freeze attack). Updates resume once it
 *   is re-signed.
 * - `offline`: the update server could not be reached (network, DNS, timeout, HTTP 5xx).
 * - `attackDetected`: the server's answer or the update failed verification (signatures,
 *   rollback, length or hash, delegation); nothing unverified was used.
 * - `notWritable`: no permission to write the data directory or the install location.
 * - `diskFull`: no space left (or the quota is reached).
 * - `disabledByPolicy`: the administrator's policy turned updates off (or could not be used).
 * - `disabled`: the user's settings or the app turned updates off.
 * - `notConfigured`: the updater is not set up (repository, trusted root, configuration).
 * - `busy`: another download or install of this app is under way.
 * - `accessDenied`: the update server refused access (HTTP 401 or 403): a credential header
 *   is missing or wrong (`check({ headers })`).
 * - `other`: anything else; `detail` says what.
 */
export type ErrorKind = 'repositoryExpired' | 'offline' | 'attackDetected' | 'notWritable' | 'diskFull' | 'disabledByPolicy' | 'disabled' | 'notConfigured' | 'busy' | 'accessDenied' | 'other';
/**
 * Every function of this API rejects with an `UpdaterError`: `kind` to react to, `message`
 * a plain sentence to show, `detail` the whole chain of causes for the log. `String(error)`
 * is `detail`, the text a rejection carried before errors had kinds.
 */
export declare class UpdaterError extends Error {
    /** What kind of failure it is. */
    readonly kind: ErrorKind;
    /** The whole chain of causes (a TUF refusal names its spec rule), for logs. */
    readonly detail: string;
    /** Wraps what a command rejected with (the plugin's error object, or a string from Tauri). */
    constructor(rejection: unknown);
    /** The whole chain of causes (`detail`). */
    toString(): string;
}
/** Payload of the `error` event. */
export interface ErrorPayload {
    /** What kind of failure it is. */
    kind: ErrorKind;
    /** The error with its chain of causes. */
    message: string;
}
/**
 * An update found by `check`; its methods act on this version only, with the options of the
 * check that found it. As tauri-plugin-updater's, it is a `Resource`: `close()` releases what
 * the Rust side keeps for it, after which its methods fail.
 */
export declare class Update extends Resource implements UpdateMetadata {
    #private;
    /** Always `true` (tauri-plugin-updater's `available`). */
    readonly available: boolean;
    /** The version offered, e.g. `"1.1.0"`. */
    readonly version: string;
    /** The running version. */
    readonly currentVersion: string;
    /** When the release was published (RFC 3339). */
    readonly date: string;
    /** Release notes (markdown). */
    readonly body: string;
    /** The channel the update comes from. */
    readonly channel: string;
    /** The release is marked critical. */
    readonly critical: boolean;
    /** Size of the artifact in bytes. */
    readonly size: number;
    /** Bytes the download will transfer: the patch's size when one applies to the installed
     * version (a patch that fails falls back to the full `size`). */
    readonly downloadSize: number;
    /** Upgrade, downgrade, or a return to the version the policy pins. */
    readonly direction: UpdateDirection;
    /** Newer releases not offered, and why. */
    readonly heldBack: HeldBack[];
    /** The release's signed custom data (tauri-plugin-updater's `rawJson`). */
    readonly rawJson: Record<string, unknown>;
    /**
     * Wraps metadata returned by the plugin: with the resource id `check` returned, or without
     * one (the `update-available` event), naming the update the last check with the app's own
     * settings found.
     */
    constructor(metadata: UpdateMetadata, rid?: number);
    /** Downloads and verifies the update without installing it. */
    download(onEvent?: (event: DownloadEvent) => void): Promise<void>;
    /** Installs the downloaded update; it runs after `relaunch()`. */
    install(): Promise<void>;
    /** Downloads, verifies and installs the update; it runs after `relaunch()`. */
    downloadAndInstall(onEvent?: (event: DownloadEvent) => void): Promise<void>;
    /** Releases what the Rust side keeps for this update; its methods fail afterwards. */
    close(): Promise<void>;
}
/**
 * Checks for an update: the full result, with an `Update` when one is available. `options`
 * apply to this check and to the download and install of the update it finds.
 */
export declare function checkStatus(options?: CheckOptions): Promise<CheckStatus>;
/** Checks for an update; `null` when none is available (use `checkStatus` to learn why). */
export declare function check(options?: CheckOptions): Promise<Update | null>;
/** Restarts the app, into the installed update if there is one. */
export declare function relaunch(): Promise<void>;
/** The channel in force and who chose it. */
export declare function getChannel(): Promise<ChannelInfo>;
/** Sets the user's channel (`null`: back to the app's default); the policy may override it. */
export declare function setChannel(channel: string | null): Promise<ChannelInfo>;
/** The administrator's policy as it applies to this app. */
export declare function policyStatus(): Promise<PolicyStatus>;
/** The updater's state: configuration, pending confirmation, last rollback, installed version. */
export declare function status(): Promise<UpdaterStatus>;
/** Calls `cb` when a background check finds an update. */
export declare function onUpdateAvailable(cb: (update: Update) => void): Promise<UnlistenFn>;
/** Calls `cb` on every download event, whoever started the download (prompt or API). */
export declare function onDownloadProgress(cb: (event: DownloadEvent) => void): Promise<UnlistenFn>;
/** Calls `cb` when an update is installed and waits for a restart. */
export declare function onInstalled(cb: (payload: InstalledPayload) => void): Promise<UnlistenFn>;
/** Calls `cb` when a version that did not start has been rolled back. */
export declare function onRolledBack(cb: (rollback: Rollback) => void): Promise<UnlistenFn>;
/** Calls `cb` when a background check or a prompt install fails. */
export declare function onError(cb: (payload: ErrorPayload) => void): Promise<UnlistenFn>;
/**
 * Confirms the launch of this version: a freshly installed version is kept and will not be
 * rolled back. Resolves to whether there was one to confirm. For apps whose plugin is set
 * to the manual confirmation (`confirmLaunch: "manual"`); needs the permission
 * `tuf-updater:allow-confirm`, which the default set does not grant.
 */
export declare function confirm(): Promise<boolean>;
