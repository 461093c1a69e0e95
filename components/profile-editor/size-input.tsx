"use client";
import { useState } from "react";
import { Input, Select } from "@/components/ui/input";
import { SIZE_UNITS } from "@/server/mkosi/size";

// No suffix means bytes to systemd-repart; offered so imported byte counts stay as they are.
const BYTES = "";
type Unit = (typeof SIZE_UNITS)[number] | typeof BYTES;

function splitSize(value: string | undefined): { amount: string; unit: Unit | undefined } {
  if (value === undefined) return { amount: "", unit: undefined };
  const last = value.slice(-1);
  const unit = (SIZE_UNITS as readonly string[]).includes(last) ? (last as Unit) : BYTES;
  return { amount: unit === BYTES ? value : value.slice(0, -1), unit };
}

/**
 * A size as number + unit, stored as systemd-repart writes it ("512M"). Whatever is typed is
 * kept (even "abc"), so validation can say what is wrong instead of dropping it.
 */
export function SizeInput({
  id,
  value,
  onChange,
  invalid,
  label,
}: {
  id: string;
  value: string | undefined;
  onChange: (value: string | undefined) => void;
  invalid?: boolean;
  label: string;
}) {
  const parts = splitSize(value);
  // The unit picked while the amount is empty has nowhere else to live.
  const [spareUnit, setSpareUnit] = useState<Unit>("M");
  const unit = parts.unit ?? spareUnit;
  const emit = (amount: string, u: Unit) => onChange(amount.trim() === "" ? undefined : `${amount.trim()}${u}`);
  return (
    <div className="flex">
      <Input
        id={id}
        inputMode="decimal"
        value={parts.amount}
        onChange={(e) => emit(e.target.value, unit)}
        invalid={invalid}
        placeholder="auto"
        className="rounded-r-none"
      />
      <Select
        aria-label={`${label} unit`}
        value={unit}
        onChange={(e) => {
          const u = e.target.value as Unit;
          setSpareUnit(u);
          if (parts.amount) emit(parts.amount, u);
        }}
        className="-ml-px w-20 rounded-l-none bg-slate-50"
      >
        {SIZE_UNITS.map((u) => (
          <option key={u} value={u}>
            {u}iB
          </option>
        ))}
        <option value={BYTES}>bytes</option>
      </Select>
    </div>
  );
}
