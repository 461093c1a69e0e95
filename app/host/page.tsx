import type { Metadata } from "next";
import { HostCheck } from "@/components/host-check/host-check";

export const metadata: Metadata = { title: "Host · Image Studio" };

export default function HostPage() {
  return <HostCheck />;
}
