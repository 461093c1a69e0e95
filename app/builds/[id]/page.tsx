import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { BuildDetailPage } from "@/components/builds/build-detail-page";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Build #${id} · Image Studio` };
}

export default async function BuildPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) notFound();
  // Keyed by id: another build starts with a fresh terminal and subscriptions.
  return <BuildDetailPage key={n} id={n} />;
}
