import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ProfileEditor } from "@/components/profile-editor/profile-editor";

export const metadata: Metadata = { title: "Profile · Image Studio" };

export default async function ProfilePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) notFound();
  // Keyed by id so moving between profiles starts with fresh editor state.
  return <ProfileEditor key={n} id={n} />;
}
