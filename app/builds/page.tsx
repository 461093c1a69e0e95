import type { Metadata } from "next";
import { BuildHistory } from "@/components/builds/build-history";

export const metadata: Metadata = { title: "Builds · Image Studio" };

export default async function BuildsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { profile } = await searchParams;
  const n = Number(typeof profile === "string" ? profile : NaN);
  return <BuildHistory profileId={Number.isSafeInteger(n) && n > 0 ? n : undefined} />;
}
