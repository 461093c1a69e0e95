"use client";
import { useRef } from "react";
import { cn } from "@/components/ui/cn";
import { Field, FieldMessages } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { OVERLAY_SCHEMES, PERSISTENT_FORMATS, type Overlay, type ProfileDocument } from "@/server/mkosi/profile";
import { VOLATILE_OVERLAY } from "@/server/mkosi/render";
import { anchorId, toMessages, useProblems } from "./problems";
import { SizeInput } from "./size-input";

type Scheme = (typeof OVERLAY_SCHEMES)[number];
type Persistent = Extract<Overlay, { scheme: "persistent" }>;

// The data partition's file systems, read from the schema rather than listed again.

const EXPLAIN: Record<Scheme, { title: string; text: string }> = {
  readonly: {
    title: "Read-only root",
    text: "The root file system is mounted read-only. Nothing on it can change at run time; only what the image itself sets up (e.g. tmpfs mounts) is writable.",
  },
  tmpfs: {
    title: "Writable for the session (tmpfs overlay)",
    text: `Adds ${VOLATILE_OVERLAY} to the kernel command line: a RAM-backed overlay over the root makes everything writable, and every change vanishes at reboot.`,
  },
  persistent: {
    title: "Persistent data partition",
    text: "The root stays read-only; an extra writable partition is added to the disk and mounted at a path of your choice. What is written there survives reboots.",
  },
};

const PERSISTENT_DEFAULT: Persistent = { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "1G" };

export function OverlayEditor({ doc, setDoc }: { doc: ProfileDocument; setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void }) {
  const problems = useProblems();
  const overlay = doc.overlay;
  // Switching away and back should not lose what was typed for the data partition.
  const lastPersistent = useRef<Persistent>(overlay.scheme === "persistent" ? overlay : PERSISTENT_DEFAULT);
  if (overlay.scheme === "persistent") lastPersistent.current = overlay;

  const choose = (scheme: Scheme) =>
    setDoc((d) => ({ ...d, overlay: scheme === "persistent" ? lastPersistent.current : { scheme } }));
  const patch = (p: Partial<Omit<Persistent, "scheme">>) =>
    setDoc((d) => (d.overlay.scheme === "persistent" ? { ...d, overlay: { ...d.overlay, ...p } } : d));

  return (
    <div className="space-y-3" id={anchorId("overlay")}>
      <fieldset id={anchorId("overlay.scheme")} className="scroll-mt-24">
        <legend className="sr-only">Overlay scheme</legend>
        <div className="grid gap-2 md:grid-cols-3">
          {OVERLAY_SCHEMES.map((s) => {
            const checked = overlay.scheme === s;
            return (
              <label
                key={s}
                className={cn(
                  "flex cursor-pointer gap-2 rounded-md border p-2.5 text-sm has-focus-visible:outline-2 has-focus-visible:outline-sky-600",
                  checked ? "border-sky-600 bg-sky-50/60 ring-1 ring-sky-600" : "border-slate-200 hover:border-slate-300",
                )}
              >
                <input type="radio" name="overlay-scheme" value={s} checked={checked} onChange={() => choose(s)} className="mt-0.5 accent-sky-600" data-testid={`overlay-${s}`} />
                <span>
                  <span className="block font-medium text-slate-900">{EXPLAIN[s].title}</span>
                  <span className="mt-0.5 block text-xs leading-snug text-slate-500">{EXPLAIN[s].text}</span>
                </span>
              </label>
            );
          })}
        </div>
        <FieldMessages messages={toMessages(problems.at("overlay.scheme"))} />
      </fieldset>
      {overlay.scheme === "persistent" ? (
        <div className="grid grid-cols-2 gap-x-3 gap-y-2 rounded-md border border-slate-200 bg-slate-50/60 p-2.5 md:grid-cols-4">
          <Field label="Mount point" htmlFor="overlay-mount" messages={toMessages(problems.at("overlay.mountPoint"))} className="col-span-2" anchor={anchorId("overlay.mountPoint")}>
            <Input
              id="overlay-mount"
              value={overlay.mountPoint}
              onChange={(e) => patch({ mountPoint: e.target.value })}
              invalid={problems.at("overlay.mountPoint").length > 0}
              className="font-mono text-xs"
              spellCheck={false}
            />
          </Field>
          <Field label="Partition label" htmlFor="overlay-label" messages={toMessages(problems.at("overlay.label"))} anchor={anchorId("overlay.label")}>
            <Input
              id="overlay-label"
              value={overlay.label}
              onChange={(e) => patch({ label: e.target.value })}
              invalid={problems.at("overlay.label").length > 0}
              spellCheck={false}
            />
          </Field>
          <Field label="Format" htmlFor="overlay-format" messages={toMessages(problems.at("overlay.format"))} anchor={anchorId("overlay.format")}>
            <Select id="overlay-format" value={overlay.format} onChange={(e) => patch({ format: e.target.value as Persistent["format"] })}>
              {PERSISTENT_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </Select>
          </Field>
          <Field
            label="Size"
            htmlFor="overlay-size"
            messages={toMessages(problems.at("overlay.size"))}
            className="col-span-2"
            anchor={anchorId("overlay.size")}
            help="Fixed size of the data partition (SizeMinBytes = SizeMaxBytes)."
          >
            <SizeInput id="overlay-size" label="Size" value={overlay.size} onChange={(v) => patch({ size: v ?? "" })} invalid={problems.at("overlay.size").length > 0} />
          </Field>
          <p className="col-span-2 self-end text-xs text-slate-500">
            A mount unit and a preset that enables it are generated into mkosi.extra/, and the mount point is created in the image.
          </p>
        </div>
      ) : null}
      <FieldMessages messages={toMessages(problems.at("overlay"))} />
    </div>
  );
}
