"use client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Field, FieldMessages } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { DiskLayout, PARTITION_COLORS } from "@/components/disk-layout/disk-layout";
import {
  COMPRESSOR_NAMES,
  MINIMIZE,
  PARTITION_FORMATS,
  PARTITION_TYPES,
  partitionSchema,
  SQUASHFS_COMPRESSORS,
  VERITY_ROLES,
  type Partition,
  type ProfileDocument,
} from "@/server/mkosi/profile";
import { effectivePartitions, repartPath } from "@/server/mkosi/render";
import { move, removeAt, replaceAt } from "./doc-update";
import { ListEditor } from "./list-editor";
import { anchorId, toMessages, useProblems } from "./problems";
import { SizeInput } from "./size-input";

const copyFilesCheck = (v: string) => {
  const r = partitionSchema.shape.copyFiles.safeParse([v]);
  return r.success ? undefined : r.error.issues[0]?.message;
};

/** A new format: compression is squashfs's alone, so it goes when the format leaves squashfs. */
function withFormat(p: Partition, format: Partition["format"]): Partition {
  const next = withOptional(p, "format", format);
  if (format === "squashfs") return next;
  const { compression: _c, compressionLevel: _l, ...rest } = next;
  return rest;
}

/** A new compressor keeps the level only when it takes one in that range. */
function withCompression(p: Partition, compression: Partition["compression"]): Partition {
  const next = withOptional(p, "compression", compression);
  const range = compression ? SQUASHFS_COMPRESSORS[compression] : null;
  const level = next.compressionLevel;
  return range && level !== undefined && level >= range.min && level <= range.max ? next : withOptional(next, "compressionLevel", undefined);
}

function levelBounds(p: Partition): { min?: number; max?: number } {
  const range = p.compression ? SQUASHFS_COMPRESSORS[p.compression] : null;
  return range ? { min: range.min, max: range.max } : {};
}

/** Drops optional keys set to undefined so the document stays as the server stores it. */
function withOptional<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): T {
  const next = { ...obj };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export function PartitionsEditor({
  doc,
  setDoc,
}: {
  doc: ProfileDocument;
  setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void;
}) {
  const problems = useProblems();
  const parts = doc.partitions;
  const set = (next: Partition[]) => setDoc((d) => ({ ...d, partitions: next }));
  const update = (i: number, p: Partition) => set(replaceAt(parts, i, p));
  const effective = effectivePartitions(doc);
  const bad = new Set(
    effective.map((_, i) => i).filter((i) => (i < parts.length ? problems.all.some((p) => p.path?.[0] === "partitions" && p.path[1] === i) : false)),
  );

  const focusPartition = (i: number) => {
    const target = i < parts.length ? `partitions.${i}` : "overlay";
    document.getElementById(anchorId(target))?.scrollIntoView({ behavior: "smooth", block: "start" });
  };

  return (
    <div className="space-y-3">
      <DiskLayout partitions={effective} userCount={parts.length} badIndexes={bad} onSelect={focusPartition} />
      <div id={anchorId("partitions")} className="scroll-mt-24">
        <FieldMessages messages={toMessages(problems.at("partitions"))} />
      </div>
      <ol className="space-y-2">
        {parts.map((p, i) => {
          const at = (f: string) => problems.at(`partitions.${i}.${f}`);
          const id = (f: string) => `part-${i}-${f}`;
          return (
            <li
              key={i}
              id={anchorId(`partitions.${i}`)}
              className={cn("scroll-mt-24 rounded-md border bg-white", bad.has(i) ? "border-red-300" : "border-slate-200")}
              data-testid="partition"
            >
              <div className="flex items-center gap-2 border-b border-slate-100 bg-slate-50/70 px-2.5 py-1.5">
                <span className={cn("h-2.5 w-2.5 rounded-sm", PARTITION_COLORS[p.type].dot)} aria-hidden />
                <span className="text-xs font-semibold text-slate-800">
                  {i + 1}. {p.label || p.type}
                </span>
                <code className="truncate text-[11px] text-slate-400">{repartPath(p, i)}</code>
                <div className="ml-auto flex gap-0.5">
                  <Button size="icon" variant="ghost" disabled={i === 0} onClick={() => set(move(parts, i, i - 1))} aria-label={`Move partition ${i + 1} up`} title="Move up">
                    ↑
                  </Button>
                  <Button
                    size="icon"
                    variant="ghost"
                    disabled={i === parts.length - 1}
                    onClick={() => set(move(parts, i, i + 1))}
                    aria-label={`Move partition ${i + 1} down`}
                    title="Move down"
                  >
                    ↓
                  </Button>
                  <Button size="sm" variant="ghost" className="hover:text-red-700" onClick={() => set(removeAt(parts, i))} aria-label={`Remove partition ${i + 1}`}>
                    Remove
                  </Button>
                </div>
              </div>
              <div className="grid grid-cols-2 gap-x-3 gap-y-2 p-2.5 md:grid-cols-4">
                <Field label="Type" htmlFor={id("type")} messages={toMessages(at("type"))} anchor={anchorId(`partitions.${i}.type`)}>
                  <Select id={id("type")} value={p.type} onChange={(e) => update(i, { ...p, type: e.target.value as Partition["type"] })} invalid={at("type").length > 0}>
                    {PARTITION_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </Select>
                </Field>
                <Field label="Format" htmlFor={id("format")} messages={toMessages(at("format"))} anchor={anchorId(`partitions.${i}.format`)}>
                  <Select
                    id={id("format")}
                    value={p.format ?? ""}
                    onChange={(e) => update(i, withFormat(p, (e.target.value || undefined) as Partition["format"]))}
                    invalid={at("format").length > 0}
                  >
                    <option value="">none (unformatted)</option>
                    {PARTITION_FORMATS.map((f) => (
                      <option key={f} value={f}>
                        {f}
                      </option>
                    ))}
                  </Select>
                </Field>
                <Field label="Label" htmlFor={id("label")} messages={toMessages(at("label"))} anchor={anchorId(`partitions.${i}.label`)}>
                  <Input
                    id={id("label")}
                    value={p.label ?? ""}
                    onChange={(e) => update(i, withOptional(p, "label", e.target.value || undefined))}
                    invalid={at("label").length > 0}
                    spellCheck={false}
                  />
                </Field>
                <Field label="Minimize" htmlFor={id("minimize")} messages={toMessages(at("minimize"))} anchor={anchorId(`partitions.${i}.minimize`)}>
                  <Select
                    id={id("minimize")}
                    value={p.minimize ?? ""}
                    onChange={(e) => update(i, withOptional(p, "minimize", (e.target.value || undefined) as Partition["minimize"]))}
                    invalid={at("minimize").length > 0}
                  >
                    <option value="">not set</option>
                    {MINIMIZE.map((m) => (
                      <option key={m} value={m}>
                        {m}
                      </option>
                    ))}
                  </Select>
                </Field>
                {(p.format === "squashfs" || p.compression || p.compressionLevel !== undefined) && (
                  <>
                    <Field label="Compression" htmlFor={id("compression")} messages={toMessages(at("compression"))} anchor={anchorId(`partitions.${i}.compression`)}>
                      <Select
                        id={id("compression")}
                        value={p.compression ?? ""}
                        onChange={(e) => update(i, withCompression(p, (e.target.value || undefined) as Partition["compression"]))}
                        invalid={at("compression").length > 0}
                      >
                        <option value="">mksquashfs default (gzip)</option>
                        {COMPRESSOR_NAMES.map((c) => (
                          <option key={c} value={c}>
                            {c}
                          </option>
                        ))}
                      </Select>
                    </Field>
                    <Field label="Level" htmlFor={id("compressionLevel")} messages={toMessages(at("compressionLevel"))} anchor={anchorId(`partitions.${i}.compressionLevel`)}>
                      <Input
                        id={id("compressionLevel")}
                        type="number"
                        inputMode="numeric"
                        {...levelBounds(p)}
                        placeholder={p.compression && SQUASHFS_COMPRESSORS[p.compression] ? "default" : "none"}
                        disabled={!p.compression || (!SQUASHFS_COMPRESSORS[p.compression] && p.compressionLevel === undefined)}
                        value={p.compressionLevel ?? ""}
                        onChange={(e) => update(i, withOptional(p, "compressionLevel", e.target.value === "" ? undefined : Number(e.target.value)))}
                        invalid={at("compressionLevel").length > 0}
                      />
                    </Field>
                  </>
                )}
                <Field label="Verity" htmlFor={id("verity")} messages={toMessages(at("verity"))} anchor={anchorId(`partitions.${i}.verity`)}>
                  <Select
                    id={id("verity")}
                    value={p.verity ?? ""}
                    onChange={(e) => update(i, withOptional(p, "verity", (e.target.value || undefined) as Partition["verity"]))}
                    invalid={at("verity").length > 0}
                  >
                    <option value="">not set</option>
                    {VERITY_ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </Select>
                </Field>
                <Field label="VerityMatchKey" htmlFor={id("verityMatchKey")} messages={toMessages(at("verityMatchKey"))} anchor={anchorId(`partitions.${i}.verityMatchKey`)}>
                  <Input
                    id={id("verityMatchKey")}
                    value={p.verityMatchKey ?? ""}
                    onChange={(e) => update(i, withOptional(p, "verityMatchKey", e.target.value || undefined))}
                    invalid={at("verityMatchKey").length > 0}
                    spellCheck={false}
                  />
                </Field>
                <Field
                  label="SizeMinBytes"
                  htmlFor={id("sizeMin")}
                  messages={toMessages(at("sizeMin"))}
                  className="col-span-2 md:col-span-1"
                  anchor={anchorId(`partitions.${i}.sizeMin`)}
                >
                  <SizeInput id={id("sizeMin")} label="SizeMinBytes" value={p.sizeMin} onChange={(v) => update(i, withOptional(p, "sizeMin", v))} invalid={at("sizeMin").length > 0} />
                </Field>
                <Field
                  label="SizeMaxBytes"
                  htmlFor={id("sizeMax")}
                  messages={toMessages(at("sizeMax"))}
                  className="col-span-2 md:col-span-1"
                  anchor={anchorId(`partitions.${i}.sizeMax`)}
                >
                  <SizeInput id={id("sizeMax")} label="SizeMaxBytes" value={p.sizeMax} onChange={(v) => update(i, withOptional(p, "sizeMax", v))} invalid={at("sizeMax").length > 0} />
                </Field>
                <Field
                  label="CopyFiles"
                  htmlFor={id("copyFiles")}
                  help="SOURCE[:TARGET] paths of the image tree to copy in, one per entry."
                  className="col-span-2"
                  anchor={anchorId(`partitions.${i}.copyFiles`)}
                >
                  <ListEditor
                    id={id("copyFiles")}
                    items={p.copyFiles}
                    onChange={(v) => update(i, { ...p, copyFiles: v })}
                    problems={at("copyFiles")}
                    indexDepth={3}
                    checkItem={copyFilesCheck}
                    split={/\s+/}
                    placeholder="e.g. /boot:/"
                  />
                </Field>
                <ExtraPairs partition={p} index={i} onChange={(extra) => update(i, { ...p, extra })} />
              </div>
              <div className="px-2.5 pb-2">
                <FieldMessages messages={toMessages(problems.at(`partitions.${i}`))} />
              </div>
            </li>
          );
        })}
      </ol>
      <Button
        size="sm"
        onClick={() => set([...parts, { type: "linux-generic", copyFiles: [], extra: [] }])}
        data-testid="add-partition"
      >
        Add partition
      </Button>
    </div>
  );
}

function ExtraPairs({ partition, index, onChange }: { partition: Partition; index: number; onChange: (extra: Partition["extra"]) => void }) {
  const problems = useProblems().at(`partitions.${index}.extra`);
  const extra = partition.extra;
  return (
    <div className="col-span-2 md:col-span-4" id={anchorId(`partitions.${index}.extra`)}>
      <div className="mb-1 flex items-center gap-2">
        <span className="text-xs font-medium text-slate-700">Other keys</span>
        <span className="text-[11px] text-slate-400">written to the definition as they are, e.g. SplitName=, Verity=</span>
        <Button size="sm" variant="ghost" className="ml-auto" onClick={() => onChange([...extra, { key: "", value: "" }])}>
          Add key
        </Button>
      </div>
      {extra.length > 0 ? (
        <div className="space-y-1">
          {extra.map((e, j) => {
            const rowProblems = problems.filter((p) => p.path?.[3] === j);
            const bad = (f: "key" | "value") => rowProblems.some((p) => p.path?.[4] === f);
            return (
              <div key={j}>
                <div className="flex gap-1">
                  <Input
                    aria-label={`Partition ${index + 1} extra key ${j + 1}`}
                    value={e.key}
                    onChange={(ev) => onChange(replaceAt(extra, j, { ...e, key: ev.target.value }))}
                    placeholder="Key"
                    invalid={bad("key")}
                    className="w-48 font-mono text-xs"
                  />
                  <span className="self-center text-slate-400">=</span>
                  <Input
                    aria-label={`Partition ${index + 1} extra value ${j + 1}`}
                    value={e.value}
                    onChange={(ev) => onChange(replaceAt(extra, j, { ...e, value: ev.target.value }))}
                    placeholder="value"
                    invalid={bad("value")}
                    className="font-mono text-xs"
                  />
                  <Button size="icon" variant="ghost" onClick={() => onChange(removeAt(extra, j))} aria-label={`Remove extra key ${j + 1}`}>
                    ✕
                  </Button>
                </div>
                <FieldMessages messages={toMessages(rowProblems)} />
              </div>
            );
          })}
        </div>
      ) : null}
      <FieldMessages messages={toMessages(problems.filter((p) => typeof p.path?.[3] !== "number"))} />
    </div>
  );
}
