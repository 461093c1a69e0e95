"use client";
// The "Verified boot" group's own fields beside its settings: the root under dm-verity (the
// hash and signature partitions are added to the partition layout), and the signing key
// chosen from the key store or generated here. A key is shown by its certificate's facts and
// the paths mkosi reads: its content never reaches the browser.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Field } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { needsSigningKey, verityMode, withVerityRoot } from "@/server/mkosi/verity";
import { anchorId, toMessages, useProblems } from "./problems";

const MODES = [
  { mode: "off", title: "No verity", text: "The root is read-only by its file system only: a disk writer can still change it offline." },
  { mode: "hash", title: "dm-verity", text: "A hash partition protects every block of the root; the root hash goes on the UKI's command line." },
  { mode: "signed", title: "dm-verity, signed", text: "And a signature partition holds the root hash signed with the profile's key." },
] as const;

export function VerifiedBootEditor({ doc, setDoc }: { doc: ProfileDocument; setDoc: (update: (d: ProfileDocument) => ProfileDocument) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const problems = useProblems();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const [newId, setNewId] = useState("");
  const generate = useMutation(
    trpc.keys.generate.mutationOptions({
      onSuccess: (k) => {
        // The answer is the new key's entry: in the list at once, so the choice below never
        // waits for the refetch with the key shown as missing.
        queryClient.setQueryData(trpc.keys.list.queryKey(), (list) => [...(list ?? []).filter((x) => x.id !== k.id), k]);
        void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
        setDoc((d) => ({ ...d, signingKey: k.id }));
        setNewId("");
      },
    }),
  );
  const mode = verityMode(doc);
  const chosen = keys.data?.find((k) => k.id === doc.signingKey);
  const keyProblems = problems.at("signingKey");

  return (
    <div className="space-y-3">
      <fieldset id={anchorId("verity")} className="scroll-mt-24">
        <legend className="mb-1 text-xs font-medium text-slate-700">Root file system protection</legend>
        <div className="grid gap-2 md:grid-cols-3">
          {MODES.map((m) => (
            <label
              key={m.mode}
              className={cn(
                "flex cursor-pointer gap-2 rounded-md border p-2.5 text-sm",
                mode === m.mode ? "border-sky-600 bg-sky-50/60 ring-1 ring-sky-600" : "border-slate-200 hover:border-slate-300",
              )}
            >
              <input type="radio" name="verity-mode" checked={mode === m.mode} onChange={() => setDoc((d) => withVerityRoot(d, m.mode))} className="mt-0.5 accent-sky-600" data-testid={`verity-${m.mode}`} />
              <span>
                <span className="block font-medium text-slate-900">{m.title}</span>
                <span className="mt-0.5 block text-xs leading-snug text-slate-500">{m.text}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>

      <Field
        label="Signing key"
        htmlFor="signing-key"
        anchor={anchorId("signingKey")}
        messages={toMessages(keyProblems)}
        help="Signs systemd-boot and the UKI (SecureBootKey=, SecureBootCertificate=), the root hash (VerityKey=, VerityCertificate=) and the PCR 11 policy. mkosi reads it from the key store at build time; the project never holds it."
      >
        <Select
          id="signing-key"
          value={doc.signingKey ?? ""}
          invalid={keyProblems.length > 0}
          onChange={(e) => setDoc((d) => ({ ...d, signingKey: e.target.value || undefined }))}
          data-testid="signing-key"
        >
          <option value="">{needsSigningKey(doc) ? "Choose a key…" : "None"}</option>
          {(keys.data ?? []).map((k) => (
            <option key={k.id} value={k.id}>
              {k.id} — {k.subject}
              {k.expired ? " (expired)" : ""}
            </option>
          ))}
          {doc.signingKey && !chosen && !keys.isPending ? <option value={doc.signingKey}>{doc.signingKey} (not in the key store)</option> : null}
        </Select>
      </Field>
      {chosen ? (
        <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-0.5 rounded-md border border-slate-200 bg-slate-50/60 p-2.5 text-xs" data-testid="signing-key-facts">
          <dt className="text-slate-500">Subject</dt>
          <dd className="font-mono">{chosen.subject}</dd>
          <dt className="text-slate-500">SHA-256</dt>
          <dd className="font-mono break-all">{chosen.fingerprint}</dd>
          <dt className="text-slate-500">Valid until</dt>
          <dd className={cn(chosen.expired && "text-red-700")}>{new Date(chosen.notAfter).toISOString().slice(0, 10)}{chosen.expired ? " (expired)" : ""}</dd>
          <dt className="text-slate-500">Files</dt>
          <dd className="font-mono break-all">{chosen.files.key} (0600), {chosen.files.certificate}</dd>
        </dl>
      ) : null}
      <div className="flex flex-wrap items-end gap-2">
        <Field label="New key pair" htmlFor="new-key-id" help="RSA 2048 with a self-signed certificate (OpenSSL, as mkosi genkey makes it), valid ten years." messages={generate.error ? [{ message: generate.error.message }] : []}>
          <Input id="new-key-id" value={newId} placeholder="key id, e.g. edge-devices" onChange={(e) => setNewId(e.target.value)} className="font-mono text-xs" data-testid="new-key-id" />
        </Field>
        <Button onClick={() => generate.mutate({ id: newId.trim() })} disabled={generate.isPending || newId.trim() === ""} data-testid="generate-key">
          {generate.isPending ? "Generating…" : "Generate"}
        </Button>
      </div>
    </div>
  );
}
