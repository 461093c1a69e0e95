"use client";
// The key store on the Host page: every key pair with its certificate's subject, fingerprint
// and expiry and the profiles that sign with it; import a PEM key and certificate; delete a
// key no profile uses (the server refuses one in use, naming the profile). A private key is
// sent here once, on import, and never comes back.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import { Input, Textarea } from "@/components/ui/input";
import { Section } from "@/components/ui/section";

export function KeyStore() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
  const remove = useMutation(trpc.keys.delete.mutationOptions({ onSuccess: refresh }));
  const [id, setId] = useState("");
  const [key, setKey] = useState("");
  const [certificate, setCertificate] = useState("");
  const importKey = useMutation(
    trpc.keys.import.mutationOptions({
      onSuccess: () => {
        refresh();
        setId("");
        setKey("");
        setCertificate("");
      },
    }),
  );
  const problems = (field: string) =>
    (importKey.error?.data as { problems?: { path: (string | number)[]; message: string }[] } | undefined)?.problems?.filter((p) => p.path[0] === field).map((p) => ({ message: p.message })) ?? [];

  return (
    <Section id="keys" title="Key store" description="Key pairs that sign images (Secure Boot, the verity signature, the PCR 11 policy), in the data folder's keys/ (private keys mode 0600). Profiles choose one in their Verified boot group.">
      <div className="space-y-4 p-4">
        {keys.data?.length === 0 ? <p className="text-xs text-slate-500">No keys yet: generate one in a profile's Verified boot group, or import one here.</p> : null}
        <ul className="space-y-2" data-testid="key-list">
          {(keys.data ?? []).map((k) => (
            <li key={k.id} className="rounded-md border border-slate-200 p-2.5 text-xs" data-testid={`key-${k.id}`}>
              <div className="flex flex-wrap items-center gap-2">
                <code className="font-semibold">{k.id}</code>
                <span className="font-mono">{k.subject}</span>
                <Badge tone={k.expired ? "red" : "green"}>{k.expired ? "expired" : "valid"} until {k.notAfter.slice(0, 10)}</Badge>
                <span className="text-slate-500">{k.algorithm}</span>
                <Button size="sm" variant="ghost" className="ml-auto" onClick={() => remove.mutate({ id: k.id })} disabled={remove.isPending} data-testid={`key-delete-${k.id}`}>
                  Delete
                </Button>
              </div>
              <p className="mt-1 font-mono break-all text-slate-600">SHA-256 {k.fingerprint}</p>
              <p className="mt-0.5 text-slate-500">
                {k.usedBy.length === 0 ? "Used by no profile." : "Signs "}
                {k.usedBy.map((p, i) => (
                  <span key={p.id}>
                    {i > 0 ? ", " : ""}
                    <Link href={`/profiles/${p.id}`} className="underline">
                      {p.name}
                    </Link>
                  </span>
                ))}
              </p>
            </li>
          ))}
        </ul>
        {remove.error ? (
          <p role="alert" className="text-xs text-red-700" data-testid="key-delete-error">
            {remove.error.message}
          </p>
        ) : null}
        <form
          className="grid gap-2 md:grid-cols-2"
          onSubmit={(e) => {
            e.preventDefault();
            importKey.mutate({ id: id.trim(), key, certificate });
          }}
        >
          <Field label="Import as" htmlFor="import-key-id" messages={problems("id")} className="md:col-span-2">
            <Input id="import-key-id" value={id} onChange={(e) => setId(e.target.value)} placeholder="key id" className="font-mono text-xs" />
          </Field>
          <Field label="Private key (PEM)" htmlFor="import-key-pem" messages={problems("key")}>
            <Textarea id="import-key-pem" value={key} onChange={(e) => setKey(e.target.value)} rows={4} className="font-mono text-[11px]" autoComplete="off" spellCheck={false} />
          </Field>
          <Field label="Certificate (PEM)" htmlFor="import-cert-pem" messages={problems("certificate")}>
            <Textarea id="import-cert-pem" value={certificate} onChange={(e) => setCertificate(e.target.value)} rows={4} className="font-mono text-[11px]" spellCheck={false} />
          </Field>
          <div className="md:col-span-2">
            <Button type="submit" disabled={importKey.isPending || !id.trim() || !key || !certificate}>
              {importKey.isPending ? "Importing…" : "Import"}
            </Button>
          </div>
        </form>
      </div>
    </Section>
  );
}
