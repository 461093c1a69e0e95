"use client";
// What is inside the unified kernel image: its PE sections (as `objdump -h` lists them), the
// kernel command line, os-release and kernel version embedded in them.
import { formatBytes } from "@/server/mkosi/size";
import type { UkiInspection } from "./types";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";

/** What each UKI section carries (systemd's UKI specification). */
const SECTION_ROLES: Record<string, string> = {
  ".linux": "the kernel",
  ".initrd": "the initrd",
  ".cmdline": "kernel command line",
  ".osrel": "os-release",
  ".uname": "kernel version",
  ".splash": "boot splash",
  ".dtb": "device tree",
  ".pcrsig": "TPM PCR signature",
  ".pcrpkey": "TPM PCR public key",
  ".sbat": "SBAT revocation data",
  ".sdmagic": "systemd-stub marker",
  ".text": "the stub's code",
  ".data": "the stub's data",
  ".reloc": "relocations",
  ".rodata": "the stub's constants",
};

export function UkiInspect({ name, uki }: { name: string; uki: UkiInspection }) {
  const os = Object.entries(uki.osRelease ?? {});
  const pretty = uki.osRelease?.PRETTY_NAME;
  return (
    <div className="space-y-3" data-testid="uki-inspect">
      <p className="text-xs text-slate-500">
        Read from the image <code className="font-mono">{name}</code>
        {pretty ? (
          <>
            : <strong className="font-medium text-slate-700">{pretty}</strong>
          </>
        ) : null}
        {uki.kernelVersion ? (
          <>
            , kernel <code className="font-mono text-slate-700" data-testid="uki-kernel-version">{uki.kernelVersion}</code>
          </>
        ) : null}
        .
      </p>
      <div className="grid gap-3 lg:grid-cols-[minmax(0,26rem)_minmax(0,1fr)]">
        <div className="overflow-x-auto rounded-md border border-slate-200">
          <Table size="xs" data-testid="uki-sections">
            <TableHead>
              <Th>Section</Th>
              <Th>Holds</Th>
              <Th align="right">Size</Th>
              <Th align="right">VMA</Th>
            </TableHead>
            <TableBody>
              {uki.sections.map((s, i) => (
                <tr key={`${s.name}-${i}`} data-testid="uki-section">
                  <Td className="font-mono">{s.name}</Td>
                  <Td className="text-slate-500">{SECTION_ROLES[s.name] ?? ""}</Td>
                  <Td align="right" className="font-mono tabular-nums" title={`${s.virtualSize.toLocaleString("en")} bytes in memory, ${s.rawSize.toLocaleString("en")} in the file`}>
                    {formatBytes(s.virtualSize)}
                  </Td>
                  <Td align="right" className="font-mono text-slate-500">0x{s.vma.toString(16)}</Td>
                </tr>
              ))}
            </TableBody>
          </Table>
        </div>
        <div className="min-w-0 space-y-3">
          <div>
            <h4 className="text-xs font-semibold text-slate-700">Kernel command line</h4>
            {uki.cmdline ? (
              <pre className="mt-1 rounded bg-slate-900 px-3 py-2 font-mono text-xs break-all whitespace-pre-wrap text-slate-100" data-testid="uki-cmdline">
                {uki.cmdline}
              </pre>
            ) : (
              <p className="mt-1 text-xs text-slate-500">The UKI has no .cmdline section: the boot loader passes the command line.</p>
            )}
          </div>
          <div>
            <h4 className="text-xs font-semibold text-slate-700">os-release</h4>
            {os.length > 0 ? (
              <dl className="mt-1 grid grid-cols-[max-content_minmax(0,1fr)] gap-x-3 gap-y-0.5 rounded border border-slate-200 px-3 py-2 font-mono text-[11px]" data-testid="uki-os-release">
                {os.map(([k, v]) => (
                  <div key={k} className="contents">
                    <dt className="text-slate-500">{k}</dt>
                    <dd className="truncate text-slate-800" title={v}>
                      {v}
                    </dd>
                  </div>
                ))}
              </dl>
            ) : (
              <p className="mt-1 text-xs text-slate-500">No .osrel section.</p>
            )}
          </div>
        </div>
      </div>
    </div>
  );
}
