// Where a build's files live under the data folder. One folder per build, and caches shared
// by all builds.
import { join, resolve } from "node:path";

export interface BuildPaths {
  dir: string;
  /** The profile's rendered files, snapshotted when the build was queued. */
  project: string;
  /** The profile document those files were rendered from (JSON). */
  profile: string;
  /** mkosi --output-dir: empty before the build, so old split files never mix in. */
  output: string;
  /** mkosi --workspace-dir: its scratch space, removed after the build (even a killed one). */
  workspace: string;
  log: string;
  /**
   * The certificate the build was signed with (public), copied from the key store when it was
   * queued, and which key that was: the artifact view and the VM's enrolment read these. The
   * private key is never copied here.
   */
  certificate: string;
  signing: string;
}

export const buildsRoot = (dataDir: string) => join(dataDir, "builds");

export function buildPaths(dataDir: string, id: number): BuildPaths {
  const dir = join(buildsRoot(dataDir), String(id));
  return {
    dir,
    project: join(dir, "project"),
    profile: join(dir, "profile.json"),
    output: join(dir, "output"),
    workspace: join(dir, "workspace"),
    log: join(dir, "build.log"),
    certificate: join(dir, "signing-certificate.pem"),
    signing: join(dir, "signing.json"),
  };
}

export const PACKAGE_CACHE_ENV = "IMAGE_STUDIO_PACKAGE_CACHE";

const packageCacheRoot = (dataDir: string, env: Record<string, string | undefined> = process.env) =>
  env[PACKAGE_CACHE_ENV] ? resolve(env[PACKAGE_CACHE_ENV]) : join(dataDir, "cache", "packages");

/**
 * mkosi --package-cache-dir: downloaded packages, shared by every build of the same release;
 * in the data folder unless IMAGE_STUDIO_PACKAGE_CACHE names another (the test suite shares
 * one between servers). One folder per distribution~release~architecture, the key of mkosi's
 * own default: apt runs unlocked inside mkosi, so two releases building at once must not share
 * a download folder, and each release keeps its own lists between builds.
 */
export const packageCacheDir = (dataDir: string, release: { Distribution?: string; Release?: string; Architecture?: string }, env: Record<string, string | undefined> = process.env) =>
  join(packageCacheRoot(dataDir, env), [release.Distribution, release.Release, release.Architecture].map((v) => (v ?? "default").replace(/[^A-Za-z0-9._-]/g, "_")).join("~"));

/**
 * mkosi --cache-dir for incremental builds, one per profile: mkosi 24 names its cached trees
 * only by distribution~release~architecture, so two profiles of the same release sharing one
 * folder would keep replacing each other's cache (and race when built at the same time).
 */
export const incrementalCacheDir = (dataDir: string, profileId: number | null) =>
  join(dataDir, "cache", "incremental", profileId === null ? "orphans" : `profile-${profileId}`);
