// Who the dashboard runs as, and whether that user can build: mkosi 24 builds as an ordinary
// user when the user has 65536 subordinate uids and gids (/etc/subuid, /etc/subgid) and
// newuidmap/newgidmap (uidmap) can map them; root in the image is then the user outside it.
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";

/** mkosi maps 65536 ids: root and the usual system and user ids of an image. */
export const SUBID_COUNT = 65536;

export interface SubidRange {
  start: number;
  count: number;
}

/** The first range of at least `need` ids for a user (by name or uid) in /etc/subuid-style text. */
export function subidRange(text: string, name: string, uid: number, need = SUBID_COUNT): SubidRange | null {
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== name && who !== String(uid)) continue;
    const r = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(r.start) && Number.isSafeInteger(r.count) && r.count >= need) return r;
  }
  return null;
}

export interface Identity {
  user: string;
  uid: number;
  gid: number;
  root: boolean;
  subuid: SubidRange | null;
  subgid: SubidRange | null;
  newuidmap: boolean;
  /** Why this user cannot build, with what fixes it (root's part); empty when it can. */
  problems: string[];
}

const read = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

export function identity(): Identity {
  const u = userInfo();
  const root = u.uid === 0;
  const subuid = subidRange(read("/etc/subuid"), u.username, u.uid);
  const subgid = subidRange(read("/etc/subgid"), u.username, u.uid);
  const newuidmap = ["/usr/bin/newuidmap", "/usr/bin/newgidmap"].every((p) => existsSync(p));
  const problems: string[] = [];
  if (!root) {
    if (!subuid || !subgid)
      problems.push(
        `${u.username} has no range of ${SUBID_COUNT} subordinate ${!subuid ? "uids" : "gids"}, which mkosi needs to build as an ordinary user: as root, run scripts/setup-host.sh (for its image-studio user) or usermod --add-subuids FIRST-LAST --add-subgids FIRST-LAST ${u.username}`,
      );
    if (!newuidmap) problems.push("newuidmap and newgidmap are missing (mkosi maps the subordinate ids with them): install the uidmap package");
  }
  return { user: u.username, uid: u.uid, gid: u.gid, root, subuid, subgid, newuidmap, problems };
}
