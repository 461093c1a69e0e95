import type { Metadata } from "next";
import { SpacePage } from "@/components/space/space-page";

export const metadata: Metadata = { title: "Space · Image Studio" };

export default function Space() {
  return <SpacePage />;
}
