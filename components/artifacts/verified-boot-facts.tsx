"use client";
// What a verified-boot build proves about itself: the root hash, the verity signature with
// the certificate that made it, the UKI's Secure Boot signature checked by sbverify, and the
// PCR 11 values the UKI predicts per boot phase (each matched with its signed .pcrsig policy).
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";

const Check = ({ ok, yes, no }: { ok: boolean; yes: string; no: string }) => <Badge tone={ok ? "green" : "red"}>{ok ? yes : no}</Badge>;

export function VerifiedBootFacts({ buildId }: { buildId: number }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.artifacts.verifiedBoot.queryOptions({ buildId }), refetchOnWindowFocus: false });
  if (q.isPending) return <p className="text-xs text-slate-500">Reading the root hash, signatures and PCR predictions…</p>;
  if (q.isError) return <p className="text-xs text-red-700">Could not read them: {q.error.message}</p>;
  const v = q.data;
  if (!v.signing && !v.verity.rootHash && !v.pcr11) return <p className="text-xs text-slate-500">This build is not signed and has no verity root.</p>;
  return (
    <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-1.5 text-xs" data-testid="verified-boot-facts">
      <dt className="text-slate-500">Root hash</dt>
      <dd className="font-mono break-all" data-testid="root-hash">{v.verity.rootHash ?? "none on the UKI's command line"}</dd>
      <dt className="text-slate-500">Verity signature</dt>
      <dd>
        {v.verity.signature ? (
          <span className="space-x-1">
            <span className="font-mono break-all">signed by {v.verity.signature.certificateFingerprint}</span>
            <Check ok={v.verity.signature.matchesCertificate} yes="the build's certificate" no="another certificate" />
            <Check ok={v.verity.signature.matchesRootHash} yes="same root hash" no="another root hash" />
          </span>
        ) : (
          "no signature partition"
        )}
      </dd>
      {v.signing ? (
        <>
          <dt className="text-slate-500">Certificate</dt>
          <dd>
            <span className="font-mono">{v.signing.subject}</span> (key <code>{v.signing.keyId}</code>, SHA-256 <span className="font-mono break-all">{v.signing.fingerprint}</span>, valid until {v.signing.notAfter.slice(0, 10)})
          </dd>
        </>
      ) : null}
      {v.uki?.sbverify ? (
        <>
          <dt className="text-slate-500">UKI signature</dt>
          <dd data-testid="sbverify">
            <Check ok={v.uki.sbverify.passed} yes="verified" no="not verified" /> <code className="ml-1">{v.uki.sbverify.command.join(" ")}</code>: {v.uki.sbverify.output}
          </dd>
        </>
      ) : null}
      {v.pcr11 ? (
        <>
          <dt className="text-slate-500">Expected PCR 11</dt>
          <dd>
            <table className="w-full text-left">
              <tbody>
                {v.pcr11.predictions.map((p) => (
                  <tr key={p.phase} className="align-top">
                    <td className="pr-2 whitespace-nowrap text-slate-600">{p.phase}</td>
                    <td className="pr-2 font-mono break-all">{p.value}</td>
                    <td>
                      <Check ok={p.signed} yes="signed in .pcrsig" no="not in .pcrsig" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </dd>
        </>
      ) : null}
    </dl>
  );
}
