"use client";
// One form field generated from a setting's definition in the settings model: the control
// follows the kind, the label is the setting's own name, the help text is the model's.
import type { ReactNode } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Field, FieldMessages, type FieldMessage } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import { Switch } from "@/components/ui/switch";
import { settingsSchema } from "@/server/mkosi/profile";
import { PackagesField } from "@/components/packages/packages-field";
import { DEBIAN_PACKAGE, FEATURE_VALUES, supportedBy, type SettingDef } from "@/server/mkosi/settings";
import { ListEditor } from "./list-editor";
import { anchorId, toMessages, useProblems } from "./problems";
import { SecretInput } from "./secret-input";

export interface SettingFieldProps {
  def: SettingDef;
  value: unknown;
  onChange: (value: unknown) => void;
  mkosiMajor: number;
}

/** Radio buttons or checkboxes under the setting's name, with its help and messages below. */
function ChoiceGroup({ anchor, name, aside, help, messages, children }: { anchor: string; name: string; aside: ReactNode; help: ReactNode; messages: readonly FieldMessage[]; children: ReactNode }) {
  return (
    <fieldset id={anchorId(anchor)} className="min-w-0 scroll-mt-24">
      <legend className="sr-only">{name}</legend>
      <div className="mb-1 flex min-h-5 items-center gap-2">
        <span aria-hidden className="text-xs font-medium text-slate-700">{name}</span>
        {aside}
      </div>
      {children}
      <p className="mt-1 text-xs leading-snug text-slate-500">{help}</p>
      <FieldMessages messages={messages} />
    </fieldset>
  );
}

function defaultText(def: SettingDef): string | undefined {
  const d = def.default;
  if (d === undefined) return undefined;
  if (typeof d === "boolean") return d ? "yes" : "no";
  if (typeof d === "string") return d;
  return d.join(", ");
}

/** The first message the document schema gives for one list item of this setting. */
function itemCheck(key: string) {
  return (v: string) => {
    const r = settingsSchema.safeParse({ [key]: [v] });
    return r.success ? undefined : r.error.issues[0]?.message;
  };
}

export function SettingField({ def, value, onChange, mkosiMajor }: SettingFieldProps) {
  const anchor = `settings.${def.key}`;
  const problems = useProblems().at(anchor);
  const messages = toMessages(problems);
  const id = `setting-${def.key}`;
  const helpId = `${id}-help`;
  const dflt = defaultText(def);
  const invalid = problems.some((p) => p.severity === "error");
  const isSet = value !== undefined;

  const version = supportedBy(def, mkosiMajor) ? null : (
    <Badge tone="amber" title={`This mkosi (${mkosiMajor}) does not accept ${def.key}`}>
      mkosi {def.since}
      {def.until ? `–${def.until}` : "+"}
    </Badge>
  );
  const reset =
    isSet && def.kind.type !== "string" && def.kind.type !== "enum" ? (
      <Button size="sm" variant="ghost" className="ml-auto h-5 px-1 text-[11px]" onClick={() => onChange(undefined)} aria-label={`Reset ${def.key} to mkosi's default`}>
        reset
      </Button>
    ) : null;
  const aside = (
    <>
      {version}
      {!isSet && dflt !== undefined ? <span className="text-[11px] text-slate-400">default: {dflt}</span> : null}
      {reset}
    </>
  );
  const help = <span id={helpId}>{def.help}</span>;
  const k = def.kind;

  switch (k.type) {
    case "enum":
      return (
        <Field label={def.key} htmlFor={id} help={help} messages={messages} aside={aside} anchor={anchorId(anchor)}>
          <Select
            id={id}
            value={typeof value === "string" ? value : ""}
            onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
            invalid={invalid}
            aria-describedby={helpId}
          >
            <option value="">{dflt !== undefined ? `Not set (mkosi: ${dflt})` : "Not set"}</option>
            {k.values.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </Select>
        </Field>
      );
    case "boolean":
      return (
        <Field label={def.key} htmlFor={id} help={help} messages={messages} aside={aside} anchor={anchorId(anchor)}>
          <div className="flex h-8 items-center gap-2">
            <Switch id={id} checked={value === true || (!isSet && def.default === true)} onChange={(e) => onChange(e.target.checked)} aria-describedby={helpId} />
            <span className={cn("text-sm", isSet ? "text-slate-800" : "text-slate-400")}>
              {isSet ? (value ? "yes" : "no") : "not set"}
            </span>
          </div>
        </Field>
      );
    case "feature":
      return (
        <ChoiceGroup anchor={anchor} name={def.key} aside={aside} help={help} messages={messages}>
          <div className="inline-flex h-8 overflow-hidden rounded-md border border-slate-300 bg-white text-sm" role="radiogroup" aria-describedby={helpId}>
            {[undefined, ...FEATURE_VALUES].map((v) => {
              const checked = value === v;
              return (
                <label
                  key={v ?? "unset"}
                  className={cn(
                    "flex cursor-pointer items-center border-r border-slate-200 px-2.5 last:border-r-0 has-focus-visible:outline-2 has-focus-visible:outline-sky-600",
                    checked ? "bg-slate-800 text-white" : "text-slate-600 hover:bg-slate-100",
                  )}
                >
                  <input type="radio" name={id} className="sr-only" checked={checked} onChange={() => onChange(v)} />
                  {v ?? "not set"}
                </label>
              );
            })}
          </div>
        </ChoiceGroup>
      );
    case "string":
      return (
        <Field label={def.key} htmlFor={id} help={help} messages={messages} aside={aside} anchor={anchorId(anchor)}>
          {"secret" in def && def.secret ? (
            <SecretInput
              id={id}
              value={typeof value === "string" ? value : ""}
              onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
              invalid={invalid}
              aria-describedby={helpId}
            />
          ) : (
            <Input
              id={id}
              value={typeof value === "string" ? value : ""}
              onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
              invalid={invalid}
              aria-describedby={helpId}
              spellCheck={false}
            />
          )}
        </Field>
      );
    case "list": {
      const items = Array.isArray(value) ? (value as string[]) : [];
      if (k.values) {
        const allowed = k.values;
        return (
          <ChoiceGroup anchor={anchor} name={def.key} aside={aside} help={help} messages={messages}>
            <div className="flex h-8 flex-wrap items-center gap-3">
              {allowed.map((v) => (
                <label key={v} className="flex items-center gap-1.5 text-sm text-slate-700">
                  <input
                    type="checkbox"
                    className="h-3.5 w-3.5 accent-sky-600"
                    checked={items.includes(v)}
                    // Kept in the model's order so the file does not change with click order.
                    onChange={(e) => onChange(allowed.filter((x) => (x === v ? e.target.checked : items.includes(x))))}
                  />
                  <span className="font-mono text-xs">{v}</span>
                </label>
              ))}
            </div>
          </ChoiceGroup>
        );
      }
      const list = {
        id,
        testId: `list-input-${def.key}`,
        items,
        onChange: (next: string[]) => onChange(next.length ? next : undefined),
        problems,
        indexDepth: 2,
        checkItem: itemCheck(def.key),
        split: k.delimiter === " " ? /\s+/ : /[\s,]+/,
        describedBy: helpId,
      };
      return (
        <Field label={def.key} htmlFor={id} help={help} aside={aside} anchor={anchorId(anchor)}>
          {/* Lists of Debian package names look the names up in the profile's package index. */}
          {k.item === DEBIAN_PACKAGE ? <PackagesField {...list} showPullIn={def.key === "Packages"} /> : <ListEditor {...list} />}
        </Field>
      );
    }
  }
}
