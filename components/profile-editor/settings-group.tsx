"use client";
import { cn } from "@/components/ui/cn";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { SETTINGS, type SettingDef, type SettingKey } from "@/server/mkosi/settings";
import { withSetting } from "./doc-update";
import { SettingField } from "./setting-field";

export type SettingGroup = SettingDef["group"];

/** Section titles for the model's groups; the record type makes a new group fail to compile until named. */
export const GROUP_TITLES: Record<SettingGroup, { title: string; description: string }> = {
  distribution: { title: "Distribution", description: "What is installed, from where." },
  output: { title: "Output", description: "What mkosi writes and how it is named." },
  content: { title: "Content", description: "Packages and what is kept of them." },
  boot: { title: "Boot", description: "Boot loader, kernel and its command line." },
  login: { title: "System and login", description: "Settled at build time so the first boot does not stop at a prompt." },
  "verified-boot": {
    title: "Verified boot",
    description: "A dm-verity root with a signed root hash, Secure Boot with your own key, and a signed PCR 11 prediction for measured boot.",
  },
  validation: { title: "Validation", description: "Checksums of the outputs." },
};

const DEFS = SETTINGS as readonly SettingDef[];

/** The groups in the order the model first names them. */
export const SETTING_GROUPS: SettingGroup[] = [...new Set(DEFS.map((d) => d.group))];

// Lists and long text read better across the whole row.
const wide = (d: SettingDef) => d.kind.type === "list" && !d.kind.values;

export function SettingsGroup({
  group,
  doc,
  setDoc,
  mkosiMajor,
}: {
  group: SettingGroup;
  doc: ProfileDocument;
  setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void;
  mkosiMajor: number;
}) {
  const values = doc.settings as Record<string, unknown>;
  return (
    <div className="grid grid-cols-1 gap-x-4 gap-y-3 md:grid-cols-2">
      {DEFS.filter((d) => d.group === group).map((def) => (
        <div key={def.key} className={cn(wide(def) && "md:col-span-2")}>
          <SettingField
            def={def}
            value={values[def.key]}
            mkosiMajor={mkosiMajor}
            onChange={(v) => setDoc((d) => withSetting(d, def.key as SettingKey, v))}
          />
        </div>
      ))}
    </div>
  );
}
