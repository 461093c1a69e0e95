import type { Metadata } from "next";
import { AccessToken } from "@/components/access/access-token";
import { HostCheck } from "@/components/host-check/host-check";
import { KeyStore } from "@/components/keys/key-store";

export const metadata: Metadata = { title: "Host · Image Studio" };

export default function HostPage() {
  return (
    <div className="space-y-6">
      <HostCheck />
      <KeyStore />
      <AccessToken />
    </div>
  );
}
